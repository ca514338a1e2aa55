"""A scripted provider on a fake clock, for the bench engine's tests: no real waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any

from llmkit.providers._stream import ResponseStream
from llmkit.types import FinishReason, Request, StreamEvent, Usage


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Scripted:
    """Streams `tokens` pieces: the first after `ttft` fake seconds, then one per `gap`.

    `fail` maps request numbers (0-based, warm-ups included) to errors to raise
    before any event; `hang` holds request numbers that never answer.
    """

    def __init__(
        self,
        name: str,
        clock: FakeClock,
        *,
        ttft: float = 0.5,
        gap: float = 0.1,
        tokens: int = 3,
        usage: bool = True,
        fail: dict[int, Exception] | None = None,
        hang: Sequence[int] = (),
        responses: Sequence[dict[str, str]] = (),
        log: list[tuple[str, str]] | None = None,
        real_delay: float = 0.0,
    ) -> None:
        self.name = name
        self.clock = clock
        self.ttft, self.gap, self.tokens, self.usage = ttft, gap, tokens, usage
        self.fail = fail or {}
        self.hang = set(hang)
        self.responses = responses
        self.log = log if log is not None else []
        self.real_delay = real_delay
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def _observe_headers(self, headers: Any) -> None:
        pass

    def stream(self, request: Request) -> ResponseStream:
        number = self.calls
        self.calls += 1
        self.log.append((self.name, request.messages[-1].content))
        return ResponseStream(partial(self._events, number), provider=self.name)

    async def _events(self, number: int) -> AsyncIterator[StreamEvent]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for headers in self.responses:
                self._observe_headers(headers)
            if number in self.hang:
                await asyncio.Event().wait()
            if self.real_delay:
                await asyncio.sleep(self.real_delay)
            if number in self.fail:
                raise self.fail[number]
            self.clock.now += self.ttft
            for i in range(self.tokens):
                if i:
                    self.clock.now += self.gap
                yield StreamEvent(text=f"t{i} ")
            yield StreamEvent(
                finish_reason=FinishReason.STOP,
                usage=Usage(output_tokens=self.tokens * 10) if self.usage else None,
            )
        finally:
            self.in_flight -= 1

    async def complete(self, request: Request) -> Any:
        return await self.stream(request).collect()

    async def list_models(self) -> list[Any]:
        return []

    async def aclose(self) -> None:
        pass


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: when nothing is ready, it jumps to the next timer.

    `asyncio.sleep(5)` returns at once in real time and `loop.time()` moves on by
    5, so providers of very different speeds run on one fake clock, in order.
    """

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        select = self._selector.select  # type: ignore[attr-defined]

        def jump(timeout: float | None = None) -> Any:
            ready = select(0)
            if not ready and timeout is None:
                raise RuntimeError("deadlock: nothing ready and no timer set")
            if not ready and timeout:
                self.now += timeout
            return ready

        self._selector.select = jump  # type: ignore[attr-defined]

    def time(self) -> float:
        return self.now


class Sleeper(Scripted):
    """A `Scripted` provider that waits with `asyncio.sleep` (virtual time on a
    `VirtualTimeLoop`) and appends `(name, loop time, requests in flight)` to
    `starts` (shared between providers) when each request starts."""

    def __init__(
        self, name: str, starts: list[tuple[str, float, int]], *, ttft: float, gap: float
    ) -> None:
        super().__init__(name, FakeClock(), ttft=ttft, gap=gap)
        self.starts = starts

    async def _events(self, number: int) -> AsyncIterator[StreamEvent]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.starts.append((self.name, asyncio.get_running_loop().time(), self.in_flight))
        try:
            await asyncio.sleep(self.ttft)
            for i in range(self.tokens):
                if i:
                    await asyncio.sleep(self.gap)
                yield StreamEvent(text=f"t{i} ")
            yield StreamEvent(finish_reason=FinishReason.STOP, usage=Usage(output_tokens=10))
        finally:
            self.in_flight -= 1
