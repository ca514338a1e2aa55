from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2
import pytest

from llmkit import Message, Request, Response, StreamEvent
from llmkit.errors import ConfigurationError, InvalidRequestError, ServerError
from llmkit.providers import BaseProvider, ModelInfo, Provider
from llmkit.retry import RetryPolicy


class EchoProvider(BaseProvider):
    name = "echo"
    default_base_url = "https://echo.example/v1/"
    api_key_env = "ECHO_TEST_KEY"

    def __init__(self, failures: list[Exception] | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.failures = list(failures or [])
        self.calls = 0

    async def _complete(self, request: Request) -> Response:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return Response(text=request.messages[-1].content, provider=self.name)

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        for word in request.messages[-1].content.split():
            yield StreamEvent(text=word)

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo("echo-1", self.name)]


REQUEST = Request("echo-1", [Message.user("hello there")])
FAST = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


def test_key_from_env_or_argument_and_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECHO_TEST_KEY", raising=False)
    provider = EchoProvider()
    assert not provider.has_api_key
    with pytest.raises(
        ConfigurationError, match=r"Set ECHO_TEST_KEY or pass `EchoProvider\(api_key=...\)`"
    ):
        provider.api_key()
    monkeypatch.setenv("ECHO_TEST_KEY", "from-env")
    assert provider.api_key() == "from-env"
    assert EchoProvider(api_key="explicit").api_key() == "explicit"


def test_repr_never_shows_the_key() -> None:
    provider = EchoProvider(api_key="super-secret-value")
    assert "super-secret-value" not in repr(provider)
    assert repr(provider) == "EchoProvider(base_url='https://echo.example/v1')"


def test_fits_the_protocol() -> None:
    assert isinstance(EchoProvider(), Provider)


async def test_retries_retryable_errors_then_succeeds() -> None:
    provider = EchoProvider([ServerError("boom"), ServerError("boom")], retry=FAST)
    assert (await provider.complete(REQUEST)).text == "hello there"
    assert provider.calls == 3


async def test_never_retries_a_bad_request_and_none_turns_retry_off() -> None:
    provider = EchoProvider([InvalidRequestError("bad")], retry=FAST)
    with pytest.raises(InvalidRequestError):
        await provider.complete(REQUEST)
    assert provider.calls == 1
    provider = EchoProvider([ServerError("boom")], retry=None)
    with pytest.raises(ServerError):
        await provider.complete(REQUEST)
    assert provider.calls == 1


async def test_stream_retries_before_the_first_event() -> None:
    provider = EchoProvider([ServerError("boom")], retry=FAST)
    stream = provider.stream(REQUEST)
    assert [e.text async for e in stream] == ["hello", "there"]
    assert stream.response.text == "hellothere"
    assert provider.calls == 2


async def test_one_pool_per_event_loop_and_aclose() -> None:
    provider = EchoProvider()
    here = provider.http_client()
    assert isinstance(here, httpx2.AsyncClient)
    assert provider.http_client() is here

    def other_loop() -> object:
        async def get() -> object:
            return provider.http_client()

        return asyncio.run(get())

    elsewhere = await asyncio.to_thread(other_loop)
    assert elsewhere is not here
    await provider.aclose()
    assert here.is_closed
    assert provider.http_client() is not here
    await provider.aclose()


async def test_caller_client_is_used_as_given_and_left_open() -> None:
    client = httpx2.AsyncClient()
    provider = EchoProvider(http_client=client)
    assert provider.http_client() is client
    await provider.aclose()
    assert not client.is_closed
    await client.aclose()


def test_sync_twins() -> None:
    provider = EchoProvider()
    assert provider.complete_sync(REQUEST).text == "hello there"
    assert [e.text for e in provider.stream_sync(REQUEST)] == ["hello", "there"]
    assert provider.list_models_sync() == [ModelInfo("echo-1", "echo")]
    provider.aclose_sync()


async def test_complete_reports_its_latency() -> None:
    reply = await EchoProvider().complete(REQUEST)
    assert reply.latency.total is not None and reply.latency.total >= 0
    assert reply.latency.first_token == reply.latency.total


def test_a_header_pacing_rate_limit_is_on_by_default() -> None:
    from llmkit.ratelimit import RateLimit

    limit = EchoProvider().rate_limit
    assert isinstance(limit, RateLimit)
    assert (limit.requests_per_minute, limit.tokens_per_minute, limit.max_concurrency) == (
        None,
        None,
        None,
    )
    assert EchoProvider(rate_limit=None).rate_limit is None


async def test_default_rate_limit_learns_the_hosts_headers() -> None:
    from llmkit.providers import OpenAICompatibleProvider
    from llmkit.ratelimit import MemoryBackend

    def host(request: httpx2.Request) -> httpx2.Response:
        body = {
            "id": "c1",
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "ok"},
                    "finish_reason": "stop",
                }
            ],
        }
        headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"}
        return httpx2.Response(200, json=body, headers=headers)

    provider = OpenAICompatibleProvider(
        base_url="http://local/v1",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(host)),
    )
    await provider.complete(REQUEST)
    assert provider.rate_limit is not None
    backend = provider.rate_limit.backend
    assert isinstance(backend, MemoryBackend)
    # the next request would wait for the host's reset (about six minutes), not hit a 429
    wait = backend.state.wait({"requests": 1}, backend.clock())
    assert 300 < wait <= 360


async def test_aclose_closes_the_pool_of_the_sync_twins_loop_too() -> None:
    from llmkit import _sync

    provider = EchoProvider()

    async def pool() -> object:
        return provider.http_client()

    theirs = _sync.run(pool)  # built on the sync twins' loop
    assert isinstance(theirs, httpx2.AsyncClient) and not theirs.is_closed
    await provider.aclose()  # from this test's own loop
    assert theirs.is_closed
