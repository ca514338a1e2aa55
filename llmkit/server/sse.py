"""`EventStreamResponse`: a streamed response that writes each event-loop turn's events at once.

A host sends its stream in TCP segments that each hold many events; llmkit parses
them one by one and the gateway turns each into an SSE chunk. Written one
`send` at a time, a 64-event segment becomes 64 socket writes here and 64 reads
for the caller; written together, one of each. Nothing waits for company: the
events the body produced while the writer was away go out as soon as the writer
runs again, which is at the end of the same turn of the event loop, so no event
is held back for later ones. A slow reader holds the producer back once
`MAX_BUFFERED` bytes are waiting (the transport's own flow control does the rest).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import Any

import anyio
from starlette.responses import StreamingResponse

__all__ = ["MAX_BUFFERED", "EventStreamResponse"]

MAX_BUFFERED = 256 * 1024
"""Bytes produced but not yet written before the producer waits for the writer."""


class EventStreamResponse(StreamingResponse):
    """`StreamingResponse` over `text/event-stream` that coalesces what is ready.

    `on_unstarted` runs (shielded) when the body was never started: the caller hung up,
    or the server shut down, before the response began, so the body's own `finally`
    never ran (an async generator closed before it starts runs none of its code).
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterable[Any],
        *,
        headers: Mapping[str, str] | None = None,
        on_unstarted: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(content, headers=headers)
        self.on_unstarted = on_unstarted
        self.started = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if not self.started and self.on_unstarted is not None:
                with anyio.CancelScope(shield=True):
                    await self.on_unstarted()

    async def stream_response(self, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})  # fmt: skip
        buffer = _Buffer()
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(buffer.fill, self.body_iterator, self._mark_started)
                while True:
                    data = await buffer.take()
                    if data is None:
                        break
                    await send({"type": "http.response.body", "body": data, "more_body": True})
        except BaseExceptionGroup as errors:  # one failure (a write, or the body): as itself,
            if len(errors.exceptions) == 1:  # so that Starlette sees an OSError for a hang-up
                raise errors.exceptions[0] from None
            raise
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _mark_started(self) -> None:
        self.started = True  # the body runs from here on: its own cleanup covers the rest


class _Buffer:
    """Chunks from the producer task to the writer: all that is there, in one piece."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.size = 0
        self.done = False
        self.ready = anyio.Event()
        self.room = anyio.Event()
        self.room.set()

    async def fill(self, body: AsyncIterable[Any], started: Callable[[], None]) -> None:
        """Run the body to its end (its errors propagate to the writer's task group)."""
        try:
            started()  # no checkpoint between this and the body's first step
            async for chunk in body:
                piece = chunk if isinstance(chunk, bytes) else bytes(chunk, "utf-8")
                self.pieces.append(piece)
                self.size += len(piece)
                self.ready.set()
                if self.size >= MAX_BUFFERED:
                    self.room = anyio.Event()
                    await self.room.wait()
        finally:
            self.done = True
            self.ready.set()
            close = getattr(body, "aclose", None)
            if close is not None:  # a body left at a `yield` (cancelled): run its cleanup now
                with anyio.CancelScope(shield=True):
                    await close()

    async def take(self) -> bytes | None:
        """What is buffered, once there is something; None when the body has ended."""
        while not self.pieces:
            if self.done:
                return None
            await self.ready.wait()
            self.ready = anyio.Event()
        data = b"".join(self.pieces)
        self.pieces.clear()
        self.size = 0
        self.room.set()
        return data
