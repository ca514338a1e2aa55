"""GroqProvider: replayed cassettes, the httpx bridge, Groq's refusals, and shared checks."""

from __future__ import annotations

import os
from typing import Any

import httpx
import httpx2
import pytest

from llmkit import errors
from llmkit.providers import GroqProvider
from llmkit.types import FinishReason, Message, Request, ToolCall, Usage
from tests.providers import _openai_compat as shared

GREETING = [Message.user("Say hi in three words.")]
MODEL = "openai/gpt-oss-20b"


def provider() -> GroqProvider:
    return GroqProvider(
        api_key=os.getenv("GROQ_API_KEY", "test-key"),
        http_client=shared.cassette_client(),
        retry=None,
    )


@pytest.mark.vcr
async def test_plain_reply(vcr: Any) -> None:
    reply = await provider().complete(Request(model=MODEL, messages=GREETING, max_tokens=50))
    assert reply.text == "Hello there, friend!"
    assert reply.reasoning == "User wants a three-word greeting."
    assert reply.usage == Usage(80, 22, reasoning_tokens=14)
    assert reply.to_message().reasoning == reply.reasoning
    assert vcr.all_played


@pytest.mark.vcr
async def test_stream(vcr: Any) -> None:
    reply = await provider().stream(Request(model=MODEL, messages=GREETING)).collect()
    assert reply.text == "Hello there, friend!"
    assert reply.usage == Usage(14, 4)  # from x_groq.usage on the last chunk
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
    assert reply.tool_calls == (ToolCall("fc_4b1e6f2a-1c", "get_weather", {"city": "Paris"}),)
    assert reply.finish_reason is FinishReason.TOOL_CALLS
    assert vcr.all_played


@pytest.mark.vcr
async def test_error(vcr: Any) -> None:
    with pytest.raises(errors.RateLimitError) as caught:
        await provider().complete(Request(model=MODEL, messages=GREETING))
    assert caught.value.retry_after == 7.0
    assert caught.value.retryable
    assert "Please try again in 7s" in caught.value.message
    assert vcr.all_played


@pytest.mark.parametrize("sender", ["httpx2", "sdk"])
@pytest.mark.parametrize("kind", ["httpx2", "httpx"])
async def test_both_client_kinds(kind: str, sender: str) -> None:
    recorder = await shared.check_both_client_kinds(GroqProvider, kind, sender)
    expected = httpx2.Request if kind == "httpx2" else httpx.Request
    assert all(type(r) is expected for r in recorder.requests)  # bridged to the caller's client
    assert recorder.requests[0].url.path == "/openai/v1/chat/completions"
    assert "stream_options" not in recorder.bodies()[1]
    assert recorder.bodies()[0]["max_completion_tokens"] == 20


async def test_reasoning_is_withheld_from_groq() -> None:
    recorder = shared.Recorder()
    groq = GroqProvider(api_key="k", http_client=shared.client_of("httpx2", recorder))
    history = [
        Message.user("q"),
        Message.assistant("a", reasoning="private thoughts"),
        Message.user("q2"),
    ]
    await groq.complete(Request(model=MODEL, messages=history))
    assert recorder.bodies()[0]["messages"][1] == {"role": "assistant", "content": "a"}


async def test_refused_params_fail_before_sending() -> None:
    recorder = shared.Recorder()
    groq = GroqProvider(api_key="k", http_client=shared.client_of("httpx2", recorder))
    with pytest.raises(errors.InvalidRequestError, match="logprobs"):
        await groq.complete(Request(model=MODEL, messages=GREETING, extra={"logprobs": True}))
    assert recorder.requests == []


def test_sync_twins() -> None:
    shared.check_sync_twins(GroqProvider)


async def test_list_models() -> None:
    await shared.check_list_models(GroqProvider)


async def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_key(GroqProvider, monkeypatch)


async def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_sdk(GroqProvider, "groq", monkeypatch)


def test_invalid_sender_is_a_configuration_error() -> None:
    shared.check_invalid_sender(GroqProvider)
