"""`sender="aiohttp"` over real sockets: what the host receives, decoding, redirects, the pool.

The fault cases (timeouts, cut streams, bounded error pages, clean error chains) run
on both senders in tests/test_faults_sockets.py; these cover what is particular to
the aiohttp transport under the `httpx2` client.
"""

from __future__ import annotations

import gzip
import json
import sys

import httpx2
import pytest

from llmkit.errors import ConfigurationError
from llmkit.providers import AnthropicProvider, OpenAICompatibleProvider
from llmkit.providers._aiohttp import AiohttpTransport
from llmkit.registry import Registry
from llmkit.types import Message, Request
from tests.faultserver import FaultServer, Reply, SeenRequest

REQUEST = Request("m", [Message.user("hi")], max_tokens=5)
COMPLETION = {
    "id": "c",
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}}],
}
STREAM = [
    b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n',
    b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"lo"},'
    b'"finish_reason":"stop"}]}\n\n',
    b"data: [DONE]\n\n",
]


def provider(url: str, **options: object) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        base_url=url + "/v1", api_key="sk-test-key", sender="aiohttp", retry=None, **options
    )  # type: ignore[arg-type]


async def test_the_host_sees_llmkits_headers_and_body_not_aiohttps() -> None:
    async with FaultServer([Reply.json(COMPLETION)]) as server, provider(server.url) as host:
        reply = await host.complete(REQUEST)
    assert reply.text == "Hello"
    (seen,) = server.requests
    assert seen.method == "POST" and seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-test-key"
    assert seen.headers["user-agent"].startswith("llmkit/")
    assert "aiohttp" not in seen.headers["user-agent"].lower()
    assert seen.headers["content-type"] == "application/json"
    assert int(seen.headers["content-length"]) == len(seen.body)
    assert seen.json()["messages"] == [{"role": "user", "content": "hi"}]


async def test_a_gzipped_reply_is_decoded_once() -> None:
    body = gzip.compress(json.dumps(COMPLETION).encode())
    gzipped = Reply(200, {"content-type": "application/json", "content-encoding": "gzip"},
                    [body], chunked=False)  # fmt: skip
    async with FaultServer([gzipped]) as server, provider(server.url) as host:
        assert (await host.complete(REQUEST)).text == "Hello"
    assert "gzip" in server.requests[0].headers["accept-encoding"]


async def test_a_redirect_is_followed_by_the_httpx2_client() -> None:
    def answer(request: SeenRequest) -> Reply:
        if request.path == "/v1/chat/completions":
            return Reply(307, {"location": "/moved/chat/completions"}, [b""], chunked=False)
        return Reply.json(COMPLETION)

    async with FaultServer(answer) as server, provider(server.url) as host:
        assert (await host.complete(REQUEST)).text == "Hello"
    assert [r.path for r in server.requests] == ["/v1/chat/completions", "/moved/chat/completions"]
    assert server.requests[1].json()["model"] == "m"  # 307 keeps the method and the body


async def test_streams_read_to_the_end_reuse_one_connection() -> None:
    async with FaultServer([Reply.sse(*STREAM)]) as server, provider(server.url) as host:
        for _ in range(10):
            assert (await host.stream(REQUEST).collect()).text == "Hello"
    assert len(server.requests) == 10
    assert server.connections == 1


async def test_a_stream_abandoned_half_read_is_not_reused() -> None:
    script = [Reply.sse(STREAM[0], 0.3, *STREAM[1:])]
    async with FaultServer(script) as server, provider(server.url) as host:
        for _ in range(2):
            stream = host.stream(REQUEST)
            async for _event in stream:
                break  # walk away mid-body
            await stream.aclose()
    assert len(server.requests) == 2
    assert server.connections == 2  # the half-read connection was closed, not pooled


async def test_the_sync_twins_and_a_second_loop_each_get_a_working_pool() -> None:
    async with FaultServer([Reply.json(COMPLETION)]) as server:
        host = provider(server.url)
        assert (await host.complete(REQUEST)).text == "Hello"
        # a blocking call runs on llmkit's own loop thread: another loop, another pool
        import asyncio

        text = await asyncio.to_thread(lambda: host.complete_sync(REQUEST).text)
        assert text == "Hello"
        await host.aclose()
    assert len(server.requests) == 2


def test_sender_and_http_client_together_is_a_clear_error() -> None:

    with pytest.raises(ConfigurationError, match="not both"):
        OpenAICompatibleProvider(
            base_url="http://127.0.0.1:9/v1", http_client=httpx2.AsyncClient(), sender="aiohttp"
        )


def test_a_missing_aiohttp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    with pytest.raises(ConfigurationError, match=r"llmkit\[aiohttp\]"):
        AnthropicProvider(api_key="k", sender="aiohttp")


def test_an_unknown_sender_lists_aiohttp() -> None:
    with pytest.raises(ConfigurationError, match="'aiohttp'"):
        OpenAICompatibleProvider(base_url="http://127.0.0.1:9/v1", sender="curl")  # type: ignore[arg-type]


async def test_a_configured_provider_takes_sender_from_its_options() -> None:
    from llmkit.config import validate_text

    text = (
        "providers:\n  up: {type: openai_compatible, base_url: 'http://127.0.0.1:9/v1', "
        "api_key: '${UP_KEY}', options: {sender: aiohttp}}\n"
    )
    result = validate_text(text, env={"UP_KEY": "k"})
    built = Registry(result.config).provider("up")
    assert built.sender == "aiohttp"  # type: ignore[attr-defined]
    assert isinstance(built.http_client()._transport, AiohttpTransport)  # type: ignore[attr-defined]
    await built.aclose()  # type: ignore[attr-defined]


async def test_a_registrys_default_sender_fills_in_where_the_configuration_names_none() -> None:
    from llmkit.config import validate_text

    text = (
        "providers:\n"
        "  plain: {type: openai_compatible, base_url: 'http://127.0.0.1:9/v1'}\n"
        "  chosen: {type: openai_compatible, base_url: 'http://127.0.0.1:9/v1',"
        " options: {sender: httpx2}}\n"
        "  bedrock: {type: anthropic, options: {platform: bedrock}}\n"
        "  fake: {type: fake}\n"
    )
    registry = Registry(validate_text(text, env={}).config, default_sender="aiohttp")
    assert registry.provider("plain").sender == "aiohttp"  # type: ignore[attr-defined]
    assert registry.provider("chosen").sender == "httpx2"  # type: ignore[attr-defined]
    assert registry.provider("bedrock").sender == "sdk"  # type: ignore[attr-defined]
    assert registry.provider("fake") is not None  # not an HTTP provider: no sender given
    from llmkit.server import create_app

    app = create_app(registry=Registry(validate_text(text, env={}).config))
    gateway_registry = app.state.gateway.router.registry
    assert gateway_registry.provider("plain").sender == "aiohttp"


async def test_proxy_variables_are_honoured_and_no_proxy_bypasses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FaultServer([Reply.json(COMPLETION)]) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "bypassed.invalid")
        async with OpenAICompatibleProvider(
            base_url="http://llm.invalid/v1", api_key="k", sender="aiohttp", retry=None
        ) as host:
            assert (await host.complete(REQUEST)).text == "Hello"
        assert proxy.requests[0].path == "http://llm.invalid/v1/chat/completions"  # absolute form
        transport = AiohttpTransport()
        assert transport._proxy("http", "bypassed.invalid") is None
        assert transport._proxy("http", "other.invalid") == proxy.url


async def test_requests_outside_chat_go_through_the_httpx2_client_over_the_same_pool() -> None:
    embedding = {"object": "list", "model": "e", "data": [{"index": 0, "embedding": [0.5, 0.25]}],
                 "usage": {"prompt_tokens": 2, "total_tokens": 2}}  # fmt: skip
    async with FaultServer([Reply.json(embedding)]) as server, provider(server.url) as host:
        for _ in range(3):
            vectors = await host.embed("hello", model="e")
            assert vectors.vectors == ((0.5, 0.25),)
    assert len(server.requests) == 3 and server.requests[0].path == "/v1/embeddings"
    assert server.connections == 1  # pooled: read to the end, handed back


async def test_a_refused_connection_outside_chat_is_a_clear_connection_error() -> None:
    from llmkit.errors import APIConnectionError

    async with provider("http://127.0.0.1:9") as host:
        with pytest.raises(APIConnectionError, match=r"127\.0\.0\.1"):
            await host.embed("hello", model="e")
