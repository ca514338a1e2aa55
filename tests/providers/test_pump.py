"""`pump`: the one chunk loop of the hand-parsed streams (Anthropic, Gemini, Ollama, Cohere)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmkit import errors
from llmkit.providers._pump import pump
from llmkit.types import StreamEvent


class Body:
    """A streamed response: fixed chunks, and whether `aclose()` was called."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.closed = False

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


class Words:
    """One event per chunk; `ERR` records an in-stream error; `flush` may raise like Ollama's."""

    def __init__(self, *, raise_on_flush: bool = False) -> None:
        self.error: errors.LLMError | None = None
        self.raise_on_flush = raise_on_flush

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        if chunk == b"ERR":
            self.error = errors.OverloadedError("overloaded", provider="p")
            return []
        return [StreamEvent(text=chunk.decode())]

    def flush(self) -> list[StreamEvent]:
        if self.raise_on_flush:
            raise errors.StreamError("ended early", provider="p", retryable=True)
        return [StreamEvent(text="!")]


async def texts(body: Body, parser: Words) -> list[str]:
    return [event.text async for event in pump(body, parser)]


async def test_events_of_every_chunk_then_the_flush_and_the_body_is_closed() -> None:
    body = Body(b"a", b"b")
    assert await texts(body, Words()) == ["a", "b", "!"]
    assert body.closed


async def test_a_recorded_error_is_raised_after_its_chunk_and_the_body_closed() -> None:
    body = Body(b"a", b"ERR", b"never")
    seen: list[str] = []
    with pytest.raises(errors.OverloadedError):
        async for event in pump(body, Words()):
            seen.append(event.text)
    assert seen == ["a"]
    assert body.closed


async def test_an_error_raised_by_flush_passes_through_and_the_body_is_closed() -> None:
    body = Body(b"a")
    with pytest.raises(errors.StreamError, match="ended early"):
        await texts(body, Words(raise_on_flush=True))
    assert body.closed


async def test_a_parser_without_an_error_attribute_works() -> None:
    class Plain:
        def feed(self, chunk: bytes) -> list[StreamEvent]:
            return [StreamEvent(text=chunk.decode())]

        def flush(self) -> list[StreamEvent]:
            return []

    body = Body(b"x")
    assert [event.text async for event in pump(body, Plain())] == ["x"]


async def test_an_abandoned_stream_closes_the_body() -> None:
    body = Body(b"a", b"b")
    events = pump(body, Words())
    assert (await events.__anext__()).text == "a"
    await events.aclose()  # type: ignore[attr-defined]
    assert body.closed
