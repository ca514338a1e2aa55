"""Every `gemini` case of the conformance corpus, replayed through `GeminiProvider`.

The request is rebuilt from the case's recorded body, sent to a MockTransport
serving the recorded reply (complete or streamed as the case says; streams
also cut in 7 bytes and sent through an `httpx` client), and the result is
compared with the case's `expect`. Ids llmkit minted for calls Gemini sent
without one are mapped back to None, as the corpus records them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers._codecs import gemini_generate as codec
from llmkit.providers.gemini import GeminiProvider
from llmkit.types import Message, Request, Role, ToolCall, ToolSpec
from tests.conformance import harness

API = "gemini"
_MODES = {"AUTO": "auto", "NONE": "none", "ANY": "required", "VALIDATED": "auto"}


def _text(parts: list[dict[str, Any]]) -> str:
    return "".join(p.get("text", "") for p in parts if "text" in p and not p.get("thought"))


def _messages(body: dict[str, Any]) -> list[Message]:
    system = body.get("systemInstruction")
    messages = [Message.system(_text(system["parts"]))] if system else []
    for content in body["contents"]:
        parts = content["parts"]
        if content.get("role") == "model":
            calls = [
                ToolCall(
                    p["functionCall"].get("id"),
                    p["functionCall"]["name"],
                    p["functionCall"].get("args") or {},
                )
                for p in parts
                if "functionCall" in p
            ]
            signed = any("thoughtSignature" in p for p in parts)
            messages.append(
                Message.assistant(
                    _text(parts),
                    tool_calls=calls,
                    provider_data={"gemini": {"parts": parts}} if signed else None,
                )
            )
            continue
        for part in parts:
            if "functionResponse" in part:
                answer = part["functionResponse"]
                messages.append(
                    Message.tool(
                        json.dumps(answer["response"]),
                        tool_call_id=answer.get("id"),
                        name=answer["name"],
                    )
                )
        if any("text" in p for p in parts):
            messages.append(Message.user(_text(parts)))
    return messages


def _tools(body: dict[str, Any]) -> list[ToolSpec]:
    specs = []
    tools = body.get("tools", [])
    for tool in [tools] if isinstance(tools, dict) else tools:  # one recording sends an object
        for fn in tool.get("functionDeclarations") or tool.get("function_declarations") or []:
            schema = (
                fn.get("parametersJsonSchema")
                or fn.get("parameters_json_schema")
                or fn.get("parameters")
            )
            specs.append(
                ToolSpec(fn["name"], fn.get("description", ""), schema or {"type": "object"})
            )
    return specs


def request_from_case(case: dict[str, Any]) -> Request:
    """An llmkit `Request` equivalent to the recorded Gemini body."""
    body = case["request"]["json"]
    model = case["request"]["url"].split("/models/")[1].split(":")[0]
    config = dict(body.get("generationConfig") or {})
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    choice = _MODES.get(calling.get("mode", ""))
    known = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
    return Request(
        model=model,
        messages=_messages(body),
        temperature=config.pop("temperature", None),
        max_tokens=config.pop("maxOutputTokens", None),
        stop=config.pop("stopSequences", None),
        tools=_tools(body),
        tool_choice=choice,
        extra={**{k: v for k, v in body.items() if k not in known}, "generationConfig": config},
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


def _unmint(result: dict[str, Any]) -> dict[str, Any]:
    for call in result["tool_calls"]:
        if codec.is_minted_id(call["id"]):
            call["id"] = None
    return result


MODES = (harness.Mode(), harness.Mode(7), harness.Mode(7, "httpx"))


@pytest.mark.parametrize(harness.ARGS, harness.cases(API, MODES))
async def test_gemini_case(path: Path, mode: harness.Mode) -> None:
    case = harness.load(path)
    method = case["request"]["url"].split("?")[0].rsplit(":", 1)[1]
    request = request_from_case(case)
    sent = codec.to_params(request)
    assert sent["contents"][0]["role"] == "user"
    assert [m.role for m in request.messages].count(Role.SYSTEM) == (
        1 if "systemInstruction" in case["request"]["json"] else 0
    )
    root = case["request"]["url"].split("/v1beta/")[0]
    async with harness.client(case, mode) as client:
        provider = GeminiProvider(api_key="test-key", base_url=root, http_client=client, retry=None)
        try:
            if method == "countTokens":
                result = _expected_count(await provider.count_tokens(request))
            elif case["stream"]:
                result = harness.normalise(await provider.stream(request).collect())
            else:
                result = harness.normalise(await provider.complete(request))
        except errors.LLMError as error:
            result = harness.normalise_error(error)
    assert _unmint(result) == case["expect"], json.dumps(case["expect"])[:500]
