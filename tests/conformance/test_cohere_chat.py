"""Every `cohere-chat` case of the conformance corpus, replayed through `CohereProvider`.

The request is rebuilt from the case's recorded body (so the codec's request side
runs too and is checked against the recording), sent by each sender (llmkit's own
and the `cohere` SDK) to a MockTransport serving the recorded reply, and the result
is compared with the case's `expect`. Both kinds of caller client are exercised:
an `httpx2` one and an `httpx` one (the SDK reaches an `httpx2` one through
llmkit's bridge).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers._codecs import cohere_chat
from llmkit.providers.cohere import CohereProvider
from llmkit.types import Message, Request, ToolCall, ToolSpec
from tests.conformance import harness

API = "cohere-chat"
_CHOICES = {"REQUIRED": "required", "NONE": "none"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or () if p.get("type") == "text")


def _message(turn: dict[str, Any]) -> Message:
    role = turn["role"]
    if role == "tool":
        return Message.tool(_text(turn.get("content")), tool_call_id=turn["tool_call_id"])
    if role == "assistant":
        calls = [
            ToolCall(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in turn.get("tool_calls") or ()
        ]
        plan = turn.get("tool_plan")
        return Message.assistant(
            _text(turn.get("content")),
            tool_calls=calls,
            provider_data={"cohere": {"tool_plan": plan}} if plan else None,
        )
    return Message(role, _text(turn.get("content")))


def request_from_case(body: dict[str, Any]) -> Request:
    """An llmkit `Request` equivalent to the recorded Cohere body."""
    return Request(
        model=body["model"],
        messages=[_message(turn) for turn in body["messages"]],
        temperature=body.get("temperature"),
        max_tokens=body.get("max_tokens"),
        top_p=body.get("p"),
        stop=body.get("stop_sequences"),
        seed=body.get("seed"),
        tools=[
            ToolSpec(
                t["function"]["name"],
                t["function"].get("description", ""),
                t["function"].get("parameters"),
            )
            for t in body.get("tools") or ()
        ],
        tool_choice=_CHOICES.get(body.get("tool_choice") or ""),
    )


MODES = (
    harness.Mode(),
    harness.Mode(client="httpx"),
    harness.Mode(sender="sdk"),
    harness.Mode(client="httpx", sender="sdk"),
)


@pytest.mark.parametrize(harness.ARGS, harness.cases(API, MODES))
async def test_case(path: Path, mode: harness.Mode) -> None:
    case = harness.load(path)
    recorded = case["request"]["json"]
    sent: list[Any] = []
    provider = CohereProvider(
        api_key="test-key",
        base_url=harness.base_url(case, "/v2/chat"),
        http_client=harness.client(case, mode, sent),
        retry=None,
        sender=mode.sender,
    )
    request = request_from_case(recorded)
    try:
        if case["stream"]:
            result = harness.normalise(await provider.stream(request).collect())
        else:
            result = harness.normalise(await provider.complete(request))
    except errors.LLMError as error:
        result = harness.normalise_error(error)
    assert result == case["expect"]
    # The request side: what llmkit sent matches the recording where it matters.
    assert sent, "nothing was sent"
    body = sent[0]
    assert body["model"] == recorded["model"]
    assert body["stream"] is case["stream"]
    assert body["messages"] == cohere_chat.to_params(request)["messages"]
    assert [m["role"] for m in body["messages"]] == [m["role"] for m in recorded["messages"]]
    assert [t["function"]["name"] for t in body.get("tools", ())] == [
        t["function"]["name"] for t in recorded.get("tools", ())
    ]
    for key in ("tool_choice", "stop_sequences"):
        assert body.get(key) == recorded.get(key)


def test_every_case_is_covered() -> None:
    """The corpus README counts 5 cohere-chat cases; all of them run above."""
    files = harness.case_files(API)
    if not files:
        pytest.skip(harness.missing_reason(API))
    assert len(files) >= 5
