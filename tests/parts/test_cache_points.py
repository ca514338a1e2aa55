"""Prompt-cache breakpoints: CachePoint parts, cache_system and cache_tools on a call."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from llmkit import CachePoint, ConfigurationError, Document, Message, ToolSpec
from llmkit.clients import ClaudeClient
from llmkit.providers import AnthropicProvider
from llmkit.providers._codecs import anthropic_messages
from llmkit.types import Request

PDF = b"%PDF-1.4 x"


def test_cache_tools_and_a_user_breakpoint() -> None:
    params = anthropic_messages.to_params(
        Request(
            model="claude",
            messages=[Message.user(Document.from_bytes(PDF), CachePoint("1h"), "summarise")],
            tools=[ToolSpec("a"), ToolSpec("b")],
            cache_tools=True,
        )
    )
    assert "cache_control" not in params["tools"][0]
    assert params["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert params["messages"][0]["content"][0]["cache_control"] == {
        "type": "ephemeral",
        "ttl": "1h",
    }


def test_a_fifth_breakpoint_is_a_clear_error() -> None:
    parts: list[Any] = []
    for n in range(5):
        parts += [f"chunk {n}", CachePoint()]
    with pytest.raises(ConfigurationError, match="at most 4 prompt-cache breakpoints"):
        anthropic_messages.to_params(Request(model="claude", messages=[Message.user(*parts)]))
    anthropic_messages.to_params(Request(model="claude", messages=[Message.user(*parts[:8])]))


def test_a_cache_point_must_follow_a_part() -> None:
    with pytest.raises(ConfigurationError, match="must follow"):
        anthropic_messages.to_params(
            Request(model="claude", messages=[Message.user(CachePoint(), "x")])
        )


async def test_client_options_cache_system_and_cache_tools() -> None:
    sent: list[Any] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        return httpx2.Response(
            200,
            json={
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "ok"}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 8},
            },
        )

    provider = AnthropicProvider(
        api_key="k",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
        retry=None,
        sender="httpx2",
    )
    client = ClaudeClient(provider=provider, system="A long, stable system prompt.")
    reply = await client.generate(
        "hi", cache_system=True, cache_tools=True, tools=[ToolSpec("lookup")]
    )
    assert reply.text == "ok"
    body = sent[-1]
    assert body["system"] == [
        {
            "type": "text",
            "text": "A long, stable system prompt.",
            "cache_control": {"type": "ephemeral"},
        }
    ]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    await client.generate("hi")
    assert sent[-1]["system"] == "A long, stable system prompt."  # plain without the option


def test_cost_shows_the_cache_saving() -> None:
    from llmkit.catalog import Prices
    from llmkit.cost import price_usage
    from llmkit.types import Usage

    prices = Prices(input=3.0, cached_input=0.3, cache_write=3.75, output=15.0)
    read = price_usage(
        Usage(input_tokens=1_000_000, output_tokens=0, cached_input_tokens=800_000), prices
    )
    assert read is not None
    assert read.cache_saving == pytest.approx(0.8 * (3.0 - 0.3))
    wrote = price_usage(
        Usage(input_tokens=1_000_000, output_tokens=0, cache_write_tokens=1_000_000), prices
    )
    assert wrote is not None and wrote.cache_saving == pytest.approx(-0.75)
    plain = price_usage(Usage(input_tokens=10, output_tokens=1), prices)
    assert plain is not None and plain.cache_saving == 0.0


def test_openai_prompt_cache_key_follows_the_cached_prefix() -> None:
    from llmkit.providers._codecs import openai_chat as oc

    def body(question: str, ttl: str | None = None, model: str = "gpt-5.1") -> dict[str, Any]:
        request = Request(
            model=model,
            messages=[Message.system("Long rules.", CachePoint(ttl)), Message.user(question)],
        )
        return oc.to_params(request, oc.Dialect(name="openai"))

    a, b = body("one?"), body("two?")
    assert a["prompt_cache_key"] == b["prompt_cache_key"]  # same prefix, same key
    assert a["prompt_cache_key"] != body("one?", model="gpt-4o")["prompt_cache_key"]
    assert "prompt_cache_retention" not in a
    assert body("one?", "1h")["prompt_cache_retention"] == "24h"
    assert "prompt_cache_retention" not in body("one?", "1h", model="gpt-4o")
    plain = oc.to_params(
        Request(model="gpt-5.1", messages=[Message.user("hi")]), oc.Dialect(name="openai")
    )
    assert "prompt_cache_key" not in plain
    groq = oc.to_params(
        Request(model="m", messages=[Message.user("x", CachePoint())]), oc.Dialect(name="groq")
    )
    assert "prompt_cache_key" not in groq
