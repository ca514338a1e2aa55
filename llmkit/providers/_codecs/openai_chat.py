"""OpenAI Chat Completions on the wire: request params and complete replies.

Pure functions over JSON dicts; no SDK objects, no I/O. Shared by every
OpenAI-compatible provider (OpenAI, Groq, OpenRouter, DeepSeek, Mistral, and
any server with `/chat/completions`): a fix here fixes them all at once.
What differs between hosts is data, a frozen `Dialect`; model-family rules
(reasoning models, system folding, `<think>` splitting) live in
`llmkit.clients`, not here: this codec sends what the `Request` holds.

The codec contract (every module in `_codecs/` exports the same four names):
`to_params(request, dialect)`, `parse_reply(body, provider=...)`, `StreamParser`
(bytes in, `StreamEvent`s out: the SSE decoder and `ChatStreamParser` of
`openai_chat_stream`), and `error_from_body` (from `openai_chat_errors`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from attrs import frozen

from llmkit.errors import InvalidRequestError, InvalidResponseError, LLMError, StreamError
from llmkit.providers._codecs import parts_openai
from llmkit.providers._codecs.openai_chat_errors import error_from_body
from llmkit.providers._stream import parse_arguments
from llmkit.types import (
    Cost,
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
    "finish_reason",
    "parse_completion",
    "parse_content",
    "parse_cost",
    "parse_reply",
    "parse_tool_calls",
    "parse_usage",
    "reasoning_of",
    "to_messages",
    "to_params",
]

ReasoningField = Literal["reasoning_content", "reasoning"]

# The corpus README's openai-chat table: https://platform.openai.com/docs/api-reference/chat/object
FINISH_REASONS: dict[str, FinishReason] = {
    "stop": FinishReason.STOP,
    "eos": FinishReason.STOP,
    "end_turn": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "model_length": FinishReason.LENGTH,
    "max_tokens": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
    "content_filter": FinishReason.CONTENT_FILTER,
    "error": FinishReason.ERROR,
}

# Extra body fields Groq answers with a 400: https://console.groq.com/docs/openai
GROQ_REFUSED = ("logprobs", "top_logprobs", "logit_bias")

_MISTRAL_ID = re.compile(r"[A-Za-z0-9]{9}")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@frozen
class Dialect:
    """How one host's OpenAI-compatible API differs from OpenAI's: configuration, not code."""

    name: str = "openai-compatible"
    """The provider name, used in errors and as the `provider_data` key."""
    reasoning_field: ReasoningField | None = None
    """Where an assistant turn's `reasoning` goes back (None: withheld)."""
    reasoning_on_tool_turns_only: bool = False
    """Send reasoning back only on assistant turns that made tool calls."""
    empty_reasoning_on_tool_turns: bool = False
    """Send `reasoning_field: ""` on assistant turns with tool calls but no reasoning
    (DeepSeek's thinking mode answers 400 when it is missing; history from another host)."""
    send_reasoning_details: bool = False
    """Send `provider_data[name]["reasoning_details"]` back on assistant turns (OpenRouter)."""
    max_tokens_param: str = "max_tokens"
    seed_param: str = "seed"
    stream_usage: bool = True
    """Ask for usage on the last stream chunk with `stream_options.include_usage`."""
    tool_call_ids: Literal["any", "mistral"] = "any"
    """`mistral`: ids must be exactly 9 characters of [a-zA-Z0-9]; others are re-keyed."""
    refused_params: tuple[str, ...] = ()
    """Body fields the host rejects; a request carrying them fails before it is sent."""
    single_choice_only: bool = False
    """The host rejects `n` other than 1."""
    refuses_message_names: bool = False
    """The host rejects `name` on messages."""


# -- request --------------------------------------------------------------------


def to_params(request: Request, dialect: Dialect, *, stream: bool = False) -> dict[str, Any]:
    """The JSON body of a `/chat/completions` call for `request` on the host `dialect` describes.

    `request.extra` is merged last, so a host-specific field always wins.

    Raises:
        InvalidRequestError: the request holds something the host is known to reject.
    """
    body: dict[str, Any] = {"model": request.model, "messages": to_messages(request, dialect)}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.max_tokens is not None:
        body[dialect.max_tokens_param] = request.max_tokens
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body[dialect.seed_param] = request.seed
    if request.tools:
        body["tools"] = [
            _tool(spec.name, spec.description, spec.parameters) for spec in request.tools
        ]
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice)
    if request.response_format is not None:
        body["response_format"] = request.response_format
    if stream:
        body["stream"] = True
        if dialect.stream_usage:
            body["stream_options"] = {"include_usage": True}
    body.update(parts_openai.cache_params(request, dialect.name))
    body.update(request.extra)
    _refuse_unsupported(body, request, dialect)
    return body


def _tool(name: str, description: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, "parameters": dict(parameters)}
    if description:
        function["description"] = description
    return {"type": "function", "function": function}


def _tool_choice(choice: str) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _refuse_unsupported(body: Mapping[str, Any], request: Request, dialect: Dialect) -> None:
    refused = [p for p in dialect.refused_params if body.get(p) not in (None, False)]
    if dialect.single_choice_only and body.get("n", 1) != 1:
        refused.append(f"n={body['n']}")
    if dialect.refuses_message_names and any(
        m.get("name") for m in body["messages"] if m.get("role") != "tool"
    ):
        refused.append("messages[].name")
    if refused:
        raise InvalidRequestError(
            f"{dialect.name} does not support {', '.join(refused)}; "
            "remove it from the request (or its `extra`) before sending",
            provider=dialect.name,
            model=request.model,
        )


def to_messages(request: Request, dialect: Dialect) -> list[dict[str, Any]]:
    """The `messages` array: roles, text, tool calls and results, reasoning where the host wants it.

    Calls without an id get one (`call_<turn>_<n>`) and results without one answer
    the earliest open call of the same name, so hosts that demand ids accept the turn.
    """
    out: list[dict[str, Any]] = []
    open_calls: list[tuple[str, str]] = []  # (id, name) of calls not answered yet
    for turn, message in enumerate(request.messages):
        if message.role is Role.ASSISTANT:
            wire = _assistant(message, turn, dialect)
            open_calls = [(c["id"], c["function"]["name"]) for c in wire.get("tool_calls", ())]
        elif message.role is Role.TOOL:
            call_id = message.tool_call_id
            if call_id is None:
                call_id = _answer_open_call(open_calls, message.name)
            else:
                open_calls = [c for c in open_calls if c[0] != _wire_id(call_id, dialect)]
            wire = {
                "role": "tool",
                "tool_call_id": _wire_id(call_id, dialect) if call_id else call_id,
                "content": message.text,
            }
        else:
            content = parts_openai.content(message.content, host=dialect.name)
            wire = {"role": _role(message, dialect), "content": content}
            if message.name:
                wire["name"] = message.name
        out.append(wire)
    return out


def _role(message: Message, dialect: Dialect) -> str:
    """The wire role; a system prompt a client marked for OpenAI's `developer` role goes as such."""
    if (
        message.role is Role.SYSTEM
        and message.provider_data.get(dialect.name, {}).get("role") == "developer"
    ):
        return "developer"
    return str(message.role)


def _assistant(message: Message, turn: int, dialect: Dialect) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": "assistant", "content": message.text or None}
    if message.name:
        wire["name"] = message.name
    if message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": _wire_id(call.id or f"call_{turn}_{n}", dialect),
                "type": "function",
                "function": {"name": call.name, "arguments": _arguments_text(call)},
            }
            for n, call in enumerate(message.tool_calls)
        ]
    wants_reasoning = message.tool_calls or not dialect.reasoning_on_tool_turns_only
    if dialect.reasoning_field and message.reasoning is not None and wants_reasoning:
        wire[dialect.reasoning_field] = message.reasoning
    elif dialect.reasoning_field and message.tool_calls and dialect.empty_reasoning_on_tool_turns:
        wire[dialect.reasoning_field] = ""
    if dialect.send_reasoning_details:
        details = message.provider_data.get(dialect.name, {}).get("reasoning_details")
        if details:
            wire["reasoning_details"] = details
    return wire


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


def _wire_id(call_id: str, dialect: Dialect) -> str:
    """The id as the host accepts it; Mistral's 9 alphanumerics, by a stable hash."""
    if dialect.tool_call_ids != "mistral" or _MISTRAL_ID.fullmatch(call_id):
        return call_id
    # Mistral rejects other ids ("must be a-z, A-Z, 0-9, with a length of 9"):
    # https://github.com/anomalyco/opencode/issues/1680 . Hashing keeps a call and
    # its result paired, and the same conversation re-keyed the same way each time.
    number = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


# -- reply ----------------------------------------------------------------------


def finish_reason(raw: str | None, has_tool_calls: bool) -> FinishReason:
    """The normalised finish reason; a `stop` (or none) with tool calls means `tool_calls`."""
    reason = FINISH_REASONS.get(raw, FinishReason.OTHER) if raw else None
    if has_tool_calls and reason in (None, FinishReason.STOP):
        return FinishReason.TOOL_CALLS
    return reason or FinishReason.OTHER


def parse_usage(usage: Mapping[str, Any] | None) -> Usage | None:
    """Token counts from a `usage` object (OpenAI, DeepSeek and Groq spellings)."""
    if not isinstance(usage, Mapping):
        return None
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    cached = prompt.get("cached_tokens") if isinstance(prompt, Mapping) else None
    if cached is None:  # DeepSeek's name for it, then Mistral's
        cached = usage.get("prompt_cache_hit_tokens", usage.get("num_cached_tokens"))
    reasoning = completion.get("reasoning_tokens") if isinstance(completion, Mapping) else None
    return Usage(
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        reasoning_tokens=reasoning,
        cached_input_tokens=cached,
    )


def parse_cost(usage: Any) -> Cost | None:
    """The cost the host reported (OpenRouter's `usage.cost`, USD), if any."""
    if not isinstance(usage, Mapping):
        return None
    cost = usage.get("cost")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        return Cost(total=float(cost), source="host")
    return None


def parse_content(content: Any) -> tuple[str, str]:
    """`(text, reasoning)` from a `content` value: a string, or Mistral's list of chunks.

    Any other JSON value (Cloudflare Workers AI answers structured output with the
    object itself) becomes its JSON text, so nothing the host said is dropped.
    """
    if content is None:
        return "", ""
    if isinstance(content, str):
        return content, ""
    if not _is_parts(content):
        return json.dumps(content, ensure_ascii=False), ""
    text: list[str] = []
    reasoning: list[str] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            text.append(part.get("text") or "")
        elif kind == "thinking":
            # Mistral reasoning models: https://docs.mistral.ai/capabilities/reasoning/
            for inner in part.get("thinking") or ():
                if isinstance(inner, Mapping) and inner.get("type") == "text":
                    reasoning.append(inner.get("text") or "")
    return "".join(text), "".join(reasoning)


def _is_parts(content: Any) -> bool:
    """Whether `content` is a list of typed content parts (`[{"type": "text", ...}, ...]`)."""
    return isinstance(content, list) and all(
        isinstance(part, Mapping) and isinstance(part.get("type"), str) for part in content
    )


def refusal_of(message: Mapping[str, Any]) -> str | None:
    """OpenAI's `refusal` (a message's or a delta's), when it holds text."""
    value = message.get("refusal")
    return value if isinstance(value, str) and value else None


def reasoning_of(message: Mapping[str, Any]) -> str:
    """`reasoning_content` if it is non-empty, else `reasoning`; never both (hosts echo one in the other)."""
    value = message.get("reasoning_content")
    if not (isinstance(value, str) and value):
        value = message.get("reasoning")
    return value if isinstance(value, str) else ""


def parse_tool_calls(message: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    """The tool calls of a complete message (a legacy `function_call` when there are none)."""
    calls = message.get("tool_calls") or ()
    if not calls and isinstance(message.get("function_call"), Mapping):
        calls = [{"id": None, "function": message["function_call"]}]
    result = []
    for call in calls:
        function = call.get("function") or {}
        raw = function.get("arguments")
        if isinstance(raw, Mapping):
            arguments, text = dict(raw), None
        else:
            arguments, text = parse_arguments(raw)
        result.append(
            ToolCall(
                call.get("id") or None, function.get("name") or "", arguments, raw_arguments=text
            )
        )
    return tuple(result)


def parse_reply(body: Any, *, provider: str) -> Response:
    """A complete `/chat/completions` reply as a `Response` (the first choice only).

    A reply that holds only a refusal (`message.refusal`) has finish reason
    `content_filter`; `raw_finish_reason` keeps the host's word.

    Raises:
        InvalidResponseError: the body is not a chat completion.
    """
    if not isinstance(body, Mapping):
        raise InvalidResponseError(
            f"{provider} sent a reply that is not a JSON object", provider=provider, body=body
        )
    choices = body.get("choices")
    if not isinstance(choices, Sequence) or not choices:
        raise InvalidResponseError(
            f"{provider} sent a reply without choices", provider=provider, body=body
        )
    choice = choices[0]
    message = choice.get("message") or {}
    text, thinking = parse_content(message.get("content"))
    reasoning = reasoning_of(message) + thinking
    calls = parse_tool_calls(message)
    refusal = refusal_of(message)
    raw_finish = choice.get("finish_reason") or None
    finish = finish_reason(raw_finish, bool(calls))
    if refusal and not (text or calls) and finish is FinishReason.STOP:
        finish = FinishReason.CONTENT_FILTER
    provider_data: dict[str, Any] = {}
    if message.get("reasoning_details"):
        provider_data[provider] = {"reasoning_details": message["reasoning_details"]}
    return Response(
        text=text,
        reasoning=reasoning or None,
        refusal=refusal,
        tool_calls=calls,
        finish_reason=finish,
        raw_finish_reason=raw_finish,
        usage=parse_usage(body.get("usage")) or Usage(),
        model=body.get("model") or None,
        provider=provider,
        id=body.get("id") or None,
        cost=parse_cost(body.get("usage")),
        provider_data=provider_data,
        raw=body,
    )


parse_completion = parse_reply
"""The former name of `parse_reply`."""


# -- stream ---------------------------------------------------------------------


class StreamParser:
    """The codec contract's stream parser: body bytes in, `StreamEvent`s out; no I/O.

    Decodes server-sent events and hands each to `ChatStreamParser`. A network
    chunk that is exactly one `data:` event (the common case) skips the SSE
    decoder. After `[DONE]` (or an error) later bytes are read and ignored, so the
    caller can drain the body and its pooled connection is reused. `flush()` at the
    end of the body returns the last events or raises what the stream ended with:
    the host's in-stream error, a `StreamError` for a stream cut short, or one
    quoting a server's own `error: {...}` line (llama.cpp, GPUStack), which SSE
    itself ignores.
    """

    def __init__(self, *, provider: str, model: str | None = None, status: int = 200) -> None:
        from llmkit.providers._codecs.openai_chat_stream import ChatStreamParser
        from llmkit.providers._codecs.sse import SSEDecoder

        self.provider = provider
        self.model = model
        self._decoder = SSEDecoder()
        self._chat = ChatStreamParser(provider=provider, model=model, status=status)
        self._clean = True  # the decoder holds nothing unfinished
        self._recent: deque[bytes] = deque(maxlen=_RECENT_CHUNKS)

    @property
    def done(self) -> bool:
        """`[DONE]` arrived: the reply is complete (the rest of the body is ignored)."""
        return self._chat.done

    @property
    def error(self) -> LLMError | None:
        """The error the host reported inside the stream, once it has."""
        return self._chat.error

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """The events the chunk completed.

        Raises:
            InvalidResponseError: an event's data is not a JSON object.
        """
        chat = self._chat
        if chat.done or chat.error is not None:
            return []
        if (
            self._clean
            and chunk[:6] == b"data: "
            and chunk[-2:] == b"\n\n"
            and chunk.count(b"\n") == 2
            and b"\r" not in chunk
        ):
            try:
                return chat.feed_data(chunk[6:-2].decode())
            except UnicodeDecodeError:
                pass  # the decoder says what is wrong with it
        self._recent.append(chunk)
        sses = self._decoder.feed(chunk)
        self._clean = chunk[-2:] == b"\n\n" and b"\r" not in chunk
        if len(sses) == 1:
            return chat.feed(sses[0])
        events: list[StreamEvent] = []
        for sse in sses:
            events += chat.feed(sse)
        return events

    def flush(self) -> list[StreamEvent]:
        """End of the body: the last events.

        Raises:
            LLMError: the error the host reported inside the stream.
            StreamError: the stream stopped early (no `[DONE]`, no finish reason), was
                cut inside an event, or the server ended it with an `error:` line.
        """
        chat = self._chat
        events: list[StreamEvent] = []
        if not (chat.done or chat.error is not None):
            for sse in self._decoder.flush():
                events += self._last(sse)
            if not (chat.done or chat.finished or chat.error is not None):
                line = _error_line(b"".join(self._recent))
                if line is not None:
                    raise self._server_error(line)
        return events + chat.finish()

    def _last(self, sse: Any) -> list[StreamEvent]:
        """The events of a last event with no closing blank line (a cut body if it does not parse)."""
        try:
            return self._chat.feed(sse)
        except InvalidResponseError as exc:
            if _error_line(b"".join(self._recent)) is not None:
                return []  # the server's error line says more than the cut event
            raise StreamError(
                f"the {self.provider} stream was cut in the middle of an event; "
                "what arrived is in `.partial`",
                provider=self.provider,
                model=self.model,
                retryable=True,
            ) from exc

    def _server_error(self, text: str) -> StreamError:
        """A server's own `error: {...}` line (llama.cpp, GPUStack) as a `StreamError`."""
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        detail = error_from_body(None, body, provider=self.provider, model=self.model).message
        return StreamError(
            f"{self.provider} ended the stream with an error: {detail}",
            provider=self.provider,
            model=self.model,
            body=body,
        )


_RECENT_CHUNKS = 64
"""Chunks kept (those the SSE decoder read) to find a server's `error:` line at the end."""

_ERROR_LINE = re.compile(r"(?:^|[\r\n])error:[ ]?([^\r\n]*)")


def _error_line(tail: bytes) -> str | None:
    """The text of the last `error:` line in the end of a body, if there is one."""
    found = _ERROR_LINE.findall(tail.decode("utf-8", errors="replace"))
    return found[-1].strip() if found else None
