"""DeepSeekProvider: replayed cassettes, reasoning_content sent back on tool turns, shared checks."""

from __future__ import annotations

import os
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers import DeepSeekProvider
from llmkit.types import FinishReason, Message, Request, ToolCall, Usage
from tests.providers import _openai_compat as shared

GREETING = [Message.user("Say hi in three words.")]
MODEL = "deepseek-flash"


def provider() -> DeepSeekProvider:
    return DeepSeekProvider(
        api_key=os.getenv("DEEPSEEK_API_KEY", "test-key"),
        http_client=shared.cassette_client(),
        retry=None,
    )


@pytest.mark.vcr
async def test_plain_reply(vcr: Any) -> None:
    reply = await provider().complete(Request(model=MODEL, messages=GREETING, max_tokens=50))
    assert reply.text == "Hello there, friend!"
    assert reply.reasoning == "Three words, friendly."
    assert reply.usage == Usage(14, 12, reasoning_tokens=8, cached_input_tokens=0)
    assert vcr.all_played


@pytest.mark.vcr
async def test_stream(vcr: Any) -> None:
    reply = await provider().stream(Request(model=MODEL, messages=GREETING)).collect()
    assert reply.text == "Hello there, friend!"
    assert reply.reasoning == "Three words."
    assert reply.usage == Usage(14, 4)
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
        ToolCall("call_00_rCqh1Bexample", "get_weather", {"city": "Paris"}),
    )
    assert reply.reasoning == "I should call get_weather."
    assert reply.finish_reason is FinishReason.TOOL_CALLS
    assert vcr.all_played


@pytest.mark.vcr
async def test_error(vcr: Any) -> None:
    with pytest.raises(errors.ContextLengthExceededError) as caught:
        await provider().complete(Request(model=MODEL, messages=GREETING))
    assert caught.value.status_code == 400
    assert not caught.value.retryable
    assert vcr.all_played


async def test_reasoning_content_goes_back_on_tool_call_turns() -> None:
    recorder = shared.Recorder()
    deepseek = DeepSeekProvider(api_key="k", http_client=shared.client_of("httpx2", recorder))
    call = ToolCall("call_00_x", "get_weather", {"city": "Paris"})
    history = [
        Message.user("Weather?"),
        Message.assistant("", tool_calls=[call], reasoning="Use the tool."),
        Message.tool("18C", tool_call_id="call_00_x"),
    ]
    await deepseek.complete(Request(model=MODEL, messages=history, max_tokens=9))
    body = recorder.bodies()[0]
    assert body["messages"][1]["reasoning_content"] == "Use the tool."
    assert body["max_tokens"] == 9


async def test_tool_call_turn_without_reasoning_gets_an_empty_reasoning_content() -> None:
    # History from another host (or hand-built) has no reasoning; DeepSeek's thinking
    # mode answers 400 unless reasoning_content is there, and accepts "" (HOSTS.md 1.2).
    recorder = shared.Recorder()
    deepseek = DeepSeekProvider(api_key="k", http_client=shared.client_of("httpx2", recorder))
    call = ToolCall("call_00_x", "get_weather", {"city": "Paris"})
    history = [
        Message.user("Weather?"),
        Message.assistant("", tool_calls=[call]),
        Message.tool("18C", tool_call_id="call_00_x"),
        Message.assistant("It is 18C."),
        Message.user("Thanks"),
    ]
    await deepseek.complete(Request(model=MODEL, messages=history))
    messages = recorder.bodies()[0]["messages"]
    assert messages[1]["reasoning_content"] == ""
    assert "reasoning_content" not in messages[3]  # no tool calls: nothing to pass back


@pytest.mark.parametrize("sender", ["httpx2", "sdk"])
@pytest.mark.parametrize("kind", ["httpx2", "httpx"])
async def test_both_client_kinds(kind: str, sender: str) -> None:
    recorder = await shared.check_both_client_kinds(DeepSeekProvider, kind, sender)
    assert str(recorder.requests[0].url) == "https://api.deepseek.com/chat/completions"


def test_sync_twins() -> None:
    shared.check_sync_twins(DeepSeekProvider)


async def test_list_models() -> None:
    await shared.check_list_models(DeepSeekProvider)


async def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_key(DeepSeekProvider, monkeypatch)


async def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_sdk(DeepSeekProvider, "openai", monkeypatch)


def test_invalid_sender_is_a_configuration_error() -> None:
    shared.check_invalid_sender(DeepSeekProvider)
