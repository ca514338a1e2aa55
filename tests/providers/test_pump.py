"""`pump`: the one chunk loop of the hand-parsed streams (Anthropic, Gemini, Ollama, Cohere);
`open_reply` / `read_json`: the one way those providers send."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from llmkit import errors
from llmkit.providers._base import BaseProvider
from llmkit.providers._pump import USER_AGENT, open_reply, pump, read_json
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


# -- open_reply / read_json: llmkit's own sending --------------------------------------


class Host(BaseProvider):
    """The smallest provider: its name, headers seen, and a client serving `serve`."""

    name = "host-x"
    requires_api_key = False

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(http_client=client, retry=None, **kwargs)
        self.seen_headers: list[Any] = []

    def _observe_headers(self, headers: Any) -> None:
        self.seen_headers.append(headers)


def _error_from_body(
    status: int, body: object, headers: Any = None, *, provider: str, model: str | None
) -> errors.LLMError:
    return errors.ServerError(
        f"{provider} {status} {body!r} {headers.get('x-id')}", provider=provider, model=model
    )


def _client(kind: str, serve: Any) -> Any:
    module = __import__(kind)
    return module.AsyncClient(transport=module.MockTransport(serve))


@pytest.mark.parametrize("kind", ["httpx2", "httpx"])
async def test_read_json_sends_observes_and_parses(kind: str) -> None:
    seen: list[Any] = []

    def serve(request: Any) -> Any:
        seen.append(request)
        return __import__(kind).Response(200, headers={"x-id": "1"}, json={"ok": True})

    host = Host(_client(kind, serve), timeout=30)
    body = await read_json(
        host,
        "POST",
        "https://h.example/v1/x",
        json={"a": 1},
        headers={"user-agent": USER_AGENT},
        model="m",
        error_from_body=_error_from_body,
    )
    assert body == {"ok": True}
    assert json.loads(seen[0].content) == {"a": 1}
    assert seen[0].headers["user-agent"] == USER_AGENT
    assert seen[0].extensions["timeout"]["read"] == 30  # the provider's timeouts, in its library
    assert host.seen_headers[0]["x-id"] == "1"


async def test_an_error_status_is_read_raised_and_closed() -> None:
    def serve(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(503, headers={"x-id": "7"}, content=b"busy")

    host = Host(_client("httpx2", serve))
    with pytest.raises(errors.ServerError, match="host-x 503 b'busy' 7") as caught:
        await open_reply(
            host,
            "GET",
            "https://h.example/v1/x",
            headers={},
            model="m",
            error_from_body=_error_from_body,
        )
    assert caught.value.model == "m"
    assert host.seen_headers[0]["x-id"] == "7"  # errors are observed too (rate limits)


async def test_read_json_refuses_a_body_that_is_not_a_json_object() -> None:
    def serve(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b"<html><title>Maintenance</title></html>")

    with pytest.raises(errors.InvalidResponseError, match="Maintenance") as caught:
        await read_json(
            Host(_client("httpx2", serve)),
            "GET",
            "https://h.example/v1/x",
            headers={},
            model=None,
            error_from_body=_error_from_body,
        )
    assert caught.value.status_code == 200
