"""OpenTelemetry traces and metrics for every llmkit call, per the GenAI semantic conventions.

    import llmkit

    llmkit.instrument()                      # the global tracer and meter providers
    llmkit.instrument(tracer_provider=tp, meter_provider=mp, include_content=True)
    llmkit.uninstrument()

Nothing here runs until `instrument()` is called (`import llmkit` never imports
OpenTelemetry; install it with the `otel` extra). Once called, every client in
the process is observed through llmkit's own events (`llmkit.events`): the
instrumentation subscribes to each emitted event, whatever the client's own
`hooks`, and never changes a call's outcome (its own failures are logged).

Per provider attempt (a call with no fallback is one attempt), one span of kind
CLIENT named `chat {model}`, started when the `request` event is emitted and
ended by its `response` or `error` event, with the GenAI attributes
(`gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.*`,
`gen_ai.response.*`, `gen_ai.usage.*`, `error.type`, `server.address`,
`server.port`). Retries are span events (`llmkit.retry`) on the attempt's span;
a fallback is an event (`llmkit.fallback`) on the span of the provider that
takes over, which also links to the failed attempt's span. Metrics (histograms
with the conventions' bucket advice): `gen_ai.client.token.usage` ({token}),
`gen_ai.client.operation.duration` (s) and, for streamed calls only,
`gen_ai.client.operation.time_to_first_chunk` (s); response-cache counters
`llmkit.cache.lookups` and `llmkit.cache.bytes` (by `llmkit.cache.result`).

Prompts and replies are recorded (`gen_ai.system_instructions`,
`gen_ai.input.messages`, `gen_ai.output.messages`) only with
`include_content=True`. API keys, headers and `extra` body fields never are;
error descriptions pass through `llmkit.errors.redact`.

The host's address comes from the provider the client sends to: the
instrumentation wraps `ModelClient._send` / `_send_stream` (the one place a
request reaches a provider) to read it, and `llmkit.events.emit` to see every
event; `uninstrument()` restores both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from llmkit import events
from llmkit._imports import require
from llmkit.errors import redact

if TYPE_CHECKING:
    from llmkit.types import Message, Request, Response

__all__ = [
    "DURATION_BUCKETS",
    "PROVIDER_NAMES",
    "TOKEN_BUCKETS",
    "attach",
    "instrument",
    "is_instrumented",
    "tracer_provider",
    "uninstrument",
]

_log = logging.getLogger("llmkit")

OPERATION = "chat"

PROVIDER_NAMES: Mapping[str, str] = {
    "anthropic": "anthropic",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "gemini": "gcp.gemini",
    "groq": "groq",
    "mistral": "mistral_ai",
    "openai": "openai",
}
"""llmkit provider names whose GenAI `gen_ai.provider.name` differs or is well known;
the others (openrouter, ollama, openai-compatible, fake) are reported as they are."""

TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)  # fmt: skip
"""Bucket advice for `gen_ai.client.token.usage`."""
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                    40.96, 81.92)  # fmt: skip
"""Bucket advice for `gen_ai.client.operation.duration` and `.time_to_first_chunk` (seconds)."""


def provider_name(name: str | None) -> str:
    """The `gen_ai.provider.name` of an llmkit provider name."""
    if not name:
        return "unknown"
    return PROVIDER_NAMES.get(name, name)


def server_of(base_url: str | None) -> tuple[str | None, int | None]:
    """`(server.address, server.port)` of a provider's base URL (no credentials, no path)."""
    if not base_url:
        return None, None
    parts = urlsplit(base_url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None and parts.scheme in ("http", "https"):
        port = 443 if parts.scheme == "https" else 80
    return parts.hostname, port


# -- content (only with include_content=True) --------------------------------------


def _parts(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if message.reasoning:
        parts.append({"type": "reasoning", "content": message.reasoning})
    if message.tool_call_id is not None:
        parts.append(
            {"type": "tool_call_response", "id": message.tool_call_id, "response": message.text}
        )
    elif message.text:
        parts.append({"type": "text", "content": message.text})
    for call in message.tool_calls:
        parts.append(
            {
                "type": "tool_call",
                "id": call.id,
                "name": call.name,
                "arguments": dict(call.arguments),
            }
        )
    return parts


def input_content(request: Request) -> dict[str, str]:
    """`gen_ai.system_instructions` and `gen_ai.input.messages` as JSON strings."""
    system = [
        {"type": "text", "content": m.text} for m in request.messages if m.role.value == "system"
    ]
    messages = [
        {"role": m.role.value, "parts": _parts(m)}
        for m in request.messages
        if m.role.value != "system"
    ]
    out = {"gen_ai.input.messages": json.dumps(messages, ensure_ascii=False)}
    if system:
        out["gen_ai.system_instructions"] = json.dumps(system, ensure_ascii=False)
    return out


def output_content(response: Response) -> str:
    """`gen_ai.output.messages` as a JSON string."""
    message = response.to_message()
    out = [{"role": "assistant", "parts": _parts(message),
            "finish_reason": response.finish_reason.value}]  # fmt: skip
    return json.dumps(out, ensure_ascii=False)


# -- the instrumentation ------------------------------------------------------------


class _Open:
    """A span under way: one provider attempt."""

    __slots__ = ("attrs", "provider", "request_model", "span", "start", "streaming", "task")

    def __init__(self, span: Any, provider: str | None, request_model: str | None) -> None:
        self.span = span
        self.start = time.perf_counter()
        self.provider = provider
        self.request_model = request_model
        self.streaming = False
        self.task = _task()
        self.attrs: dict[str, Any] = {
            "gen_ai.operation.name": OPERATION,
            "gen_ai.provider.name": provider_name(provider),
        }
        if request_model:
            self.attrs["gen_ai.request.model"] = request_model


def _task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


class _Instrumentation:
    def __init__(self, tracer: Any, meter: Any, *, include_content: bool) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self.tracer = tracer
        self.tracer_provider: Any = None
        self.include_content = include_content
        self.kind = SpanKind.CLIENT
        self.error_status: Callable[[str], Any] = lambda text: Status(StatusCode.ERROR, text)
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
        )  # fmt: skip
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )  # fmt: skip
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )  # fmt: skip
        self.cache_lookups = meter.create_counter(
            "llmkit.cache.lookups", unit="{lookup}",
            description="Response-cache lookups (llmkit.cache.result: hit or miss).",
        )  # fmt: skip
        self.cache_bytes = meter.create_counter(
            "llmkit.cache.bytes", unit="By",
            description="Bytes read from (hit) or written to (store) the response cache.",
        )  # fmt: skip
        self.open: dict[int, _Open] = {}
        self.pending: weakref.WeakKeyDictionary[Any, list[tuple[events.Event, Any]]] = (
            weakref.WeakKeyDictionary()
        )
        self.failed: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self.secrets: set[str] = set()
        """The keys of the providers seen, redacted from every text recorded (kept in memory only)."""

    # -- events ----------------------------------------------------------------------

    def observe(self, event: events.Event) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            handler(event)

    def _on_cache(self, event: events.Event) -> None:
        attributes = {"gen_ai.provider.name": provider_name(event.provider),
                      "gen_ai.request.model": event.model or "",
                      "llmkit.cache.result": event.reason or ""}  # fmt: skip
        if event.reason in ("hit", "miss"):
            self.cache_lookups.add(1, attributes)
        if event.size is not None:
            self.cache_bytes.add(event.size, attributes)

    def _on_request(self, event: events.Event) -> None:
        request = event.request
        if request is None:
            return
        from opentelemetry.trace import Link

        fallbacks = self._take_pending(event.provider)
        links = [Link(context) for _, context in fallbacks if context is not None]
        span = self.tracer.start_span(
            f"{OPERATION} {event.model or request.model}", kind=self.kind, links=links
        )
        item = _Open(span, event.provider, event.model or request.model)
        span.set_attributes(item.attrs)
        span.set_attributes(_request_attributes(request))
        if event.client:
            span.set_attribute("llmkit.client", event.client)
        if self.include_content:
            span.set_attributes(input_content(request))
        for fallback, _ in fallbacks:
            span.add_event("llmkit.fallback", self._fallback_attributes(fallback))
        if event.reason:
            span.add_event("llmkit.context.truncated", {"llmkit.reason": self.redact(event.reason)})
        key = id(request)
        self.open[key] = item
        weakref.finalize(request, self._abandoned, key)

    def _on_response(self, event: events.Event) -> None:
        item = self.open.pop(id(event.request), None)
        response = event.response
        if item is None or response is None:
            return
        attrs = _response_attributes(response)
        item.span.set_attributes(attrs)
        if self.include_content:
            item.span.set_attribute("gen_ai.output.messages", output_content(response))
        if response.cost is not None:
            item.span.set_attribute("llmkit.cost.usd", response.cost.total)
        if response.model:
            item.attrs["gen_ai.response.model"] = response.model
        self._record(item, error=None)
        usage = response.usage
        for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens)):
            if count is not None:
                self.tokens.record(count, {**item.attrs, "gen_ai.token.type": kind})
        first = response.latency.first_token
        if item.streaming and first is not None:
            self.first_chunk.record(first, item.attrs)
        item.span.end()

    def _on_error(self, event: events.Event) -> None:
        item = self.open.pop(id(event.request), None)
        if item is None:
            return
        error = event.error
        kind = type(error).__name__ if error is not None else "error"
        item.span.set_attribute("error.type", kind)
        message = self.redact(error.message) if error is not None else kind
        item.span.set_status(self.error_status(f"{kind}: {message}"))
        self._record(item, error=kind)
        if item.task is not None:
            self.failed[item.task] = item.span.get_span_context()
        item.span.end()

    def _on_retry(self, event: events.Event) -> None:
        item = self._find(event)
        if item is None:
            return
        attrs: dict[str, Any] = {}
        if event.attempt is not None:
            attrs["llmkit.retry.attempt"] = event.attempt
        if event.delay is not None:
            attrs["llmkit.retry.delay_s"] = event.delay
        if event.error is not None:
            attrs["error.type"] = type(event.error).__name__
            attrs["llmkit.reason"] = self.redact(event.error.message)
        item.span.add_event("llmkit.retry", attrs)

    def _on_fallback(self, event: events.Event) -> None:
        task = _task()
        if task is None or event.next_provider is None:
            return
        context = self.failed.pop(task, None) if event.error is not None else None
        self.pending.setdefault(task, []).append((event, context))

    # -- helpers -----------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """`text` without key-shaped strings nor the key of any provider seen."""
        return redact(text, *self.secrets)

    def _fallback_attributes(self, event: events.Event) -> dict[str, Any]:
        attrs: dict[str, Any] = {"llmkit.fallback.from_provider": event.provider or "unknown"}
        if event.error is not None:
            attrs["error.type"] = type(event.error).__name__
        if event.reason:
            attrs["llmkit.reason"] = self.redact(event.reason)
        return attrs

    def _take_pending(self, provider: str | None) -> list[tuple[events.Event, Any]]:
        task = _task()
        queued = self.pending.get(task) if task is not None else None
        if not queued:
            return []
        taken = [item for item in queued if item[0].next_provider == provider]
        queued[:] = [item for item in queued if item[0].next_provider != provider]
        return taken

    def _find(self, event: events.Event) -> _Open | None:
        if event.request is not None and id(event.request) in self.open:
            return self.open[id(event.request)]
        task = _task()
        candidates = [
            item
            for item in self.open.values()
            if item.task is task and item.provider == event.provider
        ]
        return candidates[-1] if candidates else None

    def _record(self, item: _Open, *, error: str | None) -> None:
        attrs = dict(item.attrs)
        if error is not None:
            attrs["error.type"] = error
        self.duration.record(time.perf_counter() - item.start, attrs)

    def _abandoned(self, key: int) -> None:
        """The request was dropped with its span still open (a stream closed early, a
        cancelled call): end the span so nothing leaks."""
        item = self.open.pop(key, None)
        if item is not None:
            item.span.set_attribute("error.type", "abandoned")
            item.span.end()

    # -- the provider the request goes to -------------------------------------------------

    def attach(
        self, provider: Any, request: Request, prepared: Request | None, *, streaming: bool
    ) -> None:
        """What only the send step knows: the host's address, whether the call streams,
        and the request as the family rewrote it for the host (`prepared`)."""
        item = self.open.get(id(request))
        if item is None:
            return
        item.streaming = streaming
        if prepared is not None:
            item.span.set_attributes(_request_attributes(prepared))
            if self.include_content:
                item.span.set_attributes(input_content(prepared))
        if getattr(provider, "has_api_key", False):
            try:
                key = provider.api_key()
            except Exception:
                key = None
            if isinstance(key, str) and len(key) >= 8:
                self.secrets.add(key)
        address, port = server_of(getattr(provider, "base_url", None))
        if address:
            item.attrs["server.address"] = address
            item.span.set_attribute("server.address", address)
            if port is not None:
                item.attrs["server.port"] = port
                item.span.set_attribute("server.port", port)


def _request_attributes(request: Request) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for name, value in (
        ("gen_ai.request.max_tokens", request.max_tokens),
        ("gen_ai.request.temperature", request.temperature),
        ("gen_ai.request.top_p", request.top_p),
        ("gen_ai.request.seed", request.seed),
    ):
        if value is not None:
            attrs[name] = value
    if request.stop:
        attrs["gen_ai.request.stop_sequences"] = list(request.stop)
    return attrs


def _response_attributes(response: Response) -> dict[str, Any]:
    attrs: dict[str, Any] = {"gen_ai.response.finish_reasons": [response.finish_reason.value]}
    if response.id:
        attrs["gen_ai.response.id"] = response.id
    if response.model:
        attrs["gen_ai.response.model"] = response.model
    usage = response.usage
    if usage.input_tokens is not None:
        attrs["gen_ai.usage.input_tokens"] = usage.input_tokens
    if usage.output_tokens is not None:
        attrs["gen_ai.usage.output_tokens"] = usage.output_tokens
    if usage.cached_input_tokens is not None:
        attrs["gen_ai.usage.cache_read.input_tokens"] = usage.cached_input_tokens
    return attrs


# -- install / uninstall ---------------------------------------------------------------

_state: _Instrumentation | None = None
_originals: dict[str, Callable[..., Any]] = {}


def is_instrumented() -> bool:
    """Whether `instrument()` is in effect."""
    return _state is not None


def tracer_provider() -> Any:
    """The `TracerProvider` given to `instrument()`; None: the global one (or not instrumented).

    Other instrumentation in the process (the gateway's server spans) uses it too, so that
    one trace holds the HTTP request and the llmkit calls it made.
    """
    return _state.tracer_provider if _state is not None else None


def instrument(
    tracer_provider: Any = None, meter_provider: Any = None, *, include_content: bool = False
) -> None:
    """Trace and measure every llmkit call with OpenTelemetry (GenAI semantic conventions).

    Args:
        tracer_provider: an OpenTelemetry `TracerProvider`; default: the global one.
        meter_provider: an OpenTelemetry `MeterProvider`; default: the global one.
        include_content: also record prompts and replies on the spans (off by default:
            they may hold personal data).

    Calling it again replaces the previous instrumentation.

    Raises:
        ConfigurationError: OpenTelemetry is not installed (the `otel` extra).
    """
    global _state
    require("opentelemetry.trace", extra="otel")
    from opentelemetry import metrics, trace

    from llmkit import __version__
    from llmkit.clients._base import ModelClient

    uninstrument()
    tracer = trace.get_tracer("llmkit", __version__, tracer_provider=tracer_provider)
    meter = metrics.get_meter("llmkit", __version__, meter_provider=meter_provider)
    state = _Instrumentation(tracer, meter, include_content=include_content)
    state.tracer_provider = tracer_provider

    emit = events.emit
    send = ModelClient._send
    send_stream = ModelClient._send_stream

    def observed_emit(hooks: events.Hooks | None, event: events.Event) -> None:
        try:
            state.observe(event)
        except Exception:  # never let telemetry break a call
            _log.exception("llmkit: OpenTelemetry could not record a %s event", event.kind)
        emit(hooks, event)

    async def observed_send(self: ModelClient, route: Any, request: Request) -> Response:
        _attach(state, self, route, request, streaming=False)
        return await send(self, route, request)

    def observed_send_stream(self: ModelClient, route: Any, request: Request) -> Any:
        _attach(state, self, route, request, streaming=True)
        return send_stream(self, route, request)

    _originals.update(emit=emit, send=send, send_stream=send_stream)
    events.emit = observed_emit  # type: ignore[assignment]
    ModelClient._send = observed_send  # type: ignore[method-assign]
    ModelClient._send_stream = observed_send_stream  # type: ignore[method-assign]
    _state = state


def _attach(
    state: _Instrumentation, client: Any, route: Any, request: Request, *, streaming: bool
) -> None:
    if id(request) not in state.open:
        return
    try:  # `prepare` is pure: run again here, it yields what the send step will send
        prepared = client.prepare(request, route.provider, route.entry)
    except Exception:  # the send step raises the same error itself
        prepared = None
    try:
        state.attach(route.provider, request, prepared, streaming=streaming)
    except Exception:
        _log.exception("llmkit: OpenTelemetry could not read the provider's address")


def attach(provider: Any, request: Request, *, streaming: bool) -> None:
    """Give the span of a call announced without a model client (a `request` event emitted
    for `request`, as the gateway does for a `provider/host-model-id` route) the host's
    address and whether it streams. Nothing happens when not instrumented."""
    state = _state
    if state is None:
        return
    try:
        state.attach(provider, request, None, streaming=streaming)
    except Exception:
        _log.exception("llmkit: OpenTelemetry could not read the provider's address")


def uninstrument() -> None:
    """Stop tracing and measuring (spans under way end when their calls do, unrecorded)."""
    global _state
    if _state is None:
        return
    from llmkit.clients._base import ModelClient

    events.emit = _originals.pop("emit")  # type: ignore[assignment]
    ModelClient._send = _originals.pop("send")  # type: ignore[method-assign]
    ModelClient._send_stream = _originals.pop("send_stream")  # type: ignore[method-assign]
    _state = None
