"""OpenAIProvider: replayed cassettes (reply, streamed tool call, stream, quota error) and shared checks."""

from __future__ import annotations

import os
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers import OpenAIProvider
from llmkit.types import FinishReason, Message, Request, ToolCall, Usage
from tests.providers import _openai_compat as shared

GREETING = [Message.user("Say hi in three words.")]


def provider() -> OpenAIProvider:
    return OpenAIProvider(
        api_key=os.getenv("OPENAI_API_KEY", "test-key"),
        http_client=shared.cassette_client(),
        retry=None,
    )


@pytest.mark.vcr
async def test_plain_reply(vcr: Any) -> None:
    reply = await provider().complete(
        Request(model="gpt-4.1-mini", messages=GREETING, max_tokens=50)
    )
    assert reply.text == "Hello there, friend!"
    assert reply.finish_reason is FinishReason.STOP
    assert reply.usage == Usage(14, 4, reasoning_tokens=0, cached_input_tokens=0)
    assert reply.model == "gpt-4.1-mini-2025-04-14"
    assert vcr.all_played


@pytest.mark.vcr
async def test_stream(vcr: Any) -> None:
    stream = provider().stream(Request(model="gpt-4.1-mini", messages=GREETING))
    texts = [event.text async for event in stream]
    assert "".join(texts) == "Hello there, friend!"
    assert stream.response.usage == Usage(14, 4)
    assert stream.response.finish_reason is FinishReason.STOP
    assert vcr.all_played


@pytest.mark.vcr
async def test_tool_call(vcr: Any) -> None:
    request = Request(
        model="gpt-4.1-mini",
        messages=[Message.user("What is the weather in Paris?")],
        tools=[shared.WEATHER],
        tool_choice="auto",
    )
    reply = await provider().stream(request).collect()
    assert reply.tool_calls == (
        ToolCall("call_rI3WKPYvVwlOgCGRjsPP2hEx", "get_weather", {"city": "Paris"}),
    )
    assert reply.finish_reason is FinishReason.TOOL_CALLS
    assert vcr.all_played


@pytest.mark.vcr
async def test_error(vcr: Any) -> None:
    with pytest.raises(errors.RateLimitError) as caught:
        await provider().complete(Request(model="gpt-4.1-mini", messages=GREETING))
    assert caught.value.retryable is False  # a billing cap: retrying will not help
    assert caught.value.status_code == 429
    assert caught.value.request_id == "req_quota"
    assert vcr.all_played


@pytest.mark.parametrize("sender", ["httpx2", "sdk"])
@pytest.mark.parametrize("kind", ["httpx2", "httpx"])
async def test_both_client_kinds(kind: str, sender: str) -> None:
    recorder = await shared.check_both_client_kinds(OpenAIProvider, kind, sender)
    assert recorder.requests[0].url.host == "api.openai.com"
    assert recorder.bodies()[0]["max_completion_tokens"] == 20
    assert recorder.bodies()[1]["stream_options"] == {"include_usage": True}


def test_sync_twins() -> None:
    shared.check_sync_twins(OpenAIProvider)


async def test_list_models() -> None:
    await shared.check_list_models(OpenAIProvider)


async def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_key(OpenAIProvider, monkeypatch)


async def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_sdk(OpenAIProvider, "openai", monkeypatch)


def test_invalid_sender_is_a_configuration_error() -> None:
    shared.check_invalid_sender(OpenAIProvider)


def test_the_direct_sender_imports_no_vendor_sdk() -> None:
    """A fresh interpreter builds the provider, calls and streams: `openai` is never imported."""
    import subprocess
    import sys

    code = """
import asyncio, json, sys
import httpx2
from llmkit.providers import OpenAIProvider
from tests.providers import _openai_compat as shared

async def main():
    client = shared.client_of("httpx2", shared.Recorder())
    provider = OpenAIProvider(api_key="k", http_client=client, retry=None)
    assert (await provider.complete(shared.QUESTION)).text == "Hi!"
    assert (await provider.stream(shared.QUESTION).collect()).text == "Hi!"

asyncio.run(main())
print(json.dumps(sorted(m for m in ("openai", "groq", "anthropic") if m in sys.modules)))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
