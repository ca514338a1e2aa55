"""Ollama's native chat API (`POST /api/chat`) on the wire: params, replies, NDJSON streams, errors.

Pure functions over JSON dicts; no I/O. Reference:
https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion

Where Ollama differs from OpenAI's shape:

- tool-call `arguments` are JSON objects, not JSON text, and calls usually come
  without an id: llmkit mints a stable one (`mint_call_id`) so a tool result can
  be paired back; results go back as `tool` turns naming the function
  (`tool_name`);
- sampling settings live in an `options` object (`num_predict` is the output cap,
  `num_ctx` the context window); `think`, `keep_alive` and `format` are top level;
- reasoning models return `message.thinking` when asked with `think`;
- the reply carries nanosecond durations, surfaced here in seconds under
  `provider_data["ollama"]["timings"]`;
- a stream is NDJSON, one object per line; the last one has `"done": true`;
- errors are `{"error": "..."}` with the HTTP status.
"""

from __future__ import annotations

import hashlib
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
from llmkit.providers._codecs.ndjson import NDJSONDecoder
from llmkit.retry import parse_retry_after
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
    "OPTION_NAMES",
    "NDJSONDecoder",
    "StreamParser",
    "error_from_body",
    "mint_call_id",
    "parse_chunk",
    "parse_reply",
    "to_params",
]

PROVIDER = "ollama"

# Model parameters Ollama reads from `options` (its Modelfile PARAMETER names):
# https://github.com/ollama/ollama/blob/main/docs/modelfile.md#valid-parameters-and-values
OPTION_NAMES = frozenset(
    {
        "num_ctx",
        "num_keep",
        "num_predict",
        "num_batch",
        "num_gpu",
        "main_gpu",
        "num_thread",
        "top_k",
        "top_p",
        "min_p",
        "typical_p",
        "tfs_z",
        "temperature",
        "seed",
        "stop",
        "repeat_last_n",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
        "mirostat",
        "mirostat_tau",
        "mirostat_eta",
        "penalize_newline",
        "use_mmap",
        "use_mlock",
        "low_vram",
        "numa",
    }
)

FINISH_REASONS = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH}
"""`done_reason` → llmkit; anything else (`load`, `unload`, none) is `other`."""

_DURATIONS = ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")


# -- request ------------------------------------------------------------------


def to_params(
    request: Request, dialect: None = None, *, stream: bool = False, provider: str = PROVIDER
) -> dict[str, Any]:
    """The `/api/chat` body for `request` (`dialect`: none, the codec contract's slot).

    `request.extra` wins over llmkit's own fields: Ollama's top-level fields
    (`think`, `keep_alive`, `format`, ...) pass through as they are, an
    `options` dict merges into `options`, and option names given at the top
    (`num_ctx`, `top_k`, ...) move into `options`.

    Raises:
        InvalidRequestError: for an empty conversation (which Ollama would take as
            "load the model" and answer with no reply), or a `tool_choice` or
            `response_format` Ollama cannot honour.
    """
    if not request.messages:
        # No messages means "load the model": https://docs.ollama.com/api/chat (load a model).
        raise errors.InvalidRequestError(
            "Ollama needs at least one message to answer; add Message.user(...)",
            provider=provider,
            model=request.model,
        )
    params: dict[str, Any] = {
        "model": request.model,
        "messages": _messages(request.messages),
        "stream": stream,
    }
    tools = _tools(request)
    if tools:
        params["tools"] = tools
    fmt = _format(request.response_format)
    if fmt is not None:
        params["format"] = fmt
    options = _options(request)
    extra = dict(request.extra)
    options.update(extra.pop("options", None) or {})
    for name in [k for k in extra if k in OPTION_NAMES]:
        options[name] = extra.pop(name)
    if options:
        params["options"] = options
    params.update(extra)
    return params


def _options(request: Request) -> dict[str, Any]:
    values = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "seed": request.seed,
        "num_predict": request.max_tokens,
        "stop": list(request.stop) if request.stop else None,
    }
    return {k: v for k, v in values.items() if v is not None}


def _tools(request: Request) -> list[dict[str, Any]]:
    choice = request.tool_choice
    if not request.tools or choice == "none":
        # Ollama has no tool_choice; leaving the tools out is what "none" means.
        return []
    if choice not in (None, "auto"):
        raise errors.InvalidRequestError(
            f"Ollama cannot force a tool call (tool_choice={choice!r}); "
            "use tool_choice='auto' or 'none', or say in the prompt which tool to call",
            provider=PROVIDER,
            model=request.model,
        )
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            },
        }
        for tool in request.tools
    ]


def _format(response_format: Mapping[str, Any] | None) -> str | dict[str, Any] | None:
    """`json` for JSON mode, the schema itself for structured output."""
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema", spec)
        return dict(schema) if schema else "json"
    if kind == "text":
        return None
    raise errors.InvalidRequestError(
        f"response_format type {kind!r} is not one Ollama knows; "
        "use {'type': 'json_object'} or {'type': 'json_schema', 'json_schema': {'schema': ...}}",
        provider=PROVIDER,
    )


def _messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}
    out = []
    for message in messages:
        for call in message.tool_calls:
            if call.id:
                names[call.id] = call.name
        out.append(_message(message, names))
    return out


def _message(message: Message, names: Mapping[str, str]) -> dict[str, Any]:
    text, images = parts_openai.ollama_images(message.content, host=PROVIDER)
    item: dict[str, Any] = {"role": str(message.role), "content": text}
    if images:
        item["images"] = images
    if message.role is Role.ASSISTANT:
        if message.reasoning:
            item["thinking"] = message.reasoning
        if message.tool_calls:
            item["tool_calls"] = [_tool_call(call) for call in message.tool_calls]
    elif message.role is Role.TOOL:
        name = message.name or names.get(message.tool_call_id or "")
        if name:
            item["tool_name"] = name
    return item


def _tool_call(call: ToolCall) -> dict[str, Any]:
    arguments: Any = call.arguments
    if call.raw_arguments is not None:
        arguments = call.raw_arguments
    return {"function": {"name": call.name, "arguments": arguments}}


# -- reply ------------------------------------------------------------------


def mint_call_id(index: int, name: str, arguments: Mapping[str, Any]) -> str:
    """A stable id for a call Ollama gave none: the same call always gets the same id."""
    canonical = json.dumps([index, name, arguments], sort_keys=True, separators=(",", ":"))
    return f"call_{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


def _calls(raw: Any, first_index: int = 0) -> list[ToolCall]:
    calls = []
    for offset, item in enumerate(raw or ()):
        function = item.get("function") or {}
        name = function.get("name") or ""
        arguments = function.get("arguments")
        raw_arguments = None
        if isinstance(arguments, str):  # some model templates leave the JSON as text
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                arguments, raw_arguments = {}, function.get("arguments")
        if not isinstance(arguments, dict):
            raw_arguments = None if arguments is None else json.dumps(arguments)
            arguments = {}
        index = function.get("index", first_index + offset)
        call_id = item.get("id") or mint_call_id(index, name, arguments)
        calls.append(ToolCall(call_id, name, arguments, raw_arguments=raw_arguments))
    return calls


def _usage(body: Mapping[str, Any]) -> Usage:
    return Usage(input_tokens=body.get("prompt_eval_count"), output_tokens=body.get("eval_count"))


def _timings(body: Mapping[str, Any]) -> dict[str, Any]:
    timings = {
        name: body[name] / 1e9 for name in _DURATIONS if isinstance(body.get(name), int | float)
    }
    return {PROVIDER: {"timings": timings}} if timings else {}


def _finish(done_reason: Any, has_calls: bool) -> FinishReason:
    if has_calls:
        return FinishReason.TOOL_CALLS
    return FINISH_REASONS.get(done_reason, FinishReason.OTHER)


def parse_reply(body: Mapping[str, Any], *, provider: str = PROVIDER) -> Response:
    """A complete (`"stream": false`) `/api/chat` reply as a `Response`.

    Raises:
        InvalidResponseError: when the body is not a chat reply.
        LLMError: the body is an `{"error": ...}` payload.
    """
    if "error" in body:
        raise error_from_body(200, body, provider=provider)
    message = body.get("message")
    if not isinstance(message, Mapping):
        raise errors.InvalidResponseError(
            "Ollama's reply has no `message`", provider=provider, body=dict(body)
        )
    calls = _calls(message.get("tool_calls"))
    raw_finish = body.get("done_reason") or None
    return Response(
        text=message.get("content") or "",
        reasoning=message.get("thinking") or None,
        tool_calls=tuple(calls),
        finish_reason=_finish(raw_finish, bool(calls)),
        raw_finish_reason=raw_finish,
        usage=_usage(body),
        model=body.get("model"),
        provider=provider,
        provider_data=_timings(body),
        raw=dict(body),
    )


# -- stream -------------------------------------------------------------------


def parse_chunk(body: Mapping[str, Any], *, first_call_index: int = 0) -> list[StreamEvent]:
    """The events of one NDJSON stream object (tool calls arrive whole, one event each).

    Raises:
        LLMError: for an `{"error": ...}` line.
    """
    if "error" in body:
        raise error_from_body(200, body, in_stream=True)
    message = body.get("message") or {}
    events = []
    text, thinking = message.get("content") or "", message.get("thinking") or ""
    if text or thinking:
        events.append(StreamEvent(text=text, reasoning=thinking, model=body.get("model")))
    for offset, call in enumerate(_calls(message.get("tool_calls"), first_call_index)):
        events.append(
            StreamEvent(
                tool_call=ToolCallDelta(
                    first_call_index + offset,
                    id=call.id,
                    name=call.name,
                    arguments=call.raw_arguments or json.dumps(call.arguments),
                ),
                model=body.get("model"),
            )
        )
    if body.get("done"):
        raw_finish = body.get("done_reason") or None
        has_calls = first_call_index > 0 or any(e.tool_call is not None for e in events)
        events.append(
            StreamEvent(
                finish_reason=_finish(raw_finish, has_calls),
                raw_finish_reason=raw_finish,
                usage=_usage(body),
                model=body.get("model"),
                provider_data=_timings(body),
            )
        )
    if events:
        events[0] = evolve(events[0], raw=dict(body))
    else:
        events.append(StreamEvent(model=body.get("model"), raw=dict(body)))
    return events


class StreamParser:
    """Bytes of an `/api/chat` NDJSON stream in, `StreamEvent`s out; pure and push-style.

    Counts tool calls across lines so each gets its own index, and knows whether
    the final `"done": true` object arrived. An `{"error": ...}` line stops the
    parser and lands in `error` (the events before it are returned first).
    """

    def __init__(self, *, provider: str = PROVIDER, model: str | None = None) -> None:
        self.provider = provider
        self.model = model
        self._lines = NDJSONDecoder(host="Ollama", provider=provider)
        self._calls = 0
        self.done = False
        """Whether the final object (`"done": true`) has arrived."""
        self.error: LLMError | None = None
        """The error an `{"error": ...}` line reported, raised by the caller."""

    def feed(self, chunk: bytes | str) -> list[StreamEvent]:
        """Events completed by `chunk`."""
        return self._events(self._lines.feed(chunk))

    def flush(self) -> list[StreamEvent]:
        """End of stream: events of a last line without a newline.

        Raises:
            StreamError: when the stream ended before its `"done": true` object.
        """
        events = self._events(self._lines.flush())
        if not self.done and self.error is None:
            raise errors.StreamError(
                "Ollama's stream ended before its final `done` object; the reply is "
                "incomplete, retry it",
                provider=self.provider,
                model=self.model,
                retryable=True,
            )
        return events

    def _events(self, bodies: list[Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for body in bodies:
            if self.error is not None:
                break
            if not isinstance(body, Mapping):
                raise errors.InvalidResponseError(
                    f"Ollama sent a stream line that is not a JSON object ({excerpt(json.dumps(body))})",
                    provider=self.provider,
                    model=self.model,
                )
            try:
                new = parse_chunk(body, first_call_index=self._calls)
            except LLMError as exc:
                exc.provider, exc.model = self.provider, exc.model or self.model
                self.error = exc
                break
            self._calls += sum(1 for e in new if e.tool_call is not None)
            self.done = self.done or bool(body.get("done"))
            events.extend(new)
        return events


# -- errors -------------------------------------------------------------------


def _error_message(body: object) -> str:
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, str):
            return error
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return str(error["message"])
    if isinstance(body, str | bytes) and body.strip():
        return excerpt(body)  # an HTML page from a proxy: its title, not 60 KB of markup
    return "Ollama returned an error with no message"


_CONTEXT_WORDS = ("too long",)
"""Ollama's own wording, on top of the shared `CONTEXT_OVERFLOW_WORDS`."""


def error_from_body(
    status: int,
    body: object,
    headers: Any = None,
    *,
    provider: str = PROVIDER,
    model: str | None = None,
    in_stream: bool = False,
) -> LLMError:
    """The llmkit error for an Ollama error body (`{"error": "..."}`) with HTTP `status`.

    Args:
        status: the HTTP status (200 for an error line inside a stream).
        body: the body as received (bytes or text) or parsed.
        headers: the response headers, for `Retry-After`.
        provider: the provider's name.
        model: the requested model, where known.
        in_stream: the error came on a line of a stream: a `StreamError`.
    """
    body = parse_json_or_text(body)
    message = _error_message(body)
    retry_after = parse_retry_after(headers) if headers is not None else None
    context: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "status_code": status,
        "body": body,
    }
    lower = message.lower()
    if in_stream:
        return errors.StreamError(f"Ollama reported an error mid-stream: {message}", **context)
    if status in (400, 413, 422) and is_context_overflow(lower, _CONTEXT_WORDS):
        return errors.ContextLengthExceededError(
            f"{message} (raise `num_ctx` in request extra, or shorten the prompt)", **context
        )
    if status == 404:
        if "not found" in lower and ("model" in lower or model):
            name = model or "<model>"
            return errors.ModelNotFoundError(
                f"{message}: pull it first with `ollama pull {name}` "
                "(`ollama list` shows the models you have)",
                **context,
            )
        return errors.NotFoundError(message, **context)
    if status == 429:
        return errors.RateLimitError(message, retry_after=retry_after, **context)
    return error_class(status)(message, **context)
