"""OpenRouterProvider: replayed cassettes, attribution headers, reasoning round trip, shared checks."""

from __future__ import annotations

import os
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers import OpenRouterProvider
from llmkit.types import Cost, FinishReason, Message, Request, ToolCall
from tests.providers import _openai_compat as shared

GREETING = [Message.user("Say hi in three words.")]
MODEL = "deepseek/deepseek-v4-flash"


def provider() -> OpenRouterProvider:
    return OpenRouterProvider(
        api_key=os.getenv("OPENROUTER_API_KEY", "test-key"),
        http_client=shared.cassette_client(),
        retry=None,
    )


@pytest.mark.vcr
async def test_plain_reply(vcr: Any) -> None:
    reply = await provider().complete(Request(model=MODEL, messages=GREETING, max_tokens=50))
    assert reply.text == "Hello there, friend!"
    assert reply.reasoning == "A short greeting."
    assert reply.cost == Cost(total=0.0000186, source="host")
    assert reply.usage.reasoning_tokens == 8
    details = reply.provider_data["openrouter"]["reasoning_details"]
    assert details[0]["text"] == "A short greeting."
    assert vcr.all_played


@pytest.mark.vcr
async def test_stream(vcr: Any) -> None:
    stream = provider().stream(Request(model=MODEL, messages=GREETING))
    reply = await stream.collect()
    assert reply.text == "Hello there, friend!"
    assert reply.reasoning == "Three words."
    assert reply.usage.input_tokens == 14
    assert reply.provider_data["openrouter"]["reasoning_details"][0]["text"] == "Three words."
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
    assert reply.tool_calls == (
        ToolCall("call_00_kq3Xb2example", "get_weather", {"city": "Paris"}),
    )
    assert reply.finish_reason is FinishReason.TOOL_CALLS
    assert vcr.all_played


@pytest.mark.vcr
async def test_error(vcr: Any) -> None:
    with pytest.raises(errors.RateLimitError) as caught:
        await provider().complete(Request(model=MODEL, messages=GREETING))
    assert caught.value.status_code == 402
    assert caught.value.retryable is False
    assert "credits" in caught.value.message
    assert vcr.all_played


async def test_attribution_headers_and_reasoning_round_trip() -> None:
    recorder = shared.Recorder()
    openrouter = OpenRouterProvider(
        api_key="k",
        http_client=shared.client_of("httpx2", recorder),
        app_url="https://example.org/app",
        app_name="llmkit tests",
    )
    details = [{"type": "reasoning.encrypted", "data": "opaque"}]
    history = [
        Message.user("q"),
        Message.assistant(
            "a", reasoning="r", provider_data={"openrouter": {"reasoning_details": details}}
        ),
        Message.user("q2"),
    ]
    await openrouter.complete(Request(model=MODEL, messages=history))
    sent = recorder.requests[0]
    assert sent.headers["http-referer"] == "https://example.org/app"
    assert sent.headers["x-title"] == "llmkit tests"
    assistant = recorder.bodies()[0]["messages"][1]
    assert assistant["reasoning"] == "r"
    assert assistant["reasoning_details"] == details


@pytest.mark.parametrize("sender", ["httpx2", "sdk"])
@pytest.mark.parametrize("kind", ["httpx2", "httpx"])
async def test_both_client_kinds(kind: str, sender: str) -> None:
    recorder = await shared.check_both_client_kinds(OpenRouterProvider, kind, sender)
    assert recorder.requests[0].url.path == "/api/v1/chat/completions"
    assert "x-title" not in recorder.requests[0].headers


def test_sync_twins() -> None:
    shared.check_sync_twins(OpenRouterProvider)


async def test_list_models() -> None:
    await shared.check_list_models(OpenRouterProvider)


async def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_key(OpenRouterProvider, monkeypatch)


async def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_sdk(OpenRouterProvider, "openai", monkeypatch)


def test_invalid_sender_is_a_configuration_error() -> None:
    shared.check_invalid_sender(OpenRouterProvider)
