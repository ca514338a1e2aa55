"""Every `anthropic-messages` case of the conformance corpus, replayed through `AnthropicProvider`.

The request is rebuilt from the case's recorded body (so the codec's request side
runs too), sent to a MockTransport serving the recorded reply, complete or
streamed as the case says (streams also cut in 7-byte chunks), and the result
is compared with the case's `expect`. Every case runs through both senders
(llmkit's own `httpx2` one and the `anthropic` SDK), which must agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers._codecs import anthropic_messages as codec
from llmkit.providers.anthropic import AnthropicProvider
from llmkit.types import Message, Request, ToolCall, ToolSpec
from tests.conformance import harness

API = "anthropic-messages"
_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if b.get("type") == "text")


def _messages(body: dict[str, Any]) -> list[Message]:
    system = body.get("system")
    messages = [Message.system(_text(system))] if system else []
    for turn in body["messages"]:
        content = turn["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if turn["role"] == "system":
            messages.append(Message.system(_text(blocks)))
        elif turn["role"] == "assistant":
            calls = [
                ToolCall(b["id"], b["name"], b["input"]) for b in blocks if b["type"] == "tool_use"
            ]
            thinking = [b for b in blocks if b["type"] in ("thinking", "redacted_thinking")]
            messages.append(
                Message.assistant(
                    _text(blocks),
                    tool_calls=calls,
                    provider_data={"anthropic": {"thinking": thinking}} if thinking else None,
                )
            )
        else:
            for block in blocks:
                if block["type"] == "tool_result":
                    messages.append(
                        Message.tool(_text(block["content"]), tool_call_id=block["tool_use_id"])
                    )
            if _text(blocks):
                messages.append(Message.user(_text(blocks)))
    return messages


def request_from_case(body: dict[str, Any]) -> Request:
    """An llmkit `Request` equivalent to the recorded Anthropic body."""
    choice = body.get("tool_choice")
    known = {
        "model",
        "messages",
        "system",
        "max_tokens",
        "stream",
        "tools",
        "tool_choice",
        "temperature",
        "top_p",
        "stop_sequences",
    }
    return Request(
        model=body["model"],
        messages=_messages(body),
        max_tokens=body.get("max_tokens"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=body.get("stop_sequences"),
        tools=[
            ToolSpec(t["name"], t.get("description", ""), t["input_schema"])
            for t in body.get("tools", [])
        ],
        tool_choice=None if choice is None else _CHOICES.get(choice["type"], choice.get("name")),
        extra={k: v for k, v in body.items() if k not in known},
    )


def _expected_count(count: int) -> dict[str, Any]:
    return {
        "text": "",
        "reasoning": None,
        "tool_calls": [],
        "finish_reason": "other",
        "raw_finish_reason": None,
        "usage": {"input_tokens": count, "output_tokens": None},
        "model": None,
        "error": None,
    }


MODES = (
    harness.Mode(),
    harness.Mode(7),
    harness.Mode(7, "httpx"),
    harness.Mode(sender="sdk"),
    harness.Mode(7, sender="sdk"),
    harness.Mode(7, "httpx", sender="sdk"),
)


@pytest.mark.parametrize(harness.ARGS, harness.cases(API, MODES))
async def test_anthropic_messages_case(path: Path, mode: harness.Mode) -> None:
    case = harness.load(path)
    counting = "/count_tokens" in case["request"]["url"]
    suffix = "/v1/messages/count_tokens" if counting else "/v1/messages"
    request = request_from_case(case["request"]["json"])
    params = codec.to_params(request)
    assert params["messages"][0]["role"] == "user"
    assert {t["name"] for t in params.get("tools", [])} == {
        t["name"] for t in case["request"]["json"].get("tools", [])
    }
    sent: list[Any] = []
    async with harness.client(case, mode, sent) as client:
        provider = AnthropicProvider(
            api_key="test-key",
            base_url=harness.base_url(case, suffix),
            http_client=client,
            retry=None,
            sender=mode.sender,
        )
        try:
            if counting:
                result = _expected_count(await provider.count_tokens(request))
            elif case["stream"]:
                result = harness.normalise(await provider.stream(request).collect())
            else:
                result = harness.normalise(await provider.complete(request))
        except errors.LLMError as error:
            result = harness.normalise_error(error)
    assert result == case["expect"], json.dumps(case["expect"])[:500]
    # The request side, on either sender: one body, for the recorded model, streamed as recorded.
    assert len(sent) == 1
    assert sent[0]["model"] == case["request"]["json"]["model"]
    assert sent[0].get("stream", False) == (case["stream"] and not counting)
    assert sent[0]["messages"] == codec.to_params(request)["messages"]
