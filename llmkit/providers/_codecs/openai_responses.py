"""OpenAI's Responses API on the wire (`POST /responses`): request params and complete replies.

Pure functions over JSON dicts; no SDK objects, no I/O. Served by OpenAI, Azure
OpenAI, OpenRouter, xAI and DeepSeek. The codec contract (see `_codecs/__init__`):
`to_params(request, dialect)`, `parse_reply(body, provider=...)`, `StreamParser`
(from `openai_responses_stream`) and `error_from_body` (the OpenAI error shapes of
`openai_chat_errors`, plus the `failed` response and the in-stream `error` event).

A conversation goes as `input` items: messages, `function_call` and
`function_call_output` items, and the `reasoning` items of earlier replies.
Leading system prompts become `instructions`. A reply's reasoning items (with
their `encrypted_content` when the request asked for it with
`include: ["reasoning.encrypted_content"]`) are kept in
`Response.provider_data[provider]["items"]`, in output order with the ids of its
message and function-call items, and go back verbatim on the next turn, so a
stateless (`store: false`) conversation keeps the model's reasoning.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llmkit.errors import InvalidRequestError, InvalidResponseError, LLMError
from llmkit.providers._codecs import parts_openai_responses as parts
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.providers._codecs.openai_chat_errors import error_from_body
from llmkit.providers._stream import parse_arguments
from llmkit.types import (
    CachePoint,
    FinishReason,
    Message,
    Request,
    Response,
    Role,
    StreamEvent,
    ToolCall,
    Usage,
)

__all__ = [
    "FINISH_REASONS",
    "Dialect",
    "StreamParser",
    "error_from_body",
    "failure",
    "finish_reason",
    "parse_reply",
    "parse_usage",
    "reasoning_text",
    "replay_items",
    "to_input",
    "to_params",
]

# The corpus README's openai-responses table; `incomplete` is replaced by its reason.
# https://platform.openai.com/docs/api-reference/responses/object#responses/object-status
FINISH_REASONS: dict[str, FinishReason] = {
    "completed": FinishReason.STOP,
    "max_output_tokens": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
    "failed": FinishReason.ERROR,
}

# Fields of an output item the API does not take back as input.
_OUTPUT_ONLY = ("status",)

PartEncoder = Callable[[Any, Role], dict[str, Any]]
"""Encodes one content part of a message as a Responses content part (`input_text`, ...)."""


# -- request --------------------------------------------------------------------


def to_params(
    request: Request, dialect: Dialect | None = None, *, stream: bool = False
) -> dict[str, Any]:
    """The JSON body of a `/responses` call for `request`.

    `request.extra` is merged last (a host-specific field always wins), except that
    a chat-style `reasoning_effort` becomes `reasoning.effort` and `reasoning` is
    merged with it. With `store: false`, reasoning items that carry no
    `encrypted_content` are left out of the history (the host could not find them).

    Raises:
        InvalidRequestError: the request holds what the Responses API has no field for
            (`stop`, `seed`).
    """
    name = dialect.name if dialect is not None else "openai"
    unsupported = [f for f in ("stop", "seed") if getattr(request, f)]
    if request.seed == 0:
        unsupported.append("seed")
    if unsupported:
        raise InvalidRequestError(
            f"the Responses API has no {' or '.join(unsupported)}; remove it, or send with "
            "the Chat Completions API (`api='chat'`)",
            provider=name,
            model=request.model,
        )
    extra = dict(request.extra)
    instructions, messages = _split_instructions(request.messages)
    body: dict[str, Any] = {"model": request.model}
    if instructions:
        body["instructions"] = instructions
    keep_unencrypted = extra.get("store") is not False
    body["input"] = to_input(
        messages, name, keep_unencrypted=keep_unencrypted, encode_part=parts.encode_part
    )
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    if request.tools:
        body["tools"] = [_tool(t.name, t.description, t.parameters) for t in request.tools]
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice)
    if request.response_format is not None:
        body["text"] = {"format": text_format(request.response_format)}
    reasoning = dict(extra.pop("reasoning", None) or {})
    effort = extra.pop("reasoning_effort", None)
    if effort is not None:
        reasoning.setdefault("effort", effort)
    if reasoning:
        body["reasoning"] = reasoning
    if "text" in extra and "text" in body:  # e.g. `text.verbosity` beside a format
        extra["text"] = {**body["text"], **extra["text"]}
    if stream:
        body["stream"] = True
    body.update(extra)
    return body


def _split_instructions(messages: Sequence[Message]) -> tuple[str, list[Message]]:
    """The leading system prompts as `instructions`, and the rest of the conversation."""
    lead = 0
    while lead < len(messages) and messages[lead].role is Role.SYSTEM:
        lead += 1
    texts = [_plain(m) for m in messages[:lead]]
    return "\n\n".join(t for t in texts if t), list(messages[lead:])


def _plain(message: Message) -> str:
    """A message's text; parts other than text have no place here (a clear error)."""
    content: Any = message.content
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if type(part).__name__ != "Text" or not isinstance(getattr(part, "text", None), str):
            raise InvalidRequestError(
                f"the Responses API codec cannot send {type(part).__name__} parts in a "
                f"{message.role} message yet; send text, or use the Chat Completions API "
                "(`api='chat'`)"
            )
        texts.append(part.text)
    return "\n".join(texts)


def text_format(response_format: Mapping[str, Any]) -> dict[str, Any]:
    """A chat-style `response_format` as the Responses API's `text.format`.

    `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}` is flattened
    to `{"type": "json_schema", "name", "schema", "strict"}`; other shapes go as given.
    """
    if response_format.get("type") == "json_schema" and isinstance(
        response_format.get("json_schema"), Mapping
    ):
        return {"type": "json_schema", **response_format["json_schema"]}
    return dict(response_format)


def _tool(name: str, description: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "function", "name": name, "parameters": dict(parameters)}
    if description:
        tool["description"] = description
    return tool


def _tool_choice(choice: str) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "name": choice}


def to_input(
    messages: Sequence[Message],
    provider: str = "openai",
    *,
    keep_unencrypted: bool = True,
    encode_part: PartEncoder | None = None,
) -> list[dict[str, Any]]:
    """The `input` items of a conversation.

    An assistant turn that came from this host (`provider_data[provider]["items"]`)
    goes back as the items it was, reasoning included; any other becomes a
    message and `function_call` items. Tool results become `function_call_output`
    items; one without a `tool_call_id` answers the earliest open call of its name.
    `encode_part` encodes content parts (a message whose content is not a string).
    """
    out: list[dict[str, Any]] = []
    open_calls: list[tuple[str, str]] = []
    for turn, message in enumerate(messages):
        if message.role is Role.ASSISTANT:
            items = _assistant(message, turn, provider, keep_unencrypted)
            open_calls = [
                (i["call_id"], i["name"]) for i in items if i.get("type") == "function_call"
            ]
            out += items
        elif message.role is Role.TOOL:
            call_id = message.tool_call_id
            if call_id is None:
                call_id = _answer_open_call(open_calls, message.name)
            else:
                open_calls = [c for c in open_calls if c[0] != call_id]
            output: Any = _content(message, encode_part)
            out.append({"type": "function_call_output", "call_id": call_id, "output": output})
        else:
            role = "developer" if _is_developer(message, provider) else str(message.role)
            out.append({"role": role, "content": _content(message, encode_part)})
    return out


def _is_developer(message: Message, provider: str) -> bool:
    marks = message.provider_data.get(provider, {})
    return message.role is Role.SYSTEM and marks.get("role") == "developer"


def _content(message: Message, encode_part: PartEncoder | None) -> Any:
    """A message's content: its text, or its parts through `encode_part`."""
    content: Any = message.content
    if isinstance(content, str):
        return content
    if encode_part is None:
        return _plain(message)
    # the Responses API caches prefixes by itself: a CachePoint has no wire form
    return [encode_part(p, message.role) for p in content if not isinstance(p, CachePoint)]


def _assistant(
    message: Message, turn: int, provider: str, keep_unencrypted: bool
) -> list[dict[str, Any]]:
    calls = [
        {
            "type": "function_call",
            "call_id": call.id or f"call_{turn}_{n}",
            "name": call.name,
            "arguments": _arguments_text(call),
        }
        for n, call in enumerate(message.tool_calls)
    ]
    text = _plain(message)
    saved = message.provider_data.get(provider, {}).get("items")
    if not isinstance(saved, list):
        return ([{"role": "assistant", "content": text}] if text else []) + calls
    return replay_items(saved, text, calls, keep_unencrypted=keep_unencrypted)


def replay_items(
    saved: Sequence[Any],
    text: str,
    calls: list[dict[str, Any]],
    *,
    keep_unencrypted: bool = True,
) -> list[dict[str, Any]]:
    """A reply's saved items filled with the turn's (possibly edited) text and calls.

    Reasoning items go verbatim (minus output-only fields); the first message item
    takes the text; function calls take their ids back by `call_id`; calls and text
    the saved items do not hold are appended.
    """
    by_id = {c["call_id"]: c for c in calls}
    out: list[dict[str, Any]] = []
    text_sent = not text
    for item in saved:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "reasoning":
            if keep_unencrypted or item.get("encrypted_content"):
                out.append({k: v for k, v in item.items() if k not in _OUTPUT_ONLY})
        elif kind == "message" and not text_sent:
            content = [{"type": "output_text", "text": text, "annotations": []}]
            wire = {"type": "message", "role": "assistant", "content": content}
            out.append({**({"id": item["id"]} if item.get("id") else {}), **wire})
            text_sent = True
        elif kind == "function_call" and item.get("call_id") in by_id:
            call = by_id.pop(item["call_id"])
            out.append({**call, **({"id": item["id"]} if item.get("id") else {})})
    if not text_sent:
        out.append({"role": "assistant", "content": text})
    out += [c for c in calls if c["call_id"] in by_id]
    return out


def _arguments_text(call: ToolCall) -> str:
    if call.raw_arguments is not None:
        return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False)


def _answer_open_call(open_calls: list[tuple[str, str]], name: str | None) -> str | None:
    for i, (call_id, call_name) in enumerate(open_calls):
        if name is None or call_name == name:
            del open_calls[i]
            return call_id
    return None


# -- reply ----------------------------------------------------------------------


def finish_reason(raw: str | None, has_tool_calls: bool) -> FinishReason:
    """The normalised finish reason; `completed` (or none) with function calls means `tool_calls`."""
    reason = FINISH_REASONS.get(raw, FinishReason.OTHER) if raw else None
    if has_tool_calls and reason in (None, FinishReason.STOP):
        return FinishReason.TOOL_CALLS
    return reason or FinishReason.OTHER


def raw_finish(response: Mapping[str, Any]) -> str | None:
    """The response's `status`, or for an `incomplete` one the reason it gives."""
    status = response.get("status") or None
    if status == "incomplete":
        details = response.get("incomplete_details")
        if isinstance(details, Mapping) and details.get("reason"):
            return str(details["reason"])
    return status if isinstance(status, str) else None


def parse_usage(usage: Any) -> Usage | None:
    """Token counts from a Responses `usage` object (reasoning and cached tokens included)."""
    if not isinstance(usage, Mapping):
        return None
    inputs = usage.get("input_tokens_details")
    outputs = usage.get("output_tokens_details")
    return Usage(
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
        reasoning_tokens=outputs.get("reasoning_tokens") if isinstance(outputs, Mapping) else None,
        cached_input_tokens=inputs.get("cached_tokens") if isinstance(inputs, Mapping) else None,
    )


def reasoning_text(item: Mapping[str, Any]) -> str:
    """A reasoning item's readable text: its summary, else its `reasoning_text` content."""
    for key in ("summary", "content"):
        parts = item.get(key)
        text = "".join(
            p["text"]
            for p in (parts if isinstance(parts, list) else ())
            if isinstance(p, Mapping) and isinstance(p.get("text"), str)
        )
        if text:
            return text
    return ""


def failure(
    response: Mapping[str, Any], *, provider: str, status: int | None = 200
) -> LLMError | None:
    """The error of a `failed` response (or one whose `error` is set), else None."""
    error = response.get("error")
    if not error and response.get("status") != "failed":
        return None
    detail = error if isinstance(error, Mapping) else {"message": str(error or "")}
    if not detail.get("message"):
        detail = {**detail, "message": f"{provider} reports the response failed"}
    model = response.get("model")
    return error_from_body(
        status, {"error": dict(detail)}, provider=provider, model=model if model else None
    )


def saved_items(output: Sequence[Any]) -> list[dict[str, Any]]:
    """What of a reply's output to keep for the next turn: reasoning items whole,
    message and function-call items by id. Empty when there is no reasoning item."""
    if not any(isinstance(i, Mapping) and i.get("type") == "reasoning" for i in output):
        return []
    saved: list[dict[str, Any]] = []
    for item in output:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "reasoning":
            saved.append({k: v for k, v in item.items() if k not in _OUTPUT_ONLY})
        elif kind in ("message", "function_call"):
            keep = {"type": kind, "id": item.get("id")}
            if kind == "function_call":
                keep["call_id"] = item.get("call_id")
            saved.append(keep)
    return saved


def parse_reply(body: Any, *, provider: str) -> Response:
    """A complete `/responses` reply as a `Response`.

    Raises:
        InvalidResponseError: the body is not a response object.
        LLMError: the response failed (`status: failed`, `error` set).
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("output", []), list):
        raise InvalidResponseError(
            f"{provider} sent a reply that is not a Responses API object",
            provider=provider,
            body=body,
        )
    error = failure(body, provider=provider)
    if error is not None:
        raise error
    text: list[str] = []
    reasoning: list[str] = []
    refusal: list[str] = []
    calls: list[ToolCall] = []
    output = body.get("output") or []
    for item in output:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or ():
                if not isinstance(part, Mapping):
                    continue
                if part.get("type") == "output_text":
                    text.append(part.get("text") or "")
                elif part.get("type") == "refusal":
                    refusal.append(part.get("refusal") or "")
        elif kind == "reasoning":
            reasoning.append(reasoning_text(item))
        elif kind == "function_call":
            calls.append(_tool_call(item))
    raw = raw_finish(body)
    finish = finish_reason(raw, bool(calls))
    if "".join(refusal) and not (text or calls) and finish is FinishReason.STOP:
        finish = FinishReason.CONTENT_FILTER  # as for chat: only a refusal
    saved = saved_items(output)
    return Response(
        text="".join(text),
        reasoning="".join(reasoning) or None,
        refusal="".join(refusal) or None,
        tool_calls=tuple(calls),
        finish_reason=finish,
        raw_finish_reason=raw,
        usage=parse_usage(body.get("usage")) or Usage(),
        model=body.get("model") or None,
        provider=provider,
        id=body.get("id") or None,
        provider_data={provider: {"items": saved}} if saved else {},
        raw=body,
    )


def _tool_call(item: Mapping[str, Any]) -> ToolCall:
    raw = item.get("arguments")
    if isinstance(raw, Mapping):
        arguments, text = dict(raw), None
    else:
        arguments, text = parse_arguments(raw)
    call_id = item.get("call_id") or item.get("id") or None
    return ToolCall(call_id, item.get("name") or "", arguments, raw_arguments=text)


# -- stream ---------------------------------------------------------------------


class StreamParser:
    """The codec contract's stream parser: body bytes in, `StreamEvent`s out; no I/O.

    Server-sent events decoded and handed to `ResponsesEvents` (in
    `openai_responses_stream`). `done` once a terminal event (`response.completed`,
    `response.incomplete`) arrived; `error` once `response.failed` or an `error`
    event did. `flush()` raises a `StreamError` for a stream cut short.
    """

    def __init__(self, *, provider: str, model: str | None = None, status: int = 200) -> None:
        from llmkit.providers._codecs.openai_responses_stream import ResponsesEvents
        from llmkit.providers._codecs.sse import SSEDecoder

        self.provider = provider
        self.model = model
        self._decoder = SSEDecoder()
        self._events = ResponsesEvents(provider=provider, model=model, status=status)

    @property
    def done(self) -> bool:
        """The terminal event arrived: the reply is complete (later bytes are ignored)."""
        return self._events.done

    @property
    def error(self) -> LLMError | None:
        """The error the host reported inside the stream, once it has."""
        return self._events.error

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """The events the chunk completed.

        Raises:
            InvalidResponseError: an event's data is not a JSON object.
        """
        if self._events.done or self._events.error is not None:
            return []
        out: list[StreamEvent] = []
        for sse in self._decoder.feed(chunk):
            out += self._events.feed(sse.data)
        return out

    def flush(self) -> list[StreamEvent]:
        """End of the body: the last events.

        Raises:
            LLMError: the error the host reported inside the stream.
            StreamError: the stream stopped before its terminal event.
        """
        out: list[StreamEvent] = []
        if not (self._events.done or self._events.error is not None):
            for sse in self._decoder.flush():
                out += self._events.feed(sse.data)
        return out + self._events.finish()
