"""Anthropic Messages on the wire: params, replies, stream events, error bodies.

Pure functions over JSON dicts; no SDK objects, no I/O. The rules follow
Anthropic's Messages API reference (platform.claude.com/docs/en/api/messages)
and the recorded traffic of `../shared/conformance` (the corpus wins where the
two disagree):

- the system prompt is the top-level `system`; `messages` holds only user and
  assistant turns, strictly alternating and starting with a user turn;
- tool results travel as `tool_result` blocks in the next user turn;
- `thinking` / `redacted_thinking` blocks must come back unchanged, signature
  included, on the assistant turn they belong to. They are kept in
  `provider_data[<provider>]["thinking"]` and sent only to that same provider.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from llmkit.errors import InvalidRequestError, InvalidResponseError, LLMError
from llmkit.providers._codecs import parts_anthropic
from llmkit.providers._codecs.anthropic_messages_errors import error_from_body
from llmkit.providers._codecs.sse import SSEDecoder
from llmkit.types import (
    Content,
    FinishReason,
    Message,
    Request,
    Response,
    Role,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "COUNT_TOKENS_FIELDS",
    "DEFAULT_MAX_TOKENS",
    "MIN_THINKING_BUDGET",
    "StreamParser",
    "check_thinking",
    "error_from_body",
    "finish_reason",
    "parse_count_tokens",
    "parse_reply",
    "parse_usage",
    "pop_betas",
    "thinking_blocks",
    "to_count_tokens_params",
    "to_params",
]

DEFAULT_MAX_TOKENS = 4096
"""`max_tokens` sent when the request sets none: Anthropic requires the field."""
MIN_THINKING_BUDGET = 1024
"""Anthropic's floor for `thinking.budget_tokens` (extended-thinking docs)."""
COUNT_TOKENS_FIELDS = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "betas"}
)
"""The body fields `/v1/messages/count_tokens` accepts (no max_tokens, no sampling), and
`betas`, which the provider turns into the `anthropic-beta` header (`pop_betas`)."""
REFUSAL = "Claude declined to answer this request (stop_reason: refusal)"
"""`Response.refusal` for a `refusal` stop whose `stop_details` gives no explanation."""

_STOP_REASONS = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
    "refusal": FinishReason.CONTENT_FILTER,
    "pause_turn": FinishReason.OTHER,
}
_TOOL_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}
_THINKING_BLOCKS = ("thinking", "redacted_thinking")
# -- request ---------------------------------------------------------------------


def to_params(
    request: Request, dialect: None = None, *, stream: bool = False, provider: str = "anthropic"
) -> dict[str, Any]:
    """The JSON body of `POST /v1/messages` for `request`.

    Args:
        request: the request; `extra` fields are merged last and win (`extra["betas"]`
            stays in the body until the provider moves it to a header: `pop_betas`).
        dialect: none: the Messages API has no dialects (the codec contract's slot).
        stream: add `"stream": true`.
        provider: whose `provider_data` may be echoed back (thinking blocks).

    Raises:
        InvalidRequestError: the request has no turns, or holds what Anthropic
            cannot express (a thinking budget out of range, `seed`, `json_object`).
    """
    system, messages = _to_messages(request.messages, provider=provider)
    if not messages:
        raise InvalidRequestError(
            "Anthropic needs at least one user or assistant message; add Message.user(...)",
            provider=provider,
            model=request.model,
        )
    if request.seed is not None:
        raise InvalidRequestError(
            "Anthropic's Messages API has no `seed`; leave Request.seed unset for this provider",
            provider=provider,
            model=request.model,
        )
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        params["system"] = system
    optional = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop_sequences": list(request.stop) if request.stop else None,
    }
    params.update({k: v for k, v in optional.items() if v is not None})
    if request.tools:
        params["tools"] = [_to_tool(t.name, t.description, t.parameters) for t in request.tools]
        if request.cache_tools:
            params["tools"][-1]["cache_control"] = parts_anthropic.cache_control(None)
    if request.tool_choice is not None:
        params["tool_choice"] = _TOOL_CHOICES.get(
            request.tool_choice, {"type": "tool", "name": request.tool_choice}
        )
    if request.response_format is not None:
        params["output_config"] = {"format": _to_output_format(request.response_format)}
    if stream:
        params["stream"] = True
    params.update(request.extra)
    check_thinking(params, provider=provider)
    parts_anthropic.check_breakpoints(params, provider=provider, model=request.model)
    return params


def pop_betas(params: dict[str, Any]) -> list[str]:
    """Remove `betas` (a name or a list of them) from `params`; the `anthropic-beta` values.

    Beta features are switched on by a header, not a body field: the provider sends
    the names as `anthropic-beta: a,b` (the SDK does the same for its `betas=`).
    """
    betas = params.pop("betas", None)
    if betas is None:
        return []
    names = [betas] if isinstance(betas, str) else list(betas)
    return [str(name) for name in names if name]


def to_count_tokens_params(request: Request, *, provider: str = "anthropic") -> dict[str, Any]:
    """The JSON body of `POST /v1/messages/count_tokens`: `to_params` minus what it refuses."""
    params = to_params(request, provider=provider)
    return {k: v for k, v in params.items() if k in COUNT_TOKENS_FIELDS}


def check_thinking(params: Mapping[str, Any], *, provider: str = "anthropic") -> None:
    """Refuse a manual thinking budget Anthropic would reject: it must be ≥ 1024 and < max_tokens.

    Raises:
        InvalidRequestError: naming the numbers and the fix.
    """
    thinking = params.get("thinking")
    if not isinstance(thinking, Mapping) or thinking.get("type") != "enabled":
        return
    budget = thinking.get("budget_tokens")
    max_tokens = params.get("max_tokens", DEFAULT_MAX_TOKENS)
    if not isinstance(budget, int) or budget < MIN_THINKING_BUDGET:
        raise InvalidRequestError(
            f"thinking.budget_tokens must be an integer of at least {MIN_THINKING_BUDGET} "
            f"(got {budget!r}); pass extra={{'thinking': {{'type': 'enabled', "
            f"'budget_tokens': {MIN_THINKING_BUDGET}}}}} or use {{'type': 'adaptive'}}",
            provider=provider,
            model=params.get("model"),
        )
    if budget >= max_tokens:
        raise InvalidRequestError(
            f"thinking.budget_tokens ({budget}) must be below max_tokens ({max_tokens}): "
            f"thinking tokens count against max_tokens; raise Request.max_tokens above {budget}",
            provider=provider,
            model=params.get("model"),
        )


def _to_tool(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": name, "input_schema": schema}
    if description:
        tool["description"] = description
    return tool


def _to_output_format(response_format: Mapping[str, Any]) -> dict[str, Any]:
    # Structured outputs: https://platform.claude.com/docs/en/build-with-claude/structured-outputs
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema", {})
        schema = spec.get("schema", spec) if isinstance(spec, Mapping) else spec
        return {"type": "json_schema", "schema": schema}
    raise InvalidRequestError(
        f"Anthropic takes only JSON-schema structured output, not {response_format.get('type')!r}; "
        "pass response_format={'type': 'json_schema', 'json_schema': {'schema': {...}}}"
    )


def _to_messages(messages: Sequence[Message], *, provider: str) -> tuple[Any, list[dict[str, Any]]]:
    """Split out the system prompt; turn the rest into alternating user/assistant turns."""
    system: list[Content] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role is Role.SYSTEM:
            if message.content:
                system.append(message.content)
            continue
        role = "assistant" if message.role is Role.ASSISTANT else "user"
        blocks = _to_blocks(message, provider=provider)
        if not blocks:
            continue  # Anthropic refuses empty turns and empty text blocks
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)  # same-role runs merge into one turn
        else:
            turns.append({"role": role, "content": blocks})
    if turns and turns[0]["role"] != "user":
        # The conversation must open with a user turn; a placeholder keeps the history intact.
        turns.insert(0, {"role": "user", "content": [{"type": "text", "text": "(continue)"}]})
    return parts_anthropic.system_param(system), turns


def _to_blocks(message: Message, *, provider: str) -> list[dict[str, Any]]:
    if message.role is Role.TOOL:
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id,
            "content": parts_anthropic.tool_result(message.content, provider=provider),
        }
        return [block]
    blocks: list[dict[str, Any]] = []
    if message.role is Role.ASSISTANT:
        blocks.extend(thinking_blocks(message, provider=provider))
    blocks.extend(parts_anthropic.blocks(message.content, provider=provider))
    for call in message.tool_calls:
        arguments: Any = call.arguments
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return blocks


def thinking_blocks(message: Message, *, provider: str) -> list[dict[str, Any]]:
    """The thinking blocks to echo on an assistant turn: only those this provider produced."""
    data = message.provider_data.get(provider)
    if not isinstance(data, Mapping):
        return []
    blocks = data.get("thinking") or []
    return [dict(b) for b in blocks if isinstance(b, Mapping) and b.get("type") in _THINKING_BLOCKS]


# -- replies ---------------------------------------------------------------------


def finish_reason(raw: str | None, *, has_tool_calls: bool = False) -> FinishReason:
    """The normalised finish reason for Anthropic's `stop_reason` (corpus README table)."""
    mapped = _STOP_REASONS.get(raw or "", FinishReason.OTHER)
    if has_tool_calls and (not raw or mapped is FinishReason.STOP):
        return FinishReason.TOOL_CALLS
    return mapped


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Usage with cache reads and writes folded into `input_tokens` (Anthropic reports them apart)."""
    if not usage:
        return Usage()
    base = usage.get("input_tokens")
    written = usage.get("cache_creation_input_tokens")
    read = usage.get("cache_read_input_tokens")
    total = None
    if base is not None or written is not None or read is not None:
        total = (base or 0) + (written or 0) + (read or 0)
    return Usage(
        input_tokens=total,
        output_tokens=usage.get("output_tokens"),
        cached_input_tokens=read,
        cache_write_tokens=written,
    )


def parse_reply(body: Mapping[str, Any], *, provider: str = "anthropic") -> Response:
    """A `Response` from the JSON body of a non-streamed Messages reply.

    Raises:
        InvalidResponseError: the body is not a Messages reply.
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("content"), list):
        raise InvalidResponseError(
            f"Anthropic sent a reply without a content list: {str(body)[:200]}", provider=provider
        )
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    thinking: list[dict[str, Any]] = []
    for block in body["content"]:
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text") or "")
        elif kind == "thinking":
            reasoning.append(block.get("thinking") or "")
            thinking.append(dict(block))
        elif kind == "redacted_thinking":
            thinking.append(dict(block))
        elif kind == "tool_use":
            calls.append(_tool_call(block))
    raw_stop = body.get("stop_reason") or None
    return Response(
        text="".join(text),
        refusal=refusal_of(raw_stop, body.get("stop_details")),
        reasoning="".join(reasoning) or None,
        tool_calls=tuple(calls),
        finish_reason=finish_reason(raw_stop, has_tool_calls=bool(calls)),
        raw_finish_reason=raw_stop,
        usage=parse_usage(body.get("usage")),
        model=body.get("model"),
        provider=provider,
        id=body.get("id"),
        provider_data={provider: {"thinking": thinking}} if thinking else {},
        raw=body,
    )


def refusal_of(raw_stop: str | None, details: object) -> str | None:
    """`Response.refusal` for a `stop_reason`: the `stop_details` explanation of a refusal."""
    if raw_stop != "refusal":
        return None
    if isinstance(details, Mapping):
        explanation = details.get("explanation") or details.get("category")
        if explanation:
            return str(explanation)
    return REFUSAL


def _tool_call(block: Mapping[str, Any]) -> ToolCall:
    arguments = block.get("input")
    if arguments is None or arguments == "":
        return ToolCall(block.get("id"), block.get("name", ""), {})
    if isinstance(arguments, dict):
        return ToolCall(block.get("id"), block.get("name", ""), arguments)
    return ToolCall(block.get("id"), block.get("name", ""), {}, raw_arguments=json.dumps(arguments))


def parse_count_tokens(body: Mapping[str, Any], *, provider: str = "anthropic") -> int:
    """The `input_tokens` of a `/v1/messages/count_tokens` reply."""
    count = body.get("input_tokens") if isinstance(body, Mapping) else None
    if not isinstance(count, int):
        raise InvalidResponseError(
            f"Anthropic's count_tokens reply has no input_tokens: {str(body)[:200]}",
            provider=provider,
        )
    return count


# -- streams ---------------------------------------------------------------------


class StreamParser:
    """Push-style parser for a Messages event stream: feed bytes, get `StreamEvent`s.

    Pure: no I/O, so tests can cut the stream anywhere. An in-stream `error`
    event stops the parser and lands in `error`; the caller yields what was
    returned, then raises it. `done` turns true at `message_stop`.
    """

    def __init__(self, *, provider: str = "anthropic", model: str | None = None) -> None:
        self.provider = provider
        self.model = model
        self.error: LLMError | None = None
        self.done = False
        self._sse = SSEDecoder()
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}
        """Open blocks by index: their type and, for thinking, the text and signature so far."""
        self._tool_index: dict[int, int] = {}
        self._thinking: list[dict[str, Any]] = []

    def feed(self, chunk: bytes | str) -> list[StreamEvent]:
        """Take the next bytes of the stream; return the events they completed."""
        return self._events(self._sse.feed(chunk))

    def flush(self) -> list[StreamEvent]:
        """End of the byte stream: return the events of a last unterminated SSE event."""
        return self._events(self._sse.flush())

    def _events(self, sse_events: Sequence[Any]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for sse in sse_events:
            if self.error is not None:
                break
            try:
                payload = json.loads(sse.data)
            except ValueError:
                self.error = InvalidResponseError(
                    f"Anthropic sent an unparseable stream event: {sse.data[:200]}",
                    provider=self.provider,
                    model=self.model,
                )
                break
            event = self._event(payload)
            if event is not None:
                out.append(event)
        return out

    def _event(self, payload: Mapping[str, Any]) -> StreamEvent | None:
        kind = payload.get("type")
        if kind == "message_start":
            message = payload.get("message") or {}
            self._usage = dict(message.get("usage") or {})
            self.model = message.get("model") or self.model
            return StreamEvent(
                model=message.get("model"),
                id=message.get("id"),
                usage=parse_usage(self._usage),
                raw=payload,
            )
        if kind == "content_block_start":
            return self._block_start(payload.get("index", 0), payload.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(payload.get("index", 0), payload.get("delta") or {}, payload)
        if kind == "content_block_stop":
            return self._block_stop(payload.get("index", 0), payload)
        if kind == "message_delta":
            # Usage in message_delta is cumulative: its fields replace message_start's.
            self._usage.update(payload.get("usage") or {})
            delta = payload.get("delta") or {}
            raw_stop = delta.get("stop_reason") or None
            return StreamEvent(
                refusal=refusal_of(raw_stop, delta.get("stop_details")),
                finish_reason=finish_reason(raw_stop, has_tool_calls=bool(self._tool_index)),
                raw_finish_reason=raw_stop,
                usage=parse_usage(self._usage),
                raw=payload,
            )
        if kind == "message_stop":
            self.done = True
        elif kind == "error":
            self.error = error_from_body(200, payload, provider=self.provider, model=self.model)
        return None  # ping, and event types added after this codec was written

    def _block_start(self, index: int, block: Mapping[str, Any]) -> StreamEvent | None:
        kind = block.get("type")
        self._blocks[index] = {"type": kind, "thinking": [], "signature": "", "block": dict(block)}
        if kind == "tool_use":
            position = self._tool_index.setdefault(index, len(self._tool_index))
            delta = ToolCallDelta(position, id=block.get("id"), name=block.get("name"))
            return StreamEvent(tool_call=delta, raw=block)
        if kind == "text" and block.get("text"):
            return StreamEvent(text=block["text"], raw=block)
        if kind == "thinking" and block.get("thinking"):
            self._blocks[index]["thinking"].append(block["thinking"])
            return StreamEvent(reasoning=block["thinking"], raw=block)
        return None

    def _block_delta(
        self, index: int, delta: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> StreamEvent | None:
        kind = delta.get("type")
        block = self._blocks.setdefault(
            index, {"type": None, "thinking": [], "signature": "", "block": {}}
        )
        if kind == "text_delta":
            return StreamEvent(text=delta.get("text") or "", raw=payload)
        if kind == "thinking_delta":
            block["thinking"].append(delta.get("thinking") or "")
            return StreamEvent(reasoning=delta.get("thinking") or "", raw=payload)
        if kind == "signature_delta":
            block["signature"] += delta.get("signature") or ""
        elif kind == "input_json_delta" and index in self._tool_index:
            fragment = delta.get("partial_json") or ""
            return StreamEvent(tool_call=ToolCallDelta(self._tool_index[index], arguments=fragment))
        return None

    def _block_stop(self, index: int, payload: Mapping[str, Any]) -> StreamEvent | None:
        block = self._blocks.pop(index, None)
        if block is None or block["type"] not in _THINKING_BLOCKS:
            return None
        if block["type"] == "thinking":
            whole = {
                "type": "thinking",
                "thinking": "".join(block["thinking"]),
                "signature": block["signature"] or block["block"].get("signature", ""),
            }
        else:
            whole = dict(block["block"])
        self._thinking.append(whole)
        # The whole list each time: the response builder replaces, it does not append.
        data = {self.provider: {"thinking": list(self._thinking)}}
        return StreamEvent(provider_data=data, raw=payload)
