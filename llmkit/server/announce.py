"""A `provider/host-model-id` route's upstream call, announced as a model client's are.

Such a route calls the provider without a model client, so nothing else reports it.
This module emits the same `request`, `response` and `error` events a client's call
does (`llmkit.events`): the `llmkit` logger sees them, and with `llmkit.instrument()` in
effect each call is a GenAI CLIENT span (`chat {host-model-id}`, the host's address,
tokens, cost at the catalog's prices) under the gateway's SERVER span, as for a client.

When nobody listens (no instrumentation, the logger below DEBUG) a successful call emits
nothing, so the hot path pays one check; errors are always emitted (WARNING).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import attrs

from llmkit import events

if TYPE_CHECKING:
    from collections.abc import Callable

    from llmkit.errors import LLMError
    from llmkit.providers import Provider
    from llmkit.types import Cost, Request, Response

__all__ = ["failed", "finished", "listening", "started"]


def listening() -> bool:
    """Whether anyone takes a successful call's events: OpenTelemetry, or the log at DEBUG."""
    return events.emit is not events._emit or events.logger.isEnabledFor(logging.DEBUG)


def started(provider: Provider, request: Request, *, streaming: bool) -> None:
    """The call is about to be sent (`request` as it goes to the host)."""
    if not listening():
        return
    events.emit(
        None, events.Event("request", provider=provider.name, model=request.model, request=request)
    )
    from llmkit import otel

    otel.attach(provider, request, streaming=streaming)


def finished(
    provider: Provider,
    request: Request,
    response: Response,
    price: Callable[[Response], Cost | None],
) -> None:
    """The call answered; `price(response)` is its cost where the reply carries none
    (worked out only when someone listens)."""
    if not listening():
        return
    if response.cost is None and (cost := price(response)) is not None:
        response = attrs.evolve(response, cost=cost)
    event = events.Event(
        "response", provider=provider.name, model=request.model, request=request, response=response
    )
    events.emit(None, event)


def failed(provider: Provider, request: Request, error: LLMError) -> None:
    """The call failed (always emitted: the log shows failures at WARNING)."""
    event = events.Event(
        "error", provider=provider.name, model=request.model, request=request, error=error
    )
    events.emit(None, event)
