"""The loop every hand-parsed stream runs: feed a streamed HTTP body to a push parser.

The providers that parse their own wire format (Anthropic, Gemini, Ollama, Cohere)
read the body in chunks, hand each to the codec's parser and yield what it returns;
this module holds that loop once. It touches no SDK: `response` is any object with
`aiter_bytes()` and `aclose()` (an `httpx2` or `httpx` response). What "finished"
means, and the message when a stream ends early, stay with each provider or codec.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from llmkit.errors import LLMError
from llmkit.types import StreamEvent

__all__ = ["StreamParser", "pump"]


class StreamParser(Protocol):
    """A push parser of one wire format's stream: chunks in, `StreamEvent`s out, no I/O."""

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """The events the chunk completed."""
        ...  # pragma: no cover

    def flush(self) -> list[StreamEvent]:
        """The events left at the end of the body (a parser may raise here if it ended early)."""
        ...  # pragma: no cover


async def pump(response: Any, parser: StreamParser) -> AsyncIterator[StreamEvent]:
    """Yield the events `parser` makes of `response`'s body, then close the response.

    A parser that records an in-stream error event instead of raising (its `error`
    attribute, as Anthropic's and Gemini's do) has it raised as soon as the chunk
    that carried it is parsed, and again after `flush()`. The response is closed
    however the loop ends: exhausted, raised, or abandoned by the caller.

    Args:
        response: a streamed HTTP response (`aiter_bytes()`, `aclose()`).
        parser: the codec's parser for this stream.

    Raises:
        LLMError: the error the parser recorded or raised.
    """
    try:
        async for chunk in response.aiter_bytes():
            for event in parser.feed(chunk):
                yield event
            _raise_recorded(parser)
        for event in parser.flush():
            yield event
    finally:
        await response.aclose()
    _raise_recorded(parser)


def _raise_recorded(parser: StreamParser) -> None:
    error: LLMError | None = getattr(parser, "error", None)
    if error is not None:
        raise error
