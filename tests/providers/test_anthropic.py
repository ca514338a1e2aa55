"""AnthropicProvider on hand-written cassettes: reply, stream, tool round trip, thinking, 529, counting.

Every cassette test runs through both senders: llmkit's own (`httpx2`) and the
`anthropic` SDK; they replay the same cassette and must give the same results.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers import AnthropicProvider
from llmkit.types import FinishReason, Message, Request, ToolCall, ToolSpec, Usage

GREETING = [Message.user("Say hi in three words.")]
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


class Observed(AnthropicProvider):
    """Records the headers handed to the rate-limit hook."""

    seen: list[Any]

    def _observe_headers(self, headers: Any) -> None:
        self.seen = [*getattr(self, "seen", []), headers]
        super()._observe_headers(headers)


SENDERS = ["httpx2", "sdk"]


@pytest.fixture(params=SENDERS)
def sender(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    """One cassette per test, whichever sender replays it."""
    return str(request.node.originalname)


def provider(sender: str = "httpx2", **kwargs: Any) -> Observed:
    return Observed(
        api_key=os.getenv("ANTHROPIC_API_KEY", "test-key"), retry=None, sender=sender, **kwargs
    )


@pytest.mark.vcr
async def test_plain_reply(vcr: Any, sender: str) -> None:
    anthropic = provider(sender)
    reply = await anthropic.complete(Request("claude-haiku-4-5", GREETING, max_tokens=100))
    assert reply.text == "Hello there, friend!"
    assert reply.finish_reason is FinishReason.STOP
    assert reply.raw_finish_reason == "end_turn"
    assert reply.usage == Usage(14, 8, None, 0, 0)
    assert reply.model == "claude-haiku-4-5-20251001"
    assert reply.provider == "anthropic"
    assert anthropic.seen[0]["anthropic-ratelimit-requests-remaining"] == "49"
    assert vcr.all_played


@pytest.mark.vcr
async def test_streaming(vcr: Any, sender: str) -> None:
    stream = provider(sender).stream(Request("claude-haiku-4-5", GREETING, max_tokens=100))
    texts = [event.text async for event in stream]
    assert "".join(texts) == "Hello there, friend!"
    assert stream.response.usage == Usage(14, 8, None, 0, 0)
    assert stream.response.finish_reason is FinishReason.STOP
    assert stream.response.id == "msg_01H3Stream000000000001"
    assert vcr.all_played


@pytest.mark.vcr
async def test_tool_call_round_trip(vcr: Any, sender: str) -> None:
    anthropic = provider(sender)
    history = [Message.user("What is the weather in Paris?")]
    request = Request(
        "claude-haiku-4-5", history, max_tokens=1024, tools=[WEATHER], tool_choice="auto"
    )
    first = await anthropic.complete(request)
    call = ToolCall("toolu_01H3WeatherParis0000001", "get_weather", {"city": "Paris"})
    assert first.tool_calls == (call,)
    assert first.finish_reason is FinishReason.TOOL_CALLS
    history += [first.to_message(), Message.tool("18C and sunny", tool_call_id=call.id)]
    second = await anthropic.complete(
        Request("claude-haiku-4-5", history, max_tokens=1024, tools=[WEATHER], tool_choice="auto")
    )
    assert second.text == "It is 18C and sunny in Paris."
    assert vcr.all_played


@pytest.mark.vcr
async def test_reasoning(vcr: Any, sender: str) -> None:
    request = Request(
        "claude-sonnet-4-6",
        [Message.user("Is 17 prime?")],
        extra={"thinking": {"type": "enabled", "budget_tokens": 1024}},
    )
    reply = await provider(sender).stream(request).collect()
    assert reply.reasoning == "17 is prime: it has no divisors between 2 and 4."
    assert reply.text == "Yes, 17 is prime."
    assert reply.provider_data == {
        "anthropic": {
            "thinking": [
                {
                    "type": "thinking",
                    "thinking": reply.reasoning,
                    "signature": "EqQBCkgIBxABGAIiQH3h3sig",
                }
            ]
        }
    }
    assert reply.usage == Usage(43, 61, None, 0, 0)
    assert vcr.all_played


@pytest.mark.vcr
async def test_overloaded(vcr: Any, sender: str) -> None:
    anthropic = provider(sender)
    with pytest.raises(errors.OverloadedError) as caught:
        await anthropic.complete(Request("claude-haiku-4-5", GREETING, max_tokens=100))
    assert anthropic.seen[0]["retry-after"] == "12"
    assert caught.value.status_code == 529
    assert caught.value.retryable
    assert caught.value.message == "Overloaded"
    assert caught.value.request_id == "req_011CVhH3overloaded0001"
    assert vcr.all_played


@pytest.mark.vcr
async def test_count_tokens(vcr: Any, sender: str) -> None:
    assert await provider(sender).count_tokens(Request("claude-haiku-4-5", GREETING)) == 14
    assert vcr.all_played


@pytest.mark.vcr
async def test_list_models(vcr: Any, sender: str) -> None:
    models = await provider(sender).list_models()
    assert [m.id for m in models] == ["claude-opus-4-7", "claude-haiku-4-5-20251001"]
    assert models[0].created == 1776297600
    assert vcr.all_played


async def test_missing_key_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(errors.ConfigurationError, match="ANTHROPIC_API_KEY"):
        await AnthropicProvider(retry=None).complete(Request("claude-haiku-4-5", GREETING))


async def test_bad_thinking_budget_fails_before_sending() -> None:
    request = Request(
        "claude-sonnet-4-6",
        GREETING,
        max_tokens=1000,
        extra={"thinking": {"type": "enabled", "budget_tokens": 1024}},
    )
    with pytest.raises(errors.InvalidRequestError, match="below max_tokens"):
        await provider().complete(request)


async def test_an_httpx_client_works_on_both_senders_and_is_left_open(sender: str) -> None:
    import httpx

    seen: list[tuple[str | None, str | None]] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers.get("x-api-key"), request.headers.get("authorization")))
        return httpx.Response(
            200,
            json={
                "content": [{"type": "text", "text": "ok"}],
                "stop_reason": "end_turn",
                "model": "m",
            },
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        anthropic = AnthropicProvider(
            api_key="test-key", http_client=client, retry=None, sender=sender
        )
        assert (await anthropic.complete(Request("m", GREETING))).text == "ok"
        await anthropic.aclose()
        assert not client.is_closed
    # llmkit sends the key as x-api-key (Anthropic's documented header); anthropic 2 as a bearer
    assert seen == [("test-key", None)] if sender == "httpx2" else [(None, "Bearer test-key")]


NOT_JSON_BODIES = [
    pytest.param(b"", "an empty body", id="empty"),
    pytest.param(b'{"content": [', '{"content": [', id="malformed"),
    pytest.param(
        b"<html><head><title>Just a moment...</title></head><body>" + b"x" * 5000 + b"</body>",
        "Just a moment...",
        id="html",
    ),
    pytest.param(b"[1, 2]", "[1, 2]", id="not-an-object"),
]


async def _with_body(content: bytes, call: str) -> errors.InvalidResponseError:
    import httpx

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers={"content-type": "text/html"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        anthropic = AnthropicProvider(api_key="test-key", http_client=client, retry=None)
        request = Request("claude-haiku-4-5", GREETING)
        calls = {
            "complete": lambda: anthropic.complete(request),
            "count_tokens": lambda: anthropic.count_tokens(request),
            "list_models": anthropic.list_models,
        }
        with pytest.raises(errors.InvalidResponseError) as caught:
            await calls[call]()
    return caught.value


@pytest.mark.parametrize("call", ["complete", "count_tokens", "list_models"])
@pytest.mark.parametrize(("content", "shown"), NOT_JSON_BODIES)
async def test_a_reply_that_is_not_json_raises_invalid_response(
    content: bytes, shown: str, call: str
) -> None:
    error = await _with_body(content, call)
    assert error.provider == "anthropic"
    assert error.status_code == 200
    assert error.model == (None if call == "list_models" else "claude-haiku-4-5")
    assert shown in error.message
    assert len(error.message) < 400
    assert error.body == content.decode()


async def test_a_stream_cut_before_message_stop_is_a_stream_error_with_the_partial() -> None:
    import httpx

    cut = (
        b'event: message_start\ndata: {"type": "message_start", "message": {"id": "m1", '
        b'"model": "claude-haiku-4-5", "usage": {"input_tokens": 3}}}\n\n'
        b'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, '
        b'"content_block": {"type": "text", "text": "Hel"}}\n\n'
    )

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=cut, headers={"content-type": "text/event-stream"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        anthropic = AnthropicProvider(api_key="test-key", http_client=client, retry=None)
        stream = anthropic.stream(Request("claude-haiku-4-5", GREETING))
        with pytest.raises(errors.StreamError) as caught:
            [event async for event in stream]
    assert not caught.value.retryable  # text was delivered: replaying it is the caller's call
    assert caught.value.partial is not None and caught.value.partial.text == "Hel"
