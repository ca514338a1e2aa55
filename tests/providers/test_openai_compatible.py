"""OpenAICompatibleProvider against a local OpenAI-compatible server (vLLM-style cassettes)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers import OpenAICompatibleProvider
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.retry import RetryPolicy
from llmkit.types import FinishReason, Message, Request, ToolCall, Usage
from tests.providers import _openai_compat as shared

GREETING = [Message.user("Say hi in three words.")]
MODEL = "Qwen/Qwen3-8B"
BASE = "http://localhost:8000/v1"


class LocalServer(OpenAICompatibleProvider):
    """The generic provider with a default address, for the shared checks."""

    default_base_url = BASE


def provider() -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        base_url=BASE,
        api_key=os.getenv("OPENAI_COMPATIBLE_API_KEY"),
        http_client=shared.cassette_client(),
        retry=None,
    )


@pytest.mark.vcr
async def test_plain_reply(vcr: Any) -> None:
    reply = await provider().complete(Request(model=MODEL, messages=GREETING))
    # inline <think> tags stay in text here: splitting them is the model client's job
    assert reply.text == "<think>\nShort greeting.\n</think>\n\nHello there, friend!"
    assert reply.reasoning is None
    assert reply.usage == Usage(14, 14)
    assert vcr.all_played


@pytest.mark.vcr
async def test_stream(vcr: Any) -> None:
    reply = await provider().stream(Request(model=MODEL, messages=GREETING)).collect()
    assert reply.text == "Hello there, friend!"
    assert reply.finish_reason is FinishReason.STOP
    assert vcr.all_played


@pytest.mark.vcr
async def test_tool_call(vcr: Any) -> None:
    request = Request(
        model=MODEL,
        messages=[Message.user("What is the weather in Paris?")],
        tools=[shared.WEATHER],
        tool_choice="auto",
    )
    reply = await provider().complete(request)
    assert reply.tool_calls == (ToolCall("chatcmpl-tool-8d3c1e", "get_weather", {"city": "Paris"}),)
    assert vcr.all_played


@pytest.mark.vcr
async def test_error(vcr: Any) -> None:
    with pytest.raises(errors.ModelNotFoundError) as caught:
        await provider().complete(Request(model="nope", messages=GREETING))
    assert caught.value.status_code == 404
    assert vcr.all_played


def test_base_url_is_required() -> None:
    with pytest.raises(errors.ConfigurationError, match="base_url"):
        OpenAICompatibleProvider()


async def test_works_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_COMPATIBLE_API_KEY", raising=False)
    recorder = shared.Recorder()
    local = OpenAICompatibleProvider(
        base_url=BASE, http_client=shared.client_of("httpx2", recorder)
    )
    assert (await local.complete(shared.QUESTION)).text == "Hi!"


async def test_dialect_and_headers_are_configurable() -> None:
    recorder = shared.Recorder()
    server = OpenAICompatibleProvider(
        base_url=BASE,
        api_key="k",
        http_client=shared.client_of("httpx2", recorder),
        headers={"X-Tenant": "t1"},
        dialect=Dialect(reasoning_field="reasoning", stream_usage=False),
    )
    history = [Message.user("q"), Message.assistant("a", reasoning="r"), Message.user("q2")]
    await server.stream(Request(model=MODEL, messages=history)).collect()
    assert recorder.requests[0].headers["x-tenant"] == "t1"
    body = recorder.bodies()[0]
    assert body["messages"][1]["reasoning"] == "r"
    assert "stream_options" not in body


async def test_unreachable_server_is_a_connection_error() -> None:
    import httpx2

    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(refuse))
    local = OpenAICompatibleProvider(base_url=BASE, http_client=client, retry=None)
    with pytest.raises(errors.APIConnectionError, match="localhost:8000"):
        await local.complete(shared.QUESTION)


async def test_timeout_is_an_api_timeout_error() -> None:
    import httpx2

    def slow(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(slow))
    local = OpenAICompatibleProvider(base_url=BASE, http_client=client, retry=None, timeout=3)
    with pytest.raises(errors.APITimeoutError, match="3"):
        await local.complete(shared.QUESTION)


async def test_stream_cut_mid_way_raises_with_the_partial() -> None:
    import httpx2

    class Cut:
        async def __aiter__(self) -> Any:
            yield b'data: {"model":"m","choices":[{"index":0,"delta":{"content":"Hal"}}]}\n\n'
            raise httpx2.RemoteProtocolError("peer closed connection")

    def serve(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=Cut())

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(serve))
    local = OpenAICompatibleProvider(base_url=BASE, http_client=client, retry=None)
    with pytest.raises(errors.StreamError) as caught:
        await local.stream(shared.QUESTION).collect()
    assert caught.value.partial is not None and caught.value.partial.text == "Hal"


async def test_a_body_cut_inside_an_event_is_a_stream_error_with_the_partial() -> None:
    import httpx2

    body = (
        b'data: {"model":"m","choices":[{"index":0,"delta":{"content":"Hal"}}]}\n\n'
        b'data: {"model":"m","choices":[{"index":0,"delta":{"cont'
    )

    def serve(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(serve))
    local = OpenAICompatibleProvider(base_url=BASE, http_client=client, retry=None)
    with pytest.raises(errors.StreamError) as caught:
        await local.stream(shared.QUESTION).collect()
    assert not caught.value.retryable  # text was delivered: replaying it is the caller's call
    assert caught.value.partial is not None and caught.value.partial.text == "Hal"


async def test_a_body_cut_before_any_content_is_retried() -> None:
    import httpx2

    cut = b'data: {"model":"m","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\ndata: {"mo'
    whole = (
        b'data: {"model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        b'data: {"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    bodies = [cut, whole]

    def serve(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=bodies.pop(0)
        )

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(serve))
    local = OpenAICompatibleProvider(
        base_url=BASE, http_client=client, retry=RetryPolicy(base_delay=0.0, max_delay=0.0)
    )
    reply = await local.stream(shared.QUESTION).collect()
    assert reply.text == "Hi" and bodies == []


async def test_non_json_reply_is_an_invalid_response() -> None:
    import httpx2

    client = httpx2.AsyncClient(
        transport=httpx2.MockTransport(lambda r: httpx2.Response(200, content=b"<html>oops"))
    )
    local = OpenAICompatibleProvider(base_url=BASE, http_client=client, retry=None)
    with pytest.raises(errors.InvalidResponseError):
        await local.complete(shared.QUESTION)


@pytest.mark.parametrize("sender", ["httpx2", "sdk"])
@pytest.mark.parametrize("kind", ["httpx2", "httpx"])
async def test_both_client_kinds(kind: str, sender: str) -> None:
    recorder = await shared.check_both_client_kinds(LocalServer, kind, sender)
    assert str(recorder.requests[0].url) == BASE + "/chat/completions"


def test_sync_twins() -> None:
    shared.check_sync_twins(LocalServer)


async def test_list_models() -> None:
    await shared.check_list_models(LocalServer)


async def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_sdk(LocalServer, "openai", monkeypatch)


@pytest.mark.parametrize("status", [200, 429])
async def test_every_response_shows_its_headers_to_the_rate_limiter(status: int) -> None:
    import httpx2

    def serve(request: httpx2.Request) -> httpx2.Response:
        headers = {"x-ratelimit-remaining-requests": "41"}
        if status == 429:
            return httpx2.Response(429, json={"error": {"message": "slow"}}, headers=headers)
        return httpx2.Response(200, json=shared.COMPLETION, headers=headers)

    local = OpenAICompatibleProvider(
        base_url=BASE,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)),
        retry=None,
    )
    seen: list[str | None] = []
    local._observe_headers = lambda headers: seen.append(  # type: ignore[method-assign]
        headers.get("x-ratelimit-remaining-requests")
    )
    if status == 429:
        with pytest.raises(errors.RateLimitError):
            await local.complete(shared.QUESTION)
    else:
        await local.complete(shared.QUESTION)
    assert seen == ["41"]


def test_invalid_sender_is_a_configuration_error() -> None:
    shared.check_invalid_sender(LocalServer)


async def test_a_compressed_stream_is_still_decoded() -> None:
    """Bodies without a content encoding skip the decoders; a gzipped one goes through them."""
    import gzip

    import httpx2

    packed = gzip.compress(shared.STREAM)

    async def pieces() -> Any:
        for i in range(0, len(packed), 16):
            yield packed[i : i + 16]

    def reply(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
        return httpx2.Response(200, headers=headers, content=pieces())

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(reply))
    provider = OpenAICompatibleProvider(base_url=BASE, http_client=client, retry=None)
    streamed = await provider.stream(shared.QUESTION).collect()
    assert streamed.text == "Hi!"
    assert streamed.finish_reason is FinishReason.STOP
