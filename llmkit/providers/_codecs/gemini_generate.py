"""Gemini `generateContent` on the wire: params, replies, stream chunks, error bodies.

Pure functions over JSON dicts; no SDK objects, no I/O. The rules follow the
Gemini API reference (ai.google.dev/api/generate-content) and the recorded
traffic of `../shared/conformance` (the corpus wins where the two disagree):

- roles are `user` and `model`; the system prompt is `systemInstruction`;
- function calls may come without an id: one is minted from the reply's
  `responseId` and the call's position (deterministic, so a complete and a
  streamed reply agree), sent back on the `functionCall` and its
  `functionResponse`, which Gemini also pairs by name and order;
- a part's `thoughtSignature` must go back inside that same part (Gemini 3
  refuses function calling without it:
  ai.google.dev/gemini-api/docs/thought-signatures). The model's parts are
  kept in `provider_data[<provider>]["parts"]` and sent back as they came.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from llmkit.errors import InvalidRequestError, InvalidResponseError, LLMError
from llmkit.providers._codecs import parts_gemini
from llmkit.providers._codecs.gemini_generate_errors import error_from_body
from llmkit.providers._codecs.sse import SSEDecoder
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
    "MINTED_ID_PREFIX",
    "SKIP_SIGNATURE",
    "StreamParser",
    "coalesce_parts",
    "error_from_body",
    "finish_reason",
    "is_minted_id",
    "mint_call_id",
    "model_path",
    "parse_chunk",
    "parse_count_tokens",
    "parse_reply",
    "parse_usage",
    "to_count_tokens_params",
    "to_params",
]

MINTED_ID_PREFIX = "gemini-call-"
"""Ids llmkit made up for calls Gemini sent without one start with this."""
SKIP_SIGNATURE = "c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I="
"""base64 of `skip_thought_signature_validator`: Google's documented stand-in signature for
function calls Gemini did not make (history from another host), which Gemini 3 requires."""

_FINISH = {
    "STOP": FinishReason.STOP,
    "MAX_TOKENS": FinishReason.LENGTH,
    **dict.fromkeys(
        (
            "SAFETY",
            "RECITATION",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
            "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT",
            "IMAGE_RECITATION",
            "BLOCK_REASON_UNSPECIFIED",
        ),
        FinishReason.CONTENT_FILTER,
    ),
    **dict.fromkeys(
        ("MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"),
        FinishReason.ERROR,
    ),
}
_TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
# -- request ---------------------------------------------------------------------


def to_params(
    request: Request, dialect: None = None, *, stream: bool = False, provider: str = "gemini"
) -> dict[str, Any]:
    """The JSON body of `models/<model>:generateContent` for `request`.

    The body is the same streamed or not (Gemini streams by URL:
    `:streamGenerateContent?alt=sse`), so `stream` changes nothing; `dialect` is
    the codec contract's slot (Gemini has none).

    `extra` fields are merged last and win; an `extra["generationConfig"]` is
    merged into llmkit's own one key at a time (so `thinkingConfig` can be added).

    Raises:
        InvalidRequestError: the request has no message at all, or a tool result
            whose function name cannot be found.
    """
    system, contents = _to_contents(request, provider=provider)
    params: dict[str, Any] = {"contents": contents}
    if system:
        params["systemInstruction"] = {"parts": [{"text": system}]}
    if request.tools:
        declarations = [_to_declaration(t.name, t.description, t.parameters) for t in request.tools]
        params["tools"] = [{"functionDeclarations": declarations}]
    if request.tool_choice is not None:
        params["toolConfig"] = {"functionCallingConfig": _to_tool_choice(request.tool_choice)}
    config = _generation_config(request)
    extra = dict(request.extra)
    config.update(extra.pop("generationConfig", None) or {})
    if config:
        params["generationConfig"] = config
    params.update(extra)
    return params


def to_count_tokens_params(request: Request, *, provider: str = "gemini") -> dict[str, Any]:
    """The JSON body of `models/<model>:countTokens`: the whole request, as Gemini counts it."""
    params = to_params(request, provider=provider)
    if set(params) == {"contents"}:
        return params
    # countTokens takes only `contents`, or the full request under `generateContentRequest`.
    return {"generateContentRequest": {"model": model_path(request.model), **params}}


def model_path(model: str) -> str:
    """`models/<id>` for a bare model id (ids already prefixed are left alone)."""
    return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"


def _generation_config(request: Request) -> dict[str, Any]:
    config: dict[str, Any] = {
        k: v
        for k, v in (
            ("temperature", request.temperature),
            ("topP", request.top_p),
            ("maxOutputTokens", request.max_tokens),
            ("stopSequences", list(request.stop) if request.stop else None),
            ("seed", request.seed),
        )
        if v is not None
    }
    if request.response_format is not None:
        config["responseMimeType"] = "application/json"
        if request.response_format.get("type") == "json_schema":
            spec = request.response_format.get("json_schema") or {}
            config["responseJsonSchema"] = spec.get("schema", spec)
    return config


def _to_declaration(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    # parametersJsonSchema takes full JSON Schema; `parameters` only an OpenAPI subset.
    declaration: dict[str, Any] = {"name": name, "parametersJsonSchema": schema}
    if description:
        declaration["description"] = description
    return declaration


def _to_tool_choice(choice: str) -> dict[str, Any]:
    if choice in _TOOL_MODES:
        return {"mode": _TOOL_MODES[choice]}
    return {"mode": "ANY", "allowedFunctionNames": [choice]}


def _to_contents(request: Request, *, provider: str) -> tuple[str, list[dict[str, Any]]]:
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    names: dict[str | None, str] = {}
    needs_signature = _requires_signatures(request.model)
    for message in request.messages:
        if message.role is Role.SYSTEM:
            if message.text:
                system.append(message.text)
            continue
        if message.role is Role.ASSISTANT:
            names.update({c.id: c.name for c in message.tool_calls})
            role, parts = "model", _model_parts(message, provider, needs_signature)
        elif message.role is Role.TOOL:
            result = _function_response(message, names, provider=provider, model=request.model)
            role, parts = "user", [result, *parts_gemini.media_parts(message.content)]
        else:
            role, parts = "user", parts_gemini.parts(message.content, provider=provider)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)  # parallel results belong in one turn
        else:
            contents.append({"role": role, "parts": parts})
    if not contents and not system:
        raise InvalidRequestError(
            "Gemini needs a system prompt or at least one turn; add Message.user(...)",
            provider=provider,
            model=request.model,
        )
    if not contents or contents[0]["role"] != "user":
        # Contents must open with a user turn, even when the system prompt says it all
        # (pydantic-ai models/google.py sends the same empty user part).
        contents.insert(0, {"role": "user", "parts": [{"text": ""}]})
    return "\n\n".join(system), contents


def _requires_signatures(model: str) -> bool:
    found = re.search(r"gemini-(\d+)", model)
    return found is not None and int(found.group(1)) >= 3


def _model_parts(message: Message, provider: str, needs_signature: bool) -> list[dict[str, Any]]:
    """A model turn's parts: as Gemini sent them when they still match the message."""
    data = message.provider_data.get(provider)
    stored = data.get("parts") if isinstance(data, Mapping) else None
    if stored and _matches(stored, message):
        return [dict(p) for p in stored]
    parts = parts_gemini.parts(message.content, provider=provider)
    for position, call in enumerate(message.tool_calls):
        part: dict[str, Any] = {"functionCall": _function_call(call)}
        if needs_signature and position == 0:
            part["thoughtSignature"] = SKIP_SIGNATURE
        parts.append(part)
    return parts


def _matches(parts: Sequence[Mapping[str, Any]], message: Message) -> bool:
    """Whether stored parts still say what the message says (the caller may have edited it)."""
    text = "".join(p.get("text") or "" for p in parts if "text" in p and not p.get("thought"))
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    return text == message.text and [(c.get("name"), c.get("args") or {}) for c in calls] == [
        (c.name, c.arguments) for c in message.tool_calls
    ]


def _function_call(call: ToolCall) -> dict[str, Any]:
    body: dict[str, Any] = {"name": call.name, "args": call.arguments}
    if call.id:
        body["id"] = call.id
    return body


def _function_response(
    message: Message, names: Mapping[str | None, str], *, provider: str, model: str
) -> dict[str, Any]:
    name = message.name or names.get(message.tool_call_id)
    if not name:
        raise InvalidRequestError(
            "Gemini pairs a tool result with its call by function name: give "
            "Message.tool(..., name=...) or keep the assistant turn that made the call",
            provider=provider,
            model=model,
        )
    try:
        value = json.loads(message.text)
    except ValueError:
        value = None
    # "output" is the key Gemini documents for a function's result (FunctionResponse.response).
    response = value if isinstance(value, dict) else {"output": message.text}
    body: dict[str, Any] = {"name": name, "response": response}
    if message.tool_call_id:
        body["id"] = message.tool_call_id
    return {"functionResponse": body}


# -- replies ---------------------------------------------------------------------


def finish_reason(raw: str | None, *, has_tool_calls: bool = False) -> FinishReason:
    """The normalised finish reason for Gemini's `finishReason` (corpus README table)."""
    mapped = _FINISH.get(raw or "", FinishReason.OTHER)
    if has_tool_calls and (not raw or mapped is FinishReason.STOP):
        return FinishReason.TOOL_CALLS
    return mapped


def parse_usage(metadata: Mapping[str, Any] | None) -> Usage:
    """Usage from `usageMetadata`: thoughts count as output and as reasoning; absent counts are 0."""
    if not metadata:
        return Usage()
    thoughts = metadata.get("thoughtsTokenCount", 0)
    return Usage(
        input_tokens=metadata.get("promptTokenCount", 0),
        output_tokens=metadata.get("candidatesTokenCount", 0) + thoughts,
        reasoning_tokens=thoughts,
        cached_input_tokens=metadata.get("cachedContentTokenCount", 0),
    )


def mint_call_id(response_id: str | None, position: int, name: str) -> str:
    """A deterministic id for the `position`-th call of a reply that gave none."""
    digest = hashlib.sha256(f"{response_id}|{position}|{name}".encode()).hexdigest()[:16]
    return f"{MINTED_ID_PREFIX}{digest}"


def is_minted_id(call_id: str | None) -> bool:
    """Whether `call_id` was made up by llmkit rather than sent by Gemini."""
    return bool(call_id and call_id.startswith(MINTED_ID_PREFIX))


def parse_chunk(
    body: Mapping[str, Any], *, first_call: int = 0, provider: str = "gemini"
) -> tuple[list[StreamEvent], list[dict[str, Any]]]:
    """One reply (or stream chunk) as `StreamEvent`s, plus its first candidate's parts.

    One event per function call (the first also carries the text); the last
    event carries the finish reason and usage.

    Args:
        first_call: how many calls earlier chunks of the same reply held (call numbering).

    Raises:
        LLMError: the chunk is an error payload.
    """
    if "error" in body:
        raise error_from_body(200, body, provider=provider)
    candidates = body.get("candidates") or []
    candidate = candidates[0] if candidates else {}
    parts = list((candidate.get("content") or {}).get("parts") or [])
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCallDelta] = []
    for part in parts:
        if "text" in part:
            (reasoning if part.get("thought") else text).append(part["text"] or "")
        elif isinstance(part.get("functionCall"), Mapping):
            calls.append(_call_delta(part["functionCall"], body, first_call + len(calls)))
    raw = candidate.get("finishReason") or None
    if raw is None and not candidates:
        raw = (body.get("promptFeedback") or {}).get("blockReason") or None
    events = [
        StreamEvent(
            text="".join(text),
            reasoning="".join(reasoning),
            tool_call=calls[0] if calls else None,
            model=body.get("modelVersion"),
            id=body.get("responseId"),
            raw=body,
        ),
        *(StreamEvent(tool_call=call) for call in calls[1:]),
    ]
    events[-1] = attrs.evolve(
        events[-1],
        finish_reason=None if raw is None else finish_reason(raw),
        raw_finish_reason=raw,
        usage=parse_usage(body["usageMetadata"]) if "usageMetadata" in body else None,
    )
    return events, parts


def _call_delta(call: Mapping[str, Any], body: Mapping[str, Any], position: int) -> ToolCallDelta:
    name = call.get("name") or ""
    call_id = call.get("id") or mint_call_id(body.get("responseId"), position, name)
    arguments = json.dumps(call.get("args") or {})
    return ToolCallDelta(position, id=call_id, name=name, arguments=arguments)


def coalesce_parts(parts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Parts with runs of text merged (streams split text into many parts).

    Text parts of the same kind (thought or not) merge; a part's signature
    stays on the merged part, and a signed part never absorbs a later one, so
    each signature still sits in the part it came with.
    """
    merged: list[dict[str, Any]] = []
    for part in parts:
        last = merged[-1] if merged else None
        if (
            last is not None
            and set(part) <= {"text", "thought", "thoughtSignature"}
            and set(last) <= {"text", "thought", "thoughtSignature"}
            and "text" in part
            and "text" in last
            and bool(part.get("thought")) == bool(last.get("thought"))
            and "thoughtSignature" not in last
        ):
            last["text"] += part["text"] or ""
            if "thoughtSignature" in part:
                last["thoughtSignature"] = part["thoughtSignature"]
            continue
        merged.append(dict(part))
    return merged


def _provider_data(parts: Sequence[Mapping[str, Any]], provider: str) -> dict[str, Any]:
    """`{provider: {"parts": ...}}` when a part carries a signature that must go back."""
    if not any("thoughtSignature" in p for p in parts):
        return {}
    return {provider: {"parts": coalesce_parts(parts)}}


def parse_reply(body: Mapping[str, Any], *, provider: str = "gemini") -> Response:
    """A `Response` from the JSON body of a non-streamed `generateContent` reply.

    Raises:
        InvalidResponseError: the body is not a generateContent reply.
        LLMError: the body is an error payload.
    """
    if not isinstance(body, Mapping):
        raise InvalidResponseError(
            f"Gemini sent a non-object reply: {str(body)[:200]}", provider=provider
        )
    events, parts = parse_chunk(body, provider=provider)
    calls = [
        ToolCall(e.tool_call.id, e.tool_call.name or "", json.loads(e.tool_call.arguments))
        for e in events
        if e.tool_call is not None
    ]
    head, last = events[0], events[-1]
    return Response(
        text=head.text,
        reasoning=head.reasoning or None,
        tool_calls=tuple(calls),
        finish_reason=finish_reason(last.raw_finish_reason, has_tool_calls=bool(calls)),
        raw_finish_reason=last.raw_finish_reason,
        usage=last.usage or Usage(),
        model=head.model,
        provider=provider,
        id=head.id,
        provider_data=_provider_data(parts, provider),
        raw=body,
    )


def parse_count_tokens(body: Mapping[str, Any], *, provider: str = "gemini") -> int:
    """The `totalTokens` of a `countTokens` reply."""
    count = body.get("totalTokens") if isinstance(body, Mapping) else None
    if not isinstance(count, int):
        raise InvalidResponseError(
            f"Gemini's countTokens reply has no totalTokens: {str(body)[:200]}", provider=provider
        )
    return count


# -- streams ---------------------------------------------------------------------


class StreamParser:
    """Push-style parser for `streamGenerateContent?alt=sse`: feed bytes, get `StreamEvent`s.

    Pure: no I/O. Each SSE event is one `GenerateContentResponse` chunk; usage
    is cumulative in every chunk. An error chunk stops the parser and lands in
    `error`; the caller yields what was returned, then raises it.
    """

    def __init__(self, *, provider: str = "gemini", model: str | None = None) -> None:
        self.provider = provider
        self.model = model
        self.error: LLMError | None = None
        self.done = False
        """Whether a chunk carried a finish reason (Gemini's stream has no other end marker)."""
        self._sse = SSEDecoder()
        self._calls = 0
        self._parts: list[dict[str, Any]] = []

    def feed(self, chunk: bytes | str) -> list[StreamEvent]:
        """Take the next bytes of the stream; return the events they completed."""
        return self._events(self._sse.feed(chunk))

    def flush(self) -> list[StreamEvent]:
        """End of the byte stream: the events of a last unterminated SSE event."""
        return self._events(self._sse.flush())

    def _events(self, sse_events: Sequence[Any]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for sse in sse_events:
            if self.error is not None:
                break
            if sse.data.strip() == "[DONE]":
                continue
            try:
                body = json.loads(sse.data)
                if isinstance(body, list):  # an error array, as Gemini sends outside SSE
                    body = body[0] if body else {}
                events, parts = parse_chunk(body, first_call=self._calls, provider=self.provider)
            except LLMError as exc:
                self.error = exc
                exc.model = exc.model or self.model
                break
            except (ValueError, AttributeError, TypeError):
                self.error = InvalidResponseError(
                    f"Gemini sent an unparseable stream chunk: {sse.data[:200]}",
                    provider=self.provider,
                    model=self.model,
                )
                break
            out.extend(self._take(events, parts))
        return out

    def _take(self, events: list[StreamEvent], parts: list[dict[str, Any]]) -> list[StreamEvent]:
        self._calls += sum(1 for e in events if e.tool_call is not None)
        self.done = self.done or events[-1].finish_reason is not None
        before = _provider_data(self._parts, self.provider)
        self._parts.extend(parts)
        after = _provider_data(self._parts, self.provider)
        if after and after != before:
            # The whole list each time: the response builder replaces, it does not append.
            events.append(StreamEvent(provider_data=after))
        return events
