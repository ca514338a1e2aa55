"""Streams of `StreamEvent`s and the pure builder that folds them into a `Response`.

`ResponseBuilder` is shared by every provider and by the clients' streaming
rewrites, so a streamed reply and a complete one come out equal by
construction. `ResponseStream` is the object `provider.stream()` returns: an
async iterator of events whose `.response` is the whole reply once it is
exhausted.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from llmkit.errors import LLMError, StreamError
from llmkit.types import (
    Cost,
    FinishReason,
    Latency,
    Response,
    StreamEvent,
    ToolCall,
    Usage,
)

__all__ = ["ResponseBuilder", "ResponseStream", "parse_arguments"]


def parse_arguments(text: str | None) -> tuple[dict[str, Any], str | None]:
    """Tool-call arguments from their JSON text: `(arguments, raw_if_unparseable)`."""
    if text is None or not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except ValueError:
        return {}, text
    if isinstance(value, dict):
        return value, None
    return {}, text


class _ToolCallParts:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name = ""
        self.arguments: list[str] = []


class ResponseBuilder:
    """Folds stream events into a `Response`; pure, so tests can feed it anything."""

    def __init__(self, *, provider: str | None = None) -> None:
        self.provider = provider
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._calls: dict[int, _ToolCallParts] = {}
        self.finish_reason: FinishReason | None = None
        self.raw_finish_reason: str | None = None
        self.usage: Usage | None = None
        self.cost: Cost | None = None
        self.model: str | None = None
        self.id: str | None = None
        self.provider_data: dict[str, Any] = {}
        self.raw: list[Any] = []
        self.events = 0
        """How many events carried content (text, reasoning or a tool-call piece)."""

    def add(self, event: StreamEvent) -> None:
        """Take one event into account."""
        if event.has_content:
            self.events += 1
        if event.text:
            self._text.append(event.text)
        if event.reasoning:
            self._reasoning.append(event.reasoning)
        if event.refusal:
            self._refusal.append(event.refusal)
        if (delta := event.tool_call) is not None:
            parts = self._calls.setdefault(delta.index, _ToolCallParts())
            if delta.id and not parts.id:
                parts.id = delta.id
            if delta.name:
                parts.name += delta.name
            if delta.arguments:
                parts.arguments.append(delta.arguments)
        if event.finish_reason is not None:
            self.finish_reason = event.finish_reason
            self.raw_finish_reason = event.raw_finish_reason
        if event.usage is not None:
            self.usage = event.usage
        if event.cost is not None:
            self.cost = event.cost
        if event.model and not self.model:
            self.model = event.model
        if event.id and not self.id:
            self.id = event.id
        if event.provider_data:
            _merge(self.provider_data, event.provider_data)
        if event.raw is not None:
            self.raw.append(event.raw)

    def build(self, *, latency: Latency | None = None) -> Response:
        """The reply so far as a `Response` (finish reason `other` if none arrived)."""
        calls = []
        for index in sorted(self._calls):
            parts = self._calls[index]
            arguments, raw = parse_arguments("".join(parts.arguments))
            calls.append(ToolCall(parts.id, parts.name, arguments, raw_arguments=raw))
        finish = self.finish_reason
        if finish is None or (finish is FinishReason.STOP and calls):
            finish = FinishReason.TOOL_CALLS if calls else FinishReason.OTHER
        reasoning = "".join(self._reasoning)
        text, refusal = "".join(self._text), "".join(self._refusal) or None
        if refusal and not (text or calls) and finish is FinishReason.STOP:
            finish = FinishReason.CONTENT_FILTER  # only a refusal; raw_finish_reason: the host's
        return Response(
            text=text,
            reasoning=reasoning or None,
            refusal=refusal,
            tool_calls=tuple(calls),
            finish_reason=finish,
            raw_finish_reason=self.raw_finish_reason,
            usage=self.usage or Usage(),
            model=self.model,
            provider=self.provider,
            id=self.id,
            latency=latency or Latency(),
            cost=self.cost,
            provider_data=self.provider_data,
            raw=self.raw,
        )


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    """Merge provider data one level deep, so events can each add a key under a host."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key] = {**into[key], **value}
        else:
            into[key] = value


class ResponseStream:
    """An async iterator of `StreamEvent`s; `.response` is the whole reply once exhausted.

    The request is sent when iteration starts. Use it as `async for event in
    stream`, or `await stream.collect()` to read it to the end, and
    `await stream.aclose()` (or `async with`) to stop early.
    """

    def __init__(
        self,
        events: Callable[[], AsyncIterator[StreamEvent]],
        *,
        provider: str | None = None,
        finish: Callable[[Response], Response] | None = None,
        fold: bool = True,
    ) -> None:
        """Wrap an event source.

        Args:
            events: makes the async iterator of events (called when iteration starts).
            provider: the provider's name, for the reply.
            finish: rewrites the whole reply at the end.
            fold: fold the events into the reply; False for a layer whose `finish`
                supplies the reply itself (it still gets the stream's latency), so a
                stream over another stream does not fold every event twice.
        """
        self._make = events
        self._fold = fold
        self._iterator: AsyncIterator[StreamEvent] | None = None
        self._builder = ResponseBuilder(provider=provider)
        self._finish = finish
        self._response: Response | None = None
        self._started: float | None = None
        self._first: float | None = None
        self._closed = False

    def with_finish(self, finish: Callable[[Response], Response]) -> ResponseStream:
        """This stream, with `finish` applied to its reply after any earlier one.

        For a layer that only rewrites the whole reply (a model client's
        `finish`): it reuses this stream instead of folding every event again.
        """
        earlier = self._finish
        self._finish = finish if earlier is None else lambda response: finish(earlier(response))
        return self

    def __aiter__(self) -> ResponseStream:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._response is not None or self._closed:
            raise StopAsyncIteration
        if self._iterator is None:
            self._started = time.perf_counter()
            self._iterator = self._make()
        try:
            event = await self._iterator.__anext__()
        except StopAsyncIteration:
            self._complete()
            raise
        except LLMError as exc:
            if exc.partial is None:
                exc.partial = self.partial()
            raise
        if self._first is None and event.has_content:
            self._first = time.perf_counter()
        if self._fold:
            self._builder.add(event)
        return event

    def _latency(self) -> Latency:
        now = time.perf_counter()
        start = self._started if self._started is not None else now
        first = None if self._first is None else self._first - start
        return Latency(first_token=first, total=now - start)

    def partial(self) -> Response:
        """What arrived so far, as a `Response` (for errors that cut a stream short)."""
        return self._builder.build(latency=self._latency())

    def _complete(self) -> None:
        response = self._builder.build(latency=self._latency())
        if self._finish is not None:
            response = self._finish(response)
        self._response = response

    @property
    def response(self) -> Response:
        """The complete reply; available once the stream is exhausted."""
        if self._response is None:
            raise StreamError(
                "stream.response is available once the stream is exhausted: "
                "iterate it to the end, or use `await stream.collect()`"
            )
        return self._response

    async def collect(self) -> Response:
        """Read the stream to its end and return the complete reply."""
        async for _ in self:
            pass
        return self.response

    async def aclose(self) -> None:
        """Stop the stream early and release its connection."""
        self._closed = True
        iterator, self._iterator = self._iterator, None
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> ResponseStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
