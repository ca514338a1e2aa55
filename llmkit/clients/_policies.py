"""The policies around one client call: context window, budget, cost, events, fallback.

`ModelClient.generate` and `.stream` hand their request here, with what
this module needs and nothing else: the request, the `Route` it was resolved
for, the client's `Policies` (a frozen value the client builds once and
swaps whole when a setting changes) and the client's `send` / `send_stream`.
Calls go one way: nothing here reaches back into the client object. For each
of the providers in turn (the route's, then `Policies.fallbacks`), one
attempt:

1. resolve the model id that provider knows (`Plan`), skipping a provider
   that does not serve the model, whose circuit is open, or whose window or
   output limit the request cannot fit (`llmkit.context`);
2. reserve the worst case on the `budget` (`llmkit.budget.Budget`);
3. emit `on_request`, call `send` / `send_stream` with the plan's route
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
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
from attrs import evolve, frozen

from llmkit import events as ev
from llmkit.budget import Reservation
from llmkit.catalog import Catalog, CatalogEntry
from llmkit.context import ContextStrategy, Truncation, fit_request
from llmkit.cost import price_response, worst_case
from llmkit.errors import ConfigurationError, InvalidRequestError, LLMError
from llmkit.fallback import all_failed, breaker_for, fallback_entry, falls_back
from llmkit.providers._stream import ResponseStream
from llmkit.tokens import count_messages
from llmkit.types import Message, Request, Response, StreamEvent

if TYPE_CHECKING:
    from llmkit.budget import Budget
    from llmkit.cost import CostTracker
    from llmkit.providers._base import Provider

__all__ = ["Plan", "Policies", "Route", "Send", "SendStream", "complete", "plans", "stream"]


@frozen
class Route:
    """A provider and the catalog entry resolved for it: swapped together, read once per request."""

    provider: Provider
    entry: CatalogEntry
    unserved: ConfigurationError | None = None
    """Why `provider` cannot serve this family (then only the fallbacks are tried)."""


@frozen
class Policies:
    """A client's shared policies, as one frozen value the client builds once.

    The client replaces it whole (`attrs.evolve`) when one of its settings is
    assigned, so a call under way keeps the value it started with.
    """

    catalog: Catalog
    family: str
    client: str
    """The client's name in events and on the cost tracker."""
    fallbacks: tuple[Provider, ...] = ()
    cost_tracker: CostTracker | None = None
    budget: Budget | None = None
    hooks: ev.Hooks | None = None
    context_strategy: ContextStrategy | None = None
    tokenizer: Any = None


Send = Callable[[Route, Request], Awaitable[Response]]
"""Sends one request on one route and returns the family's reply (the client's `_send`)."""
SendStream = Callable[[Route, Request], ResponseStream]
"""The streaming twin of `Send` (the client's `_send_stream`)."""


@frozen
class Plan:
    """One provider's turn at a request: what to send, or why it is skipped."""

    route: Route
    request: Request | None = None
    truncation: Truncation | None = None
    skip: LLMError | None = None
    """Why the provider is not tried (None: it is)."""

    @property
    def provider(self) -> Provider:
        """The provider of this turn."""
        return self.route.provider


def _routes(policies: Policies, route: Route, request: Request) -> list[Route | Plan]:
    """The primary route, then each fallback's route (or a skipped plan saying why not)."""
    entry = route.entry
    out: list[Route | Plan] = [Plan(route, skip=route.unserved) if route.unserved else route]
    explicit = entry.source == "explicit"
    for provider in policies.fallbacks:
        try:
            found = fallback_entry(
                policies.catalog, policies.family, provider.name, entry, explicit=explicit
            )
        except ConfigurationError as exc:
            bare = CatalogEntry(
                policies.family, entry.model, provider.name, entry.model, known=False
            )
            out.append(Plan(Route(provider, bare), skip=exc))
            continue
        out.append(Route(provider, found))
    return out


def _counter(policies: Policies, request: Request) -> Any:
    tokenizer = policies.tokenizer

    def count(messages: Sequence[Message]) -> Any:
        return count_messages(messages, request.model, tools=request.tools, tokenizer=tokenizer)

    return count


def _plan(policies: Policies, route: Route, request: Request, *, fallback: bool) -> Plan:
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
            count=_counter(policies, candidate),
            strategy=policies.context_strategy,
            provider=name,
        )
    except LLMError as exc:
        return Plan(route, skip=exc)
    return Plan(route, request=fitted, truncation=truncation)


def plans(policies: Policies, route: Route, request: Request) -> list[Plan]:
    """Each provider's turn at `request`, in order, with skips decided (circuits included).

    `route.entry` is the entry `request.model` was resolved to (the client's, or
    the call's own `model=`); it is read, never searched for again.
    """
    out: list[Plan] = []
    for index, item in enumerate(_routes(policies, route, request)):
        if isinstance(item, Plan):
            out.append(item)
        else:
            out.append(_plan(policies, item, request, fallback=index > 0))
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

    def __init__(self, policies: Policies, plan: Plan, *, has_next: bool) -> None:
        assert plan.request is not None
        self.policies = policies
        self.plan = plan
        self.request: Request = plan.request
        self.has_next = has_next
        self.hooks: ev.Hooks | None = policies.hooks
        self.name = policies.client
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
        budget = self.policies.budget
        if budget is not None:
            entry = self.plan.route.entry
            prompt = _counter(self.policies, self.request)(self.request.messages)
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
        return ev.using_hooks(self.hooks, client=self.name, fallback_waiting=self.has_next)

    async def succeed(self, response: Response) -> Response:
        """Price, settle, record and announce a reply; returns the priced reply."""
        breaker_for(self.plan.provider).record_success()
        if response.provider is None:
            response = evolve(response, provider=self.plan.provider.name)
        response = price_response(response, self.plan.route.entry.prices, when=self.sent_at)
        await self._settle(response.cost.total if response.cost is not None else None)
        tracker = self.policies.cost_tracker
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
        budget = self.policies.budget
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


def _announce_skip(policies: Policies, plan: Plan, next_plan: Plan | None) -> None:
    assert plan.skip is not None
    ev.emit(
        policies.hooks,
        ev.Event(
            "fallback",
            provider=plan.provider.name,
            model=plan.route.entry.id,
            client=policies.client,
            error=plan.skip,
            next_provider=next_plan.provider.name if next_plan else None,
            reason=f"skipped: {plan.skip.message}",
        ),
    )


def _announce_fallback(attempt: _Attempt, error: LLMError, nxt: Plan) -> None:
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


async def complete(policies: Policies, send: Send, route: Route, request: Request) -> Response:
    """Send `request` on the route's provider, then the fallbacks, in turn; the first reply wins."""
    items = plans(policies, route, request)
    failed: dict[int, LLMError] = {}
    for index, plan in enumerate(items):
        nxt = _next_tried(items, index)
        if plan.skip is not None:
            if len(items) > 1:
                _announce_skip(policies, plan, nxt)
            continue
        attempt = _Attempt(policies, plan, has_next=nxt is not None)
        await attempt.start()
        try:
            with attempt.scope():
                response = await send(plan.route, attempt.request)
        except LLMError as error:
            failed[index] = error
            if not await attempt.fail(error) or nxt is None:
                _raise_exhausted(items, failed, error)
                raise
            _announce_fallback(attempt, error, nxt)
            continue
        except BaseException:  # cancelled, or a bug: never leave the budget's hold behind
            with anyio.CancelScope(shield=True):
                await attempt.abandon()
            raise
        return await attempt.succeed(response)
    _raise_exhausted(items, failed, None)
    raise AssertionError("unreachable: every plan was skipped")  # pragma: no cover


def _raise_exhausted(
    items: list[Plan],
    failed: dict[int, LLMError],
    error: LLMError | None,
    *,
    delivered: bool = False,
) -> None:
    """Raise the chain's error when it ran out of providers: with more than one provider,
    one error carrying every provider's failure (`llmkit.fallback.all_failed`); with one,
    its own error. Returns (the caller re-raises `error` as is) when `error` would not
    have fallen back anyway (a bad request, a stream already under way)."""
    if error is not None and (delivered or not falls_back(error)):
        return
    failures = [
        (plan.provider.name, plan.skip if plan.skip is not None else failed[i])
        for i, plan in enumerate(items)
        if plan.skip is not None or i in failed
    ]
    if len(failures) > 1:
        raise all_failed(failures)
    if error is None:
        raise failures[0][1]


class _StreamState:
    def __init__(self) -> None:
        self.response: Response | None = None


def stream(
    policies: Policies, send_stream: SendStream, route: Route, request: Request
) -> ResponseStream:
    """Stream `request` from the route's provider, then the fallbacks; fall back only
    before an event."""
    state = _StreamState()

    def finish(timed: Response) -> Response:
        # the inner stream folded the events; this layer only adds the end-to-end latency
        assert state.response is not None, "a stream that ended cleanly has its reply"
        return evolve(state.response, latency=timed.latency)

    return ResponseStream(
        lambda: _stream_events(policies, send_stream, route, request, state),
        provider=route.provider.name,
        finish=finish,
        fold=False,
    )


async def _stream_events(
    policies: Policies,
    send_stream: SendStream,
    route: Route,
    request: Request,
    state: _StreamState,
) -> AsyncIterator[StreamEvent]:
    items = plans(policies, route, request)
    failed: dict[int, LLMError] = {}
    for index, plan in enumerate(items):
        nxt = _next_tried(items, index)
        if plan.skip is not None:
            if len(items) > 1:
                _announce_skip(policies, plan, nxt)
            continue
        attempt = _Attempt(policies, plan, has_next=nxt is not None)
        await attempt.start()
        inner: ResponseStream | None = None
        delivered = False
        done = False
        try:
            # inside the try: the family's `prepare` may refuse the request, which must
            # release the budget's hold like any other failure
            inner = send_stream(plan.route, attempt.request)
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
            failed[index] = error
            if not await attempt.fail(error, delivered=delivered) or nxt is None:
                _raise_exhausted(items, failed, error, delivered=delivered)
                raise
            _announce_fallback(attempt, error, nxt)
        finally:
            if inner is not None:
                await inner.aclose()
            if not done:
                with anyio.CancelScope(shield=True):
                    await attempt.abandon()
    _raise_exhausted(items, failed, None)


async def _first_event(inner: ResponseStream, attempt: _Attempt) -> StreamEvent | None:
    """`inner`'s first event (None if none), run with the attempt's hooks and fallback flag set.

    Retries and rate-limit hand-overs happen only before a stream's first
    event, so only this step needs them; the later steps run without the two
    context switches per event.
    """
    with attempt.scope():
        return await anext(inner, None)
