"""OpenAI's Chat Completions JSON, written as a server: llmkit's replies out.

`completion(...)` turns a `Response` into a `chat.completion`; `chunk(...)`,
`delta_of(event)` and `usage_json(...)` write a stream's `chat.completion.chunk`s;
`finish_reason(...)` gives OpenAI's word for llmkit's. Pure functions: no HTTP, no
I/O. The requests coming in are `llmkit.server.wire`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from llmkit.types import FinishReason, Response, StreamEvent, ToolCall, Usage

__all__ = ["chunk", "completion", "delta_of", "finish_reason", "usage_json"]


_FINISH = {
    FinishReason.STOP: "stop",
    FinishReason.LENGTH: "length",
    FinishReason.TOOL_CALLS: "tool_calls",
    FinishReason.CONTENT_FILTER: "content_filter",
}


def finish_reason(reason: FinishReason | None) -> str:
    """OpenAI's word for llmkit's reason (`error` and `other` say `stop`)."""
    return _FINISH.get(reason, "stop") if reason is not None else "stop"


def usage_json(usage: Usage) -> dict[str, Any]:
    """OpenAI's `usage` object (unknown counts as 0)."""
    prompt = usage.input_tokens or 0
    completion_tokens = usage.output_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens or 0},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
    }


def _encode_arguments(call: ToolCall) -> str:
    if call.raw_arguments is not None:
        return call.raw_arguments
    return msgspec.json.encode(call.arguments).decode()


def completion(
    response: Response, *, completion_id: str, created: int, model: str
) -> dict[str, Any]:
    """A `chat.completion` object for a whole reply."""
    message: dict[str, Any] = {"role": "assistant", "content": response.text or None}
    if response.reasoning is not None:
        message["reasoning_content"] = response.reasoning
    if response.refusal is not None:
        message["refusal"] = response.refusal
    if response.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id or f"call_{index}",
                "type": "function",
                "function": {"name": call.name, "arguments": _encode_arguments(call)},
            }
            for index, call in enumerate(response.tool_calls)
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason(response.finish_reason),
                "logprobs": None,
            }
        ],
        "usage": usage_json(response.usage),
    }


def chunk(
    completion_id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish: str | None = None,
) -> dict[str, Any]:
    """One `chat.completion.chunk` with one choice."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def delta_of(event: StreamEvent) -> dict[str, Any] | None:
    """The `delta` of one event's content, or None when it carries none."""
    if not event.has_content:
        return None
    delta: dict[str, Any] = {}
    if event.text:
        delta["content"] = event.text
    if event.reasoning:
        delta["reasoning_content"] = event.reasoning
    if event.refusal:
        delta["refusal"] = event.refusal
    if (piece := event.tool_call) is not None:
        call: dict[str, Any] = {"index": piece.index}
        if piece.id is not None:
            call["id"] = piece.id
            call["type"] = "function"
        function: dict[str, Any] = {"arguments": piece.arguments}
        if piece.name is not None:
            function["name"] = piece.name
        call["function"] = function
        delta["tool_calls"] = [call]
    return delta
