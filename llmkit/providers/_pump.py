"""Direct sending and the loop every hand-parsed stream runs.

`open_reply` sends one request through a provider's HTTP client (its pooled
`httpx2` client, or the caller's `httpx2` / `httpx` one: they share this API),
observes the reply's headers, and raises the codec's error for an error status;
`read_json` also reads a success body as the JSON object the API documents.

`pump` is the stream loop: the providers that parse their own wire format
(Anthropic, Gemini, Ollama, Cohere) read the body in chunks, hand each to the
codec's parser and yield what it returns. It touches no SDK: `response` is any
object with `aiter_bytes()` and `aclose()` (an `httpx2` or `httpx` response).
What "finished" means, and the message when a stream ends early, stay with each
provider or codec.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from llmkit.errors import LLMError
from llmkit.providers._codecs._errors_common import json_object
from llmkit.types import StreamEvent

if TYPE_CHECKING:
    from llmkit.providers._base import BaseProvider

__all__ = [
    "USER_AGENT",
    "ErrorFromBody",
    "StreamParser",
    "dumps",
    "open_reply",
    "pump",
    "read_json",
]


def _version() -> str:
    from llmkit import __version__

    return __version__


USER_AGENT = f"llmkit/{_version()}"
"""The `user-agent` llmkit's own requests carry."""


class ErrorFromBody(Protocol):
    """A codec's `error_from_body(status, body, headers=None, *, provider, model=None)`."""

    def __call__(
        self, status: int, body: object, headers: Any = None, *, provider: str, model: str | None
    ) -> LLMError: ...  # pragma: no cover


async def open_reply(
    provider: BaseProvider,
    method: str,
    url: str,
    *,
    json: Any = None,
    headers: Mapping[str, str],
    model: str | None,
    error_from_body: ErrorFromBody,
) -> Any:
    """Send one request through `provider.http_client()` and return the open, streamed reply.

    The reply's headers go to `provider._observe_headers` (the rate limiter) first,
    errors included; an error status has its body read and raised as
    `error_from_body(...)`. The caller reads and closes a success reply.

    Raises:
        LLMError: the codec's error for a status of 400 or more.
    """
    if provider.sender == "aiohttp":
        content = None if json is None else dumps(json)
        if content is not None:
            headers = {"content-type": "application/json", **headers}
        response = await provider._fetch(method, url, content=content, headers=headers)
    else:
        client = provider.http_client()
        request = client.build_request(
            method, url, json=json, headers=headers, timeout=_timeout(client, provider)
        )
        response = await client.send(request, stream=True)
    provider._observe_headers(response.headers)
    if response.status_code >= 400:
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        raise error_from_body(
            response.status_code, content, response.headers, provider=provider.name, model=model
        )
    return response


async def read_json(
    provider: BaseProvider,
    method: str,
    url: str,
    *,
    json: Any = None,
    headers: Mapping[str, str],
    model: str | None,
    error_from_body: ErrorFromBody,
) -> Mapping[str, Any]:
    """`open_reply`, then the whole body as a JSON object.

    Raises:
        LLMError: the codec's error for an error status.
        InvalidResponseError: a success body that is empty, malformed or HTML.
    """
    response = await open_reply(
        provider,
        method,
        url,
        json=json,
        headers=headers,
        model=model,
        error_from_body=error_from_body,
    )
    try:
        content = await response.aread()
    finally:
        await response.aclose()
    return json_object(content, provider=provider.name, model=model, status=response.status_code)


def dumps(body: Any) -> bytes:
    """A request body as compact UTF-8 JSON (what `httpx2`'s `json=` sends)."""
    import json

    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _timeout(client: Any, provider: BaseProvider) -> Any:
    """The provider's timeouts in the client's own library (`httpx2` or `httpx`)."""
    module = sys.modules[type(client).__module__.split(".")[0]]
    return module.Timeout(**provider.timeouts.httpx_kwargs())


class StreamParser(Protocol):
    """A push parser of one wire format's stream: chunks in, `StreamEvent`s out, no I/O."""

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """The events the chunk completed."""
        ...  # pragma: no cover

    def flush(self) -> list[StreamEvent]:
        """The events left at the end of the body (a parser may raise here if it ended early)."""
        ...  # pragma: no cover

    @property
    def done(self) -> bool:
        """Whether the stream's own end marker has arrived."""
        ...  # pragma: no cover

    @property
    def error(self) -> LLMError | None:
        """An error the stream reported in-band, raised by `pump` after the chunk carrying it."""
        ...  # pragma: no cover


async def pump(response: Any, parser: StreamParser) -> AsyncIterator[StreamEvent]:
    """Yield the events `parser` makes of `response`'s body, then close the response.

    A parser that records an in-stream error event instead of raising (its `error`
    attribute) has it raised as soon as the chunk
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
    error: LLMError | None = getattr(parser, "error", None)  # tolerated missing: older parsers
    if error is not None:
        raise error
