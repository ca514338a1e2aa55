"""The gateway's OpenTelemetry server spans: one per HTTP request, parent of its llmkit calls.

On when `llmkit.instrument()` is in effect as the app is built (`llmkit serve --otel`
calls it), or when `create_app(tracing=True)` asks. The HTTP layer is
`opentelemetry-instrumentation-asgi`'s middleware (the `otel` extra): a SERVER span
per request with the HTTP semantic conventions, continuing the caller's trace from
its `traceparent` header. The llmkit client spans (`chat {model}`, see
docs/observability.md) are opened inside it, so they are its children. The gateway
adds what only it knows:

| attribute | value |
|---|---|
| `llmkit.gateway.request_id` | the `x-request-id` it answered with |
| `llmkit.gateway.key` | the key's name (never its value) |
| `gen_ai.request.model` | the `model` the caller asked for |
| `llmkit.gateway.provider` | the provider it routed to |
| `error.type` | the error's class, for a request that failed |

Health checks and `/metrics` are not traced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmkit._imports import require

if TYPE_CHECKING:
    from llmkit.server.app import Handled

__all__ = ["UNTRACED", "annotate", "middleware"]

UNTRACED = "health/liveness,health/readiness,metrics"
"""Paths the middleware leaves out (its `excluded_urls`: comma-separated patterns)."""


def middleware() -> Any:
    """The Starlette `Middleware` entry for the ASGI instrumentation, on llmkit's provider.

    Raises:
        ConfigurationError: `opentelemetry-instrumentation-asgi` is not installed (extra `otel`).
    """
    asgi = require("opentelemetry.instrumentation.asgi", extra="otel")
    from starlette.middleware import Middleware

    from llmkit import otel

    return Middleware(
        asgi.OpenTelemetryMiddleware,
        excluded_urls=UNTRACED,
        tracer_provider=otel.tracer_provider(),
    )


def annotate(handled: Handled, error: str | None = None) -> None:
    """Put the gateway's attributes on the request's server span (the current span)."""
    from opentelemetry import trace

    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.set_attribute("llmkit.gateway.request_id", handled.request_id)
    span.set_attribute("llmkit.gateway.key", handled.key)
    span.set_attribute("gen_ai.request.model", handled.model)
    span.set_attribute("llmkit.gateway.provider", handled.provider)
    if error is not None:
        span.set_attribute("error.type", error)
