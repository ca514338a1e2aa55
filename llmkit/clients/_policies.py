"""The policies around one client call: context window, budget, cost, events, fallback.

`ModelClient.generate` and `.stream` hand their request here. For each of
the client's providers in turn (the current one, then `fallbacks`), one
attempt:

1. resolve the model id that provider knows (`Plan`), skipping a provider
   that does not serve the model, whose circuit is open, or whose window or
   output limit the request cannot fit (`llmkit.context`);
2. reserve the worst case on the `budget` (`llmkit.budget.Budget`);
3. emit `on_request`, send through the client's `_send` / `_send_stream`
   (the family's rewrites and the provider's retries and rate limits);
4. on success: price the reply from the catalog (a host-reported cost wins),
   settle the budget, record it on the `cost_tracker`, emit `on_response`;
   on failure: release the budget, emit `on_error`, and fall back
   (`on_fallback`) when `llmkit.fallback.falls_back` says so.

This module decides nothing itself: the decisions are in `llmkit.context`,
`llmkit.cost` and `llmkit.fallback`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import anyio
from attrs import evolve, frozen

from llmkit import events as ev
from llmkit.budget import Reservation
from llmkit.context import Truncation, fit_request
from llmkit.cost import price_response, worst_case
from llmkit.errors import ConfigurationError, InvalidRequestError, LLMError
from llmkit.fallback import breaker_for, fallback_entry, falls_back, waiting_fallback
from llmkit.providers._stream import ResponseStream
from llmkit.tokens import count_messages
from llmkit.types import Message, Request, Response, StreamEvent

if TYPE_CHECKING:
    from llmkit.catalog import CatalogEntry
    from llmkit.clients._base import ModelClient, _Route
    from llmkit.providers._base import Provider

__all__ = ["Plan", "complete", "plans", "stream"]


@frozen
class Plan:
    """One provider's turn at a request: what to send, or why it is skipped."""

    route: _Route
    request: Request | None = None
    truncation: Truncation | None = None
    skip: LLMError | None = None
    """Why the provider is not tried (None: it is)."""

    @property
    def provider(self) -> Provider:
        """The provider of this turn."""
        return self.route.provider


def _client_name(client: ModelClient) -> str:
    return str(getattr(client, "name", None) or type(client).__name__)


def _entry_for(client: ModelClient, route: _Route, request: Request) -> CatalogEntry:
    if request.model == route.entry.id:
        return route.entry
    return client.entry_for(request.model, route.provider)


def _routes(client: ModelClient, route: _Route, request: Request) -> list[_Route | Plan]:
    """The primary route, then each fallback's route (or a skipped plan saying why not)."""
    from llmkit.catalog import CatalogEntry
    from llmkit.clients._base import _Route

    if route.unserved is not None:
        entry = route.entry
        out: list[_Route | Plan] = [Plan(route, skip=route.unserved)]
    else:
        entry = _entry_for(client, route, request)
        out = [_Route(route.provider, entry)]
    explicit = entry.source == "explicit" or request.model != route.entry.id
    for provider in client.fallbacks:
        try:
            found = fallback_entry(
                client.catalog, client.family, provider.name, entry, explicit=explicit
            )
        except ConfigurationError as exc:
            bare = CatalogEntry(client.family, entry.model, provider.name, entry.model, known=False)
            out.append(Plan(_Route(provider, bare), skip=exc))
            continue
        out.append(_Route(provider, found))
    return out


def _counter(client: ModelClient, request: Request) -> Any:
    tokenizer = client.tokenizer

    def count(messages: Sequence[Message]) -> Any:
        return count_messages(messages, request.model, tools=request.tools, tokenizer=tokenizer)

    return count


def _plan(client: ModelClient, route: _Route, request: Request, *, fallback: bool) -> Plan:
    entry = route.entry
    name = route.provider.name
    candidate = evolve(request, model=entry.id)
    limit = entry.max_output if isinstance(entry.max_output, int) else None
    if fallback and limit and candidate.max_tokens and candidate.max_tokens > limit:
        return Plan(
            route,
            skip=InvalidRequestError(
                f"max_tokens {candidate.max_tokens} exceeds {entry.id}'s output limit of {limit}",
                provider=name,
                model=entry.id,
            ),
        )
    try:
        fitted, truncation = fit_request(
            candidate,
            context_window=entry.context_window,
            count=_counter(client, candidate),
            strategy=client.context_strategy,
            provider=name,
        )
    except LLMError as exc:
        return Plan(route, skip=exc)
    return Plan(route, request=fitted, truncation=truncation)


def plans(client: ModelClient, route: _Route, request: Request) -> list[Plan]:
    """Each provider's turn at `request`, in order, with skips decided (circuits included)."""
    out: list[Plan] = []
    for index, item in enumerate(_routes(client, route, request)):
        if isinstance(item, Plan):
            out.append(item)
        else:
            out.append(_plan(client, item, request, fallback=index > 0))
    tried = [p for p in out if p.skip is None]
    if len(tried) > 1:
        closed = [p for p in tried if not breaker_for(p.provider).is_open()]
        if closed:  # with every circuit open, try them anyway rather than fail unasked
            out = [_skip_open(p) if p.skip is None and p not in closed else p for p in out]
    return out


def _skip_open(plan: Plan) -> Plan:
    breaker = breaker_for(plan.provider)
    return evolve(
        plan,
        skip=LLMError(
            f"circuit open for {breaker.reopens_in():.0f}s after {breaker.last_error}",
            provider=plan.provider.name,
        ),
    )


class _Attempt:
    """The bookkeeping of one provider's turn: budget, events, pricing, tracking."""

    def __init__(self, client: ModelClient, plan: Plan, *, has_next: bool) -> None:
        assert plan.request is not None
        self.client = client
        self.plan = plan
        self.request: Request = plan.request
        self.has_next = has_next
        self.hooks: ev.Hooks | None = client.hooks
        self.name = _client_name(client)
        self.sent_at = dt.datetime.now(dt.UTC)
        self.reservation: Reservation | None = None

    def _event(self, kind: ev.EventKind, **fields: Any) -> ev.Event:
        return ev.Event(
            kind,
            provider=self.plan.provider.name,
            model=self.request.model,
            client=self.name,
            request=self.request,
            **fields,
        )

    async def start(self) -> None:
        """Reserve the budget and announce the request."""
        budget = self.client.budget
        if budget is not None:
            entry = self.plan.route.entry
            prompt = _counter(self.client, self.request)(self.request.messages)
            limit = entry.max_output if isinstance(entry.max_output, int) else None
            output = self.request.max_tokens or limit
            estimate = worst_case(int(prompt), output, entry.prices)
            self.reservation = await budget.reserve(
                estimate, what=f"request to {self.request.model}"
            )
        reason = self.plan.truncation.describe() if self.plan.truncation else None
        ev.emit(self.hooks, self._event("request", reason=reason))

    def scope(self) -> Any:
        """The context the provider call runs in (hooks for retries, fallback waiting)."""
        return _Scope(self.hooks, self.name, self.has_next)

    async def succeed(self, response: Response) -> Response:
        """Price, settle, record and announce a reply; returns the priced reply."""
        breaker_for(self.plan.provider).record_success()
        if response.provider is None:
            response = evolve(response, provider=self.plan.provider.name)
        response = price_response(response, self.plan.route.entry.prices, when=self.sent_at)
        await self._settle(response.cost.total if response.cost is not None else None)
        tracker = self.client.cost_tracker
        if tracker is not None:
            tracker.record(response, client=self.name)
        ev.emit(self.hooks, self._event("response", response=response))
        return response

    async def fail(self, error: LLMError, *, delivered: bool = False) -> bool:
        """Release the budget and announce the failure; returns whether to fall back."""
        partial_cost = None
        if error.partial is not None and error.partial.usage.output_tokens:
            priced = price_response(error.partial, self.plan.route.entry.prices, when=self.sent_at)
            partial_cost = priced.cost.total if priced.cost is not None else None
        await self._settle(partial_cost, failed=True)
        fall = falls_back(error) and not delivered
        if fall:
            breaker_for(self.plan.provider).record_failure(error)
        ev.emit(self.hooks, self._event("error", error=error))
        return fall and self.has_next

    async def _settle(self, cost: float | None, *, failed: bool = False) -> None:
        budget = self.client.budget
        reservation, self.reservation = self.reservation, None
        if budget is None or reservation is None:
            return
        if failed and cost is None:
            await budget.release(reservation)
        else:
            await budget.settle(reservation, cost)

    async def abandon(self) -> None:
        """The caller stopped a stream early: count the worst case held (the safe side)."""
        await self._settle(None)


class _Scope:
    def __init__(self, hooks: ev.Hooks | None, client: str, has_next: bool) -> None:
        self._hooks = ev.using_hooks(hooks, client=client)
        self._waiting = waiting_fallback(has_next)

    def __enter__(self) -> None:
        self._hooks.__enter__()
        self._waiting.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._waiting.__exit__(*exc)
        self._hooks.__exit__(*exc)


def _announce_skip(client: ModelClient, plan: Plan, next_plan: Plan | None) -> None:
    assert plan.skip is not None
    ev.emit(
        client.hooks,
        ev.Event(
            "fallback",
            provider=plan.provider.name,
            model=plan.route.entry.id,
            client=_client_name(client),
            error=plan.skip,
            next_provider=next_plan.provider.name if next_plan else None,
            reason=f"skipped: {plan.skip.message}",
        ),
    )


def _announce_fallback(client: ModelClient, attempt: _Attempt, error: LLMError, nxt: Plan) -> None:
    ev.emit(
        attempt.hooks,
        attempt._event(
            "fallback",
            error=error,
            next_provider=nxt.provider.name,
            reason=f"{type(error).__name__}: {error.message}",
        ),
    )


def _next_tried(items: list[Plan], index: int) -> Plan | None:
    return next((p for p in items[index + 1 :] if p.skip is None), None)


async def complete(client: ModelClient, route: _Route, request: Request) -> Response:
    """Send `request` on the client's providers in turn; the first reply wins."""
    items = plans(client, route, request)
    first_error: LLMError | None = None
    for index, plan in enumerate(items):
        nxt = _next_tried(items, index)
        if plan.skip is not None:
            first_error = first_error or plan.skip
            if len(items) > 1:
                _announce_skip(client, plan, nxt)
            continue
        attempt = _Attempt(client, plan, has_next=nxt is not None)
        await attempt.start()
        try:
            with attempt.scope():
                response = await client._send(plan.route, attempt.request)
        except LLMError as error:
            if not await attempt.fail(error) or nxt is None:
                raise
            _announce_fallback(client, attempt, error, nxt)
            continue
        except BaseException:  # cancelled, or a bug: never leave the budget's hold behind
            with anyio.CancelScope(shield=True):
                await attempt.abandon()
            raise
        return await attempt.succeed(response)
    assert first_error is not None
    raise first_error


class _StreamState:
    def __init__(self) -> None:
        self.response: Response | None = None


def stream(client: ModelClient, route: _Route, request: Request) -> ResponseStream:
    """Stream `request` from the client's providers in turn; fall back only before an event."""
    state = _StreamState()

    def finish(timed: Response) -> Response:
        # the inner stream folded the events; this layer only adds the end-to-end latency
        assert state.response is not None, "a stream that ended cleanly has its reply"
        return evolve(state.response, latency=timed.latency)

    return ResponseStream(
        lambda: _stream_events(client, route, request, state),
        provider=route.provider.name,
        finish=finish,
        fold=False,
    )


async def _stream_events(
    client: ModelClient, route: _Route, request: Request, state: _StreamState
) -> AsyncIterator[StreamEvent]:
    items = plans(client, route, request)
    first_error: LLMError | None = None
    for index, plan in enumerate(items):
        nxt = _next_tried(items, index)
        if plan.skip is not None:
            first_error = first_error or plan.skip
            if len(items) > 1:
                _announce_skip(client, plan, nxt)
            continue
        attempt = _Attempt(client, plan, has_next=nxt is not None)
        await attempt.start()
        inner: ResponseStream | None = None
        delivered = False
        done = False
        try:
            # inside the try: the family's `prepare` may refuse the request, which must
            # release the budget's hold like any other failure
            inner = client._send_stream(plan.route, attempt.request)
            event = await _first_event(inner, attempt)
            if event is not None:
                delivered = event.has_content
                yield event
                async for event in inner:
                    delivered = delivered or event.has_content
                    yield event
            state.response = await attempt.succeed(inner.response)
            done = True
            return
        except LLMError as error:
            done = True
            if not await attempt.fail(error, delivered=delivered) or nxt is None:
                raise
            _announce_fallback(client, attempt, error, nxt)
        finally:
            if inner is not None:
                await inner.aclose()
            if not done:
                with anyio.CancelScope(shield=True):
                    await attempt.abandon()
    assert first_error is not None
    raise first_error


async def _first_event(inner: ResponseStream, attempt: _Attempt) -> StreamEvent | None:
    """`inner`'s first event (None if none), run with the attempt's hooks and fallback flag set.

    Retries and rate-limit hand-overs happen only before a stream's first
    event, so only this step needs them; the later steps run without the two
    context switches per event.
    """
    with attempt.scope():
        return await anext(inner, None)
