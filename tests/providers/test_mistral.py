"""MistralProvider: replayed cassettes, random_seed, re-keyed tool-call ids, shared checks."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers import MistralProvider
from llmkit.types import FinishReason, Message, Request, ToolCall, Usage
from tests.providers import _openai_compat as shared

GREETING = [Message.user("Say hi in three words.")]
MODEL = "mistral-small-latest"


def provider() -> MistralProvider:
    return MistralProvider(
        api_key=os.getenv("MISTRAL_API_KEY", "test-key"),
        http_client=shared.cassette_client(),
        retry=None,
    )


@pytest.mark.vcr
async def test_plain_reply(vcr: Any) -> None:
    reply = await provider().complete(Request(model=MODEL, messages=GREETING, max_tokens=50))
    assert reply.text == "Hello there, friend!"
    assert reply.usage == Usage(14, 4, cached_input_tokens=0)
    assert vcr.all_played


@pytest.mark.vcr
async def test_stream(vcr: Any) -> None:
    reply = await provider().stream(Request(model=MODEL, messages=GREETING)).collect()
    assert reply.text == "Hello there, friend!"
    assert reply.usage == Usage(14, 4)
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
    assert reply.tool_calls == (ToolCall("7QjFNcS8z", "get_weather", {"city": "Paris"}),)
    assert reply.text == ""
    assert vcr.all_played


@pytest.mark.vcr
async def test_error(vcr: Any) -> None:
    with pytest.raises(errors.AuthenticationError) as caught:
        await provider().complete(Request(model=MODEL, messages=GREETING))
    assert caught.value.message == "Unauthorized"
    assert vcr.all_played


async def test_seed_and_tool_ids_in_mistrals_terms() -> None:
    recorder = shared.Recorder()
    mistral = MistralProvider(api_key="k", http_client=shared.client_of("httpx2", recorder))
    call = ToolCall("call_rI3WKPYvVwlOgCGRjsPP2hEx", "get_weather", {"city": "Paris"})
    history = [
        Message.user("Weather?"),
        Message.assistant("", tool_calls=[call]),
        Message.tool("18C", tool_call_id=call.id),
    ]
    await mistral.complete(Request(model=MODEL, messages=history, seed=3))
    body = recorder.bodies()[0]
    assert body["random_seed"] == 3 and "seed" not in body
    new_id = body["messages"][1]["tool_calls"][0]["id"]
    assert re.fullmatch(r"[A-Za-z0-9]{9}", new_id)
    assert body["messages"][2]["tool_call_id"] == new_id


@pytest.mark.parametrize("sender", ["httpx2", "sdk"])
@pytest.mark.parametrize("kind", ["httpx2", "httpx"])
async def test_both_client_kinds(kind: str, sender: str) -> None:
    recorder = await shared.check_both_client_kinds(MistralProvider, kind, sender)
    assert "stream_options" not in recorder.bodies()[1]


def test_sync_twins() -> None:
    shared.check_sync_twins(MistralProvider)


async def test_list_models() -> None:
    await shared.check_list_models(MistralProvider)


async def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_key(MistralProvider, monkeypatch)


async def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    await shared.check_missing_sdk(MistralProvider, "openai", monkeypatch)


def test_invalid_sender_is_a_configuration_error() -> None:
    shared.check_invalid_sender(MistralProvider)
