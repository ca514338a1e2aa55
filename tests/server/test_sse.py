"""`EventStreamResponse` at the ASGI level: what is ready goes out together, nothing waits for
company, a slow writer holds the producer back, and a failed write cleans the body up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

pytest.importorskip("starlette")

from llmkit.server import sse
from llmkit.server.sse import EventStreamResponse


class Sent:
    """An ASGI `send` that records the body chunks (optionally slow, or failing)."""

    def __init__(self, delay: float = 0.0, fail_after: int | None = None) -> None:
        self.bodies: list[bytes] = []
        self.delay = delay
        self.fail_after = fail_after
        self.ended = False

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] != "http.response.body":
            return
        if self.fail_after is not None and len(self.bodies) >= self.fail_after:
            raise OSError("the client went away")
        if self.delay:
            await anyio.sleep(self.delay)
        if message.get("more_body"):
            self.bodies.append(message["body"])
        else:
            self.ended = True


async def _run(body: AsyncIterator[bytes], send: Sent) -> None:
    response = EventStreamResponse(body)
    await response.stream_response(send)


async def test_events_ready_in_one_turn_are_one_write() -> None:
    async def body() -> AsyncIterator[bytes]:
        for i in range(64):
            yield b"data: %d\n\n" % i

    send = Sent()
    await _run(body(), send)
    assert send.ended
    assert b"".join(send.bodies) == b"".join(b"data: %d\n\n" % i for i in range(64))
    assert len(send.bodies) < 64
    assert len(send.bodies) <= 2  # the first piece may go out alone, the rest together


async def test_an_event_that_waits_is_not_held_back_for_the_next() -> None:
    seen_before_next: list[int] = []
    send = Sent()

    async def body() -> AsyncIterator[bytes]:
        for i in range(3):
            yield b"data: %d\n\n" % i
            await anyio.sleep(0.05)  # the host is slow: what came must be written by now
            seen_before_next.append(len(send.bodies))

    await _run(body(), send)
    assert seen_before_next == [1, 2, 3]
    assert send.bodies == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]


async def test_a_slow_writer_holds_the_producer_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "MAX_BUFFERED", 100)
    produced: list[int] = []
    send = Sent(delay=0.02)

    async def body() -> AsyncIterator[bytes]:
        for i in range(20):
            produced.append(i)
            yield b"x" * 60

    async with anyio.create_task_group() as group:
        group.start_soon(_run, body(), send)
        await anyio.sleep(0.03)
        assert len(produced) <= 8  # ~100 bytes ahead of each write (unbounded: all 20 at once)
    assert b"".join(send.bodies) == b"x" * 1200


async def test_a_failed_write_stops_and_cleans_up_the_body() -> None:
    cleaned: list[str] = []

    async def body() -> AsyncIterator[bytes]:
        try:
            for i in range(1000):
                yield b"data: %d\n\n" % i
                await anyio.sleep(0.001)
        except BaseException as exc:
            cleaned.append(type(exc).__name__)
            raise
        finally:
            cleaned.append("finally")

    with pytest.raises(OSError, match="went away"):
        await _run(body(), Sent(fail_after=2))
    assert cleaned[-1] == "finally" and len(cleaned) == 2  # cancelled or closed, then cleaned


async def test_an_error_in_the_body_reaches_the_caller() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        raise RuntimeError("boom")

    with pytest.raises(Exception, match="boom"):
        await _run(body(), Sent())


class FailingStart:
    async def __call__(self, message: dict[str, Any]) -> None:
        raise OSError("gone before the first byte")


async def _receive() -> dict[str, Any]:
    await anyio.sleep(10)
    return {"type": "http.disconnect"}


SCOPE = {"type": "http", "asgi": {"spec_version": "2.4"}}


async def test_a_body_never_started_gets_its_cleanup_run_once() -> None:
    started: list[str] = []
    cleanups: list[str] = []

    async def body() -> AsyncIterator[bytes]:
        started.append("body")  # an async generator never started runs none of its code
        yield b"data: 1\n\n"

    async def cleanup() -> None:
        cleanups.append("cleanup")

    response = EventStreamResponse(body(), on_unstarted=cleanup)
    with pytest.raises(Exception):  # noqa: B017 - Starlette turns the OSError into ClientDisconnect
        await response(SCOPE, _receive, FailingStart())
    assert started == [] and cleanups == ["cleanup"]


async def test_a_body_that_ran_does_not_get_the_unstarted_cleanup() -> None:
    cleanups: list[str] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"

    async def cleanup() -> None:
        cleanups.append("cleanup")

    send = Sent()
    await EventStreamResponse(body(), on_unstarted=cleanup)(SCOPE, _receive, send)
    assert send.bodies == [b"data: 1\n\n"] and send.ended and cleanups == []
