"""Every `openai-chat` case of the conformance corpus, replayed through the provider named by it,
once with each sender (llmkit's own `httpx2` requests and the vendor SDK's), with equal results.

The llmkit `Request` is rebuilt from the recorded request body, so request
building runs too: the outgoing body must name the same model and the same
message roles. Streamed cases are also served in 7-byte pieces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from llmkit import errors
from llmkit.providers import (
    DeepSeekProvider,
    GroqProvider,
    MistralProvider,
    OpenAICompatibleProvider,
    OpenAIProvider,
    OpenRouterProvider,
)
from llmkit.types import Message, Request, Role, ToolCall, ToolSpec
from tests.conformance import harness

PROVIDERS: dict[str, type[OpenAICompatibleProvider]] = {
    "openai": OpenAIProvider,
    "groq": GroqProvider,
    "openrouter": OpenRouterProvider,
    "deepseek": DeepSeekProvider,
    "mistral": MistralProvider,
}

# Body fields the Request models itself; everything else travels in `extra`.
MODELLED = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "response_format",
    "max_tokens",
    "max_completion_tokens",
}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return content or ""


def _message(wire: dict[str, Any]) -> Message:
    role = "system" if wire["role"] == "developer" else wire["role"]
    if role == "tool":
        return Message.tool(_text(wire.get("content")), tool_call_id=wire.get("tool_call_id"))
    if role == "assistant":
        calls = [
            ToolCall(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"] or "{}"))
            for c in wire.get("tool_calls") or ()
        ]
        reasoning = wire.get("reasoning_content") or wire.get("reasoning")
        return Message.assistant(_text(wire.get("content")), tool_calls=calls, reasoning=reasoning)
    return Message(Role(role), _text(wire.get("content")), name=wire.get("name"))


def _tool_choice(choice: Any) -> str | None:
    if isinstance(choice, dict):
        return str(choice["function"]["name"])
    return choice  # type: ignore[no-any-return]


def build_request(body: dict[str, Any]) -> Request:
    """The llmkit request equivalent to a recorded `/chat/completions` body."""
    return Request(
        model=body["model"],
        messages=[_message(m) for m in body["messages"]],
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        stop=body.get("stop"),
        seed=body.get("seed"),
        response_format=body.get("response_format"),
        tools=[
            ToolSpec(
                t["function"]["name"],
                t["function"].get("description", ""),
                t["function"].get("parameters") or {"type": "object", "properties": {}},
            )
            for t in body.get("tools") or ()
        ],
        tool_choice=_tool_choice(body.get("tool_choice")),
        extra={k: v for k, v in body.items() if k not in MODELLED},
    )


def _roles(messages: list[dict[str, Any]]) -> list[str]:
    return ["system" if m["role"] == "developer" else m["role"] for m in messages]


async def _replay(
    case: dict[str, Any], chunk_size: int | None, sender: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The case through its provider with `sender`: (normalised result, bodies sent)."""
    sent: list[dict[str, Any]] = []
    serve = harness.handler(case, chunk_size)

    def record(request: httpx2.Request) -> Any:
        sent.append(json.loads(request.content))
        return serve(request)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(record))
    cls = PROVIDERS.get(case["provider"], OpenAICompatibleProvider)
    provider = cls(
        api_key="test-key",
        base_url=harness.base_url(case, "/chat/completions"),
        http_client=client,
        retry=None,
        sender=sender,  # type: ignore[arg-type]
    )
    request = build_request(case["request"]["json"])
    try:
        if case["stream"]:
            result = harness.normalise(await provider.stream(request).collect())
        else:
            result = harness.normalise(await provider.complete(request))
    except errors.LLMError as error:
        result = harness.normalise_error(error)
    finally:
        await client.aclose()
    return result, sent


@pytest.mark.parametrize(harness.ARGS, harness.cases("openai-chat"))
async def test_case(path: Path, mode: harness.Mode) -> None:
    """The same result from both senders (llmkit's own `httpx2` and the vendor SDK)."""
    case = harness.load(path)
    recorded = case["request"]["json"]
    results = {}
    for sender in ("httpx2", "sdk"):
        result, sent = await _replay(case, mode.chunk_size, sender)
        results[sender] = result
        assert result == case["expect"], sender
        assert len(sent) == 1
        assert sent[0]["model"] == recorded["model"]
        assert _roles(sent[0]["messages"]) == _roles(recorded["messages"])
        assert sent[0].get("stream", False) == recorded["stream"]
    assert results["httpx2"] == results["sdk"]
