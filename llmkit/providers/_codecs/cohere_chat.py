"""Cohere's v2 chat API (`POST /v2/chat`) on the wire: params, replies, SSE streams, errors.

Pure functions over JSON dicts; no SDK objects, no I/O. Reference:
https://docs.cohere.com/reference/chat and https://docs.cohere.com/reference/chat-stream

Where Cohere differs from OpenAI's shape:

- the reply's `message.content` is a list of parts: `text`, and `thinking` for
  reasoning models; a `tool_plan` (the model's words before its tool calls) sits
  beside `tool_calls` and is kept in `provider_data["cohere"]["tool_plan"]`, so it
  goes back on the assistant turn;
- `p` is top_p, `stop_sequences` the stop list, `tool_choice` is `REQUIRED`/`NONE`;
- usage is `usage.tokens` (what the model processed), `usage.billed_units` as a
  fallback; Cohere names no model in its reply;
- a stream is SSE with typed events (`message-start`, `content-delta`,
  `tool-plan-delta`, `tool-call-start/delta/end`, `message-end`);
- errors are `{"message": "..."}`; 498 is an invalid key, 499 a cancelled request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from attrs import evolve

from llmkit import errors
from llmkit.errors import LLMError
from llmkit.providers._codecs import parts_openai
from llmkit.providers._codecs._errors_common import (
    error_class,
    excerpt,
    is_context_overflow,
    parse_json_or_text,
)
from llmkit.providers._codecs.sse import SSEDecoder
from llmkit.providers._stream import parse_arguments
from llmkit.retry import header, parse_retry_after
from llmkit.types import (
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
    "FINISH_REASONS",
    "StreamParser",
    "error_from_body",
    "parse_event",
    "parse_reply",
    "to_params",
]

PROVIDER = "cohere"

# https://docs.cohere.com/reference/chat (finish_reason) and the corpus README's table.
FINISH_REASONS = {
    "COMPLETE": FinishReason.STOP,
    "STOP_SEQUENCE": FinishReason.STOP,
    "MAX_TOKENS": FinishReason.LENGTH,
    "TOOL_CALL": FinishReason.TOOL_CALLS,
    "ERROR": FinishReason.ERROR,
    "ERROR_TOXIC": FinishReason.CONTENT_FILTER,
    "ERROR_LIMIT": FinishReason.LENGTH,
    "USER_CANCEL": FinishReason.OTHER,
}

_TOOL_CHOICES = {"required": "REQUIRED", "none": "NONE"}


# -- request ------------------------------------------------------------------


def to_params(
    request: Request, dialect: None = None, *, stream: bool = False, provider: str = PROVIDER
) -> dict[str, Any]:
    """The `/v2/chat` body for `request`; `request.extra` fields win (e.g. `thinking`, `k`).

    Args:
        request: the request.
        dialect: none: Cohere's chat has no dialects (the codec contract's slot).
        stream: the body's `stream` flag.
        provider: the provider's name, for errors.

    Raises:
        InvalidRequestError: for an empty conversation, a `response_format` Cohere
            does not know, or a `tool_choice` naming a tool the request does not offer.
    """
    if not request.messages:
        raise errors.InvalidRequestError(
            "Cohere needs at least one message; add Message.user(...)",
            provider=provider,
            model=request.model,
        )
    params: dict[str, Any] = {"model": request.model, "messages": _messages(request.messages)}
    tools = request.tools
    choice = request.tool_choice
    if choice not in (None, "auto", "none", "required"):
        # Cohere can only force *some* tool: offering just the named one forces that one.
        tools = tuple(t for t in tools if t.name == choice)
        if not tools:
            raise errors.InvalidRequestError(
                f"tool_choice names {choice!r}, which is not among the request's tools",
                provider=provider,
                model=request.model,
            )
        choice = "required"
    if tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in tools
        ]
        if choice in _TOOL_CHOICES:
            params["tool_choice"] = _TOOL_CHOICES[choice]
    values = {
        "temperature": request.temperature,
        "p": request.top_p,
        "max_tokens": request.max_tokens,
        "stop_sequences": list(request.stop) if request.stop else None,
        "seed": request.seed,
        "response_format": _response_format(request.response_format),
    }
    params.update({k: v for k, v in values.items() if v is not None})
    params["stream"] = stream
    params.update(request.extra)
    return params


def _response_format(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not value or value.get("type") == "text":
        return None
    kind = value.get("type")
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        spec = value.get("json_schema") or {}
        return {"type": "json_object", "json_schema": dict(spec.get("schema", spec))}
    raise errors.InvalidRequestError(
        f"response_format type {kind!r} is not one Cohere knows; use json_object or json_schema",
        provider=PROVIDER,
    )


def _messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    return [_message(m) for m in messages]


def _message(message: Message) -> dict[str, Any]:
    if message.role is Role.TOOL:
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.text,
        }
    if message.role is not Role.ASSISTANT:
        return {
            "role": str(message.role),
            "content": parts_openai.content(message.content, host=PROVIDER),
        }
    item: dict[str, Any] = {"role": "assistant"}
    parts: list[dict[str, Any]] = []
    if message.reasoning:
        parts.append({"type": "thinking", "thinking": message.reasoning})
    if message.text:
        parts.append({"type": "text", "text": message.text})
    if parts:
        item["content"] = parts
    if message.tool_calls:
        item["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": call.raw_arguments
                    if call.raw_arguments is not None
                    else json.dumps(call.arguments, separators=(",", ":")),
                },
            }
            for call in message.tool_calls
        ]
        plan = (message.provider_data.get(PROVIDER) or {}).get("tool_plan")
        if plan:
            item["tool_plan"] = plan
    return item


# -- reply --------------------------------------------------------------------


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, Mapping):
        return Usage()
    counts = usage.get("tokens") or usage.get("billed_units") or {}
    return Usage(
        input_tokens=_int(counts.get("input_tokens")),
        output_tokens=_int(counts.get("output_tokens")),
        cached_input_tokens=_int(usage.get("cached_tokens")),
    )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _finish(raw: Any) -> FinishReason:
    return FINISH_REASONS.get(raw, FinishReason.OTHER) if raw else FinishReason.OTHER


def _tool_plan_data(plan: str | None) -> dict[str, Any]:
    return {PROVIDER: {"tool_plan": plan}} if plan else {}


def parse_reply(body: Mapping[str, Any], *, provider: str = PROVIDER) -> Response:
    """A complete `/v2/chat` reply as a `Response` (Cohere names no model: `model` is None).

    Raises:
        InvalidResponseError: when the body is not a chat reply.
    """
    message = body.get("message")
    if not isinstance(message, Mapping):
        raise errors.InvalidResponseError(
            "Cohere's reply has no `message`", provider=provider, body=dict(body)
        )
    text, reasoning = [], []
    for part in message.get("content") or ():
        if part.get("type") == "text":
            text.append(part.get("text") or "")
        elif part.get("type") == "thinking":
            reasoning.append(part.get("thinking") or "")
    calls = []
    for item in message.get("tool_calls") or ():
        function = item.get("function") or {}
        arguments, raw = parse_arguments(function.get("arguments"))
        calls.append(ToolCall(item.get("id"), function.get("name") or "", arguments, raw))
    raw_finish = body.get("finish_reason") or None
    return Response(
        text="".join(text),
        reasoning="".join(reasoning) or None,
        tool_calls=tuple(calls),
        finish_reason=_finish(raw_finish),
        raw_finish_reason=raw_finish,
        usage=_usage(body.get("usage")),
        model=None,
        provider=provider,
        id=body.get("id"),
        provider_data=_tool_plan_data(message.get("tool_plan")),
        raw=dict(body),
    )


# -- stream -------------------------------------------------------------------


def _delta_message(body: Mapping[str, Any]) -> Mapping[str, Any]:
    delta = body.get("delta") or {}
    return delta.get("message") or {}


def parse_event(body: Mapping[str, Any]) -> StreamEvent | None:
    """One stream event as a `StreamEvent`, or None for events that carry nothing llmkit keeps.

    `tool-plan-delta` gives None too: `StreamParser` gathers the plan and hands
    it over with `message-end`.
    """
    kind = body.get("type")
    if kind == "message-start":
        return StreamEvent(id=body.get("id"), raw=dict(body))
    if kind == "content-delta":
        content = _delta_message(body).get("content") or {}
        text, thinking = content.get("text") or "", content.get("thinking") or ""
        return (
            StreamEvent(text=text, reasoning=thinking, raw=dict(body)) if text or thinking else None
        )
    if kind in ("tool-call-start", "tool-call-delta"):
        call = _delta_message(body).get("tool_calls") or {}
        function = call.get("function") or {}
        piece = ToolCallDelta(
            int(body.get("index") or 0),
            id=call.get("id"),
            name=function.get("name"),
            arguments=function.get("arguments") or "",
        )
        return StreamEvent(tool_call=piece, raw=dict(body))
    if kind == "message-end":
        delta = body.get("delta") or {}
        raw_finish = delta.get("finish_reason") or None
        return StreamEvent(
            finish_reason=_finish(raw_finish),
            raw_finish_reason=raw_finish,
            usage=_usage(delta.get("usage")),
            raw=dict(body),
        )
    return None


class StreamParser:
    """Bytes of a `/v2/chat` SSE stream in, `StreamEvent`s out; pure and push-style."""

    def __init__(self, *, provider: str = PROVIDER, model: str | None = None) -> None:
        self.provider = provider
        self.model = model
        self._sse = SSEDecoder()
        self._plan: list[str] = []
        self.done = False
        """Whether `message-end` has arrived."""
        self.error: LLMError | None = None
        """Cohere reports no error inside a stream; kept for the codec contract."""

    def feed(self, chunk: bytes | str) -> list[StreamEvent]:
        """Events completed by `chunk`."""
        return self._events(self._sse.feed(chunk))

    def flush(self) -> list[StreamEvent]:
        """End of stream.

        Raises:
            StreamError: when the stream ended before `message-end`.
        """
        events = self._events(self._sse.flush())
        if not self.done:
            raise errors.StreamError(
                "Cohere's stream ended before its `message-end` event; the reply is "
                "incomplete, retry it",
                provider=self.provider,
                model=self.model,
                retryable=True,
            )
        return events

    def _events(self, sse: list[Any]) -> list[StreamEvent]:
        out = []
        for item in sse:
            if item.data == "[DONE]":
                continue
            try:
                body = json.loads(item.data)
            except ValueError as exc:
                raise errors.InvalidResponseError(
                    f"Cohere sent a stream event that is not JSON ({excerpt(item.data)})",
                    provider=self.provider,
                    model=self.model,
                ) from exc
            if not isinstance(body, Mapping):
                continue
            if body.get("type") == "tool-plan-delta":
                self._plan.append(_delta_message(body).get("tool_plan") or "")
            event = parse_event(body)
            if body.get("type") == "message-end":
                self.done = True
                event = _end_with_plan(event, "".join(self._plan))
            if event is not None:
                out.append(event)
        return out


def _end_with_plan(event: StreamEvent | None, plan: str) -> StreamEvent | None:
    if event is None or not plan:
        return event
    return evolve(event, provider_data=_tool_plan_data(plan))


# -- errors -------------------------------------------------------------------

_COHERE_ERRORS: dict[int, type[LLMError]] = {
    498: errors.AuthenticationError,  # Cohere: invalid token
}


def _error_message(body: object) -> str:
    if isinstance(body, Mapping):
        for key in ("message", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                return str(value["message"])
    if isinstance(body, str | bytes) and body.strip():
        return excerpt(body)  # an HTML page from a proxy: its title, not 60 KB of markup
    return "Cohere returned an error with no message"


def error_from_body(
    status: int,
    body: object,
    headers: Any = None,
    *,
    provider: str = PROVIDER,
    model: str | None = None,
) -> LLMError:
    """The llmkit error for a Cohere error body (`{"message": "..."}`) with HTTP `status`.

    Args:
        status: the HTTP status.
        body: the body as received (bytes or text) or parsed.
        headers: the response headers, for `retry-after` and the request id.
        provider: the provider's name.
        model: the requested model, where known.
    """
    body = parse_json_or_text(body)
    message = _error_message(body)
    lower = message.lower()
    request_id = header(headers, "x-request-id") or header(headers, "x-trace-id")
    retry_after = parse_retry_after(headers) if headers is not None else None
    context: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "status_code": status,
        "request_id": request_id,
        "body": body,
    }
    if status in (400, 413, 422) and is_context_overflow(lower):
        return errors.ContextLengthExceededError(message, **context)
    if status in (401, 498):
        return errors.AuthenticationError(
            f"{message} (check CO_API_KEY, or pass `CohereProvider(api_key=...)`)", **context
        )
    if status == 404:
        if "model" in lower:
            return errors.ModelNotFoundError(
                f"{message} (`CohereProvider().list_models()` lists the models you can use)",
                **context,
            )
        return errors.NotFoundError(message, **context)
    if status == 429:
        return errors.RateLimitError(message, retry_after=retry_after, **context)
    return error_class(status, _COHERE_ERRORS)(message, **context)
