"""Hooks that logging, cost tracking and metrics subscribe to, and the `llmkit` logger.

Five moments of a call are reported: `request` (about to be sent to a
provider), `response` (a reply arrived), `retry` (a provider attempt failed
and will be retried), `error` (a call failed for good, or a provider gave up
before a fallback), and `fallback` (the next provider takes over). Each is an
`Event`; a `Hooks` object holds the callbacks:

    hooks = Hooks()
    hooks.on_response(lambda event: print(event.provider, event.response.cost))
    client = DeepSeekClient(provider=..., hooks=hooks)

Every event is also written to the standard `logging` logger `llmkit`
(DEBUG for requests and responses, INFO for retries and fallbacks, WARNING
for errors). Records hold names, numbers and error messages only: never
a prompt, a reply's text, or a key (error messages pass through
`llmkit.errors.redact`).

Provider code (retries live in `llmkit.providers._calls`) reaches the hooks
of the client that made the call through `retrying(...)`: the client puts its
hooks in a context variable around each provider call, so a provider shared
by many clients reports each retry to the right one. The same variable says
whether a fallback provider is waiting (`rate_limit_falls_back()`), so
provider code never imports `llmkit.fallback`.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Literal, TypeVar

from attrs import field, frozen

from llmkit.errors import LLMError, redact

if TYPE_CHECKING:
    from llmkit.types import Request, Response

__all__ = [
    "Event",
    "EventKind",
    "Hook",
    "Hooks",
    "caching",
    "describe",
    "emit",
    "logger",
    "rate_limit_falls_back",
    "retrying",
    "using_hooks",
    "waiting_fallback",
]

logger = logging.getLogger("llmkit")
logger.addHandler(logging.NullHandler())  # a library logs only where the application asks

EventKind = Literal["request", "response", "retry", "error", "fallback", "cache"]
T = TypeVar("T")


@frozen
class Event:
    """One reported moment of a call; fields that do not apply are None."""

    kind: EventKind
    provider: str | None = None
    """The provider this moment concerns (for `fallback`: the one that failed or was skipped)."""
    model: str | None = None
    """The model id sent to that provider."""
    client: str | None = None
    """The client's name (its `name` attribute, or its class name)."""
    attempt: int | None = None
    """For `retry`: the attempt that failed (1 = the first)."""
    request: Request | None = field(default=None, repr=False)
    response: Response | None = field(default=None, repr=False)
    error: LLMError | None = None
    delay: float | None = None
    """For `retry`: seconds until the next attempt."""
    next_provider: str | None = None
    """For `fallback`: the provider that is tried next."""
    reason: str | None = None
    """For `fallback`: why the provider was left (or skipped); for `request`: what was truncated."""
    size: int | None = None
    """For `cache`: bytes read (a hit) or stored (a store)."""
    time: float = field(factory=time.time)
    """Unix time of the moment."""


Hook = Callable[[Event], object]
"""A callback: takes an `Event`; its return value is ignored and its exceptions are logged."""


class Hooks:
    """Callbacks per event kind; register with `on_request(fn)` etc. (usable as decorators)."""

    def __init__(self) -> None:
        self._hooks: dict[str, list[Hook]] = {}

    def add(self, kind: EventKind, hook: Hook) -> Hook:
        """Call `hook` for every event of `kind`; returns `hook`."""
        self._hooks.setdefault(kind, []).append(hook)
        return hook

    def remove(self, kind: EventKind, hook: Hook) -> None:
        """Stop calling `hook` for `kind` (no error if it was not registered)."""
        with contextlib.suppress(ValueError):
            self._hooks.get(kind, []).remove(hook)

    def on_request(self, hook: Hook) -> Hook:
        """Call `hook` before each provider attempt is sent."""
        return self.add("request", hook)

    def on_response(self, hook: Hook) -> Hook:
        """Call `hook` with each reply (`event.response`)."""
        return self.add("response", hook)

    def on_retry(self, hook: Hook) -> Hook:
        """Call `hook` when a provider attempt failed and will be retried."""
        return self.add("retry", hook)

    def on_error(self, hook: Hook) -> Hook:
        """Call `hook` when a provider fails for good (`event.error`)."""
        return self.add("error", hook)

    def on_fallback(self, hook: Hook) -> Hook:
        """Call `hook` when a provider is left for the next one (or skipped)."""
        return self.add("fallback", hook)

    def on_cache(self, hook: Hook) -> Hook:
        """Call `hook` on each response-cache lookup and store (`reason`: hit, miss, store)."""
        return self.add("cache", hook)

    def hooks(self, kind: EventKind) -> tuple[Hook, ...]:
        """The callbacks registered for `kind`."""
        return tuple(self._hooks.get(kind, ()))


_LEVELS: dict[str, int] = {
    "request": logging.DEBUG,
    "response": logging.DEBUG,
    "retry": logging.INFO,
    "fallback": logging.WARNING,  # a hand-over to another host is worth seeing
    "error": logging.WARNING,
    "cache": logging.DEBUG,
}


def describe(event: Event) -> str:
    """A one-line, secret-free description of `event` for logs."""
    parts = [f"llmkit {event.kind}"]
    for name in ("client", "provider", "model", "attempt", "next_provider"):
        value = getattr(event, name)
        if value is not None:
            parts.append(f"{name}={value}")
    if event.delay is not None:
        parts.append(f"delay={event.delay:.2f}s")
    response = event.response
    if response is not None:
        usage = response.usage
        parts.append(f"input_tokens={usage.input_tokens} output_tokens={usage.output_tokens}")
        if response.cost is not None:
            parts.append(f"cost_usd={response.cost.total:.6f}")
        if response.latency.total is not None:
            parts.append(f"latency={response.latency.total:.3f}s")
    if event.error is not None:
        parts.append(f"error={type(event.error).__name__}: {redact(event.error.message)}")
    if event.reason:
        parts.append(f"reason={redact(event.reason)}")
    if event.size is not None:
        parts.append(f"bytes={event.size}")
    return " ".join(parts)


def emit(hooks: Hooks | None, event: Event) -> None:
    """Log `event` to the `llmkit` logger and call each hook for its kind.

    A hook that raises does not break the call: its exception is logged.
    """
    level = _LEVELS[event.kind]
    if logger.isEnabledFor(level):
        logger.log(level, describe(event), extra={"llmkit_event": event.kind})
    if hooks is None:
        return
    for hook in hooks.hooks(event.kind):
        try:
            hook(event)
        except Exception:
            logger.exception("llmkit %s hook %r raised; the call goes on", event.kind, hook)


_emit = emit
"""`emit` as defined here (the instrumentation swaps in its own while it is on)."""


# -- the hooks of the call under way -------------------------------------------

_current: contextvars.ContextVar[tuple[Hooks | None, str | None, bool]] = contextvars.ContextVar(
    "llmkit_hooks", default=(None, None, False)
)
"""The call under way: its client's hooks, the client's name, and whether a fallback waits."""


@contextlib.contextmanager
def using_hooks(
    hooks: Hooks | None, *, client: str | None = None, fallback_waiting: bool = False
) -> Iterator[None]:
    """Within the block, `retrying` reports to `hooks` on behalf of `client`, and
    `rate_limit_falls_back()` is `fallback_waiting` (one context switch for both)."""
    token = _current.set((hooks, client, fallback_waiting))
    try:
        yield
    finally:
        _current.reset(token)


@contextlib.contextmanager
def waiting_fallback(waiting: bool) -> Iterator[None]:
    """Within the block, `rate_limit_falls_back()` is `waiting` (the hooks are kept)."""
    hooks, client, _ = _current.get()
    token = _current.set((hooks, client, waiting))
    try:
        yield
    finally:
        _current.reset(token)


def rate_limit_falls_back() -> bool:
    """Whether a rate-limited call should give up at once because a fallback is waiting.

    Retry loops (`llmkit.providers._calls`) ask this before sleeping on a 429.
    """
    return _current.get()[2]


async def iterate_using_hooks(
    events: AsyncIterator[T], hooks: Hooks | None, *, client: str | None = None
) -> AsyncIterator[T]:
    """Iterate `events` with `hooks` current during each step (for streams).

    The context variable is set and reset within each step, so it never leaks
    into the caller's context between events.
    """
    iterator = events.__aiter__()
    try:
        while True:
            with using_hooks(hooks, client=client):
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    return
            yield item
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def retrying(
    *,
    provider: str,
    model: str | None,
    attempt: int,
    error: LLMError,
    delay: float,
    request: Request | None = None,
) -> None:
    """Report that `attempt` failed with `error` and the next one starts in `delay` seconds.

    The one function the retry loop (`llmkit.providers._calls`) calls: it logs
    the retry and calls the `on_retry` hooks of the client whose call this is.
    Safe to call from any provider code; with no client around, it only logs.
    """
    hooks, client, _ = _current.get()
    emit(
        hooks,
        Event(
            "retry",
            provider=provider,
            model=model,
            client=client,
            attempt=attempt,
            error=error,
            delay=delay,
            request=request,
        ),
    )


def caching(reason: str, *, provider: str | None, model: str | None, size: int | None) -> None:
    """Report a response-cache `hit`, `miss` or `store` to the hooks of the call under way."""
    hooks, client, _ = _current.get()
    if hooks is None and emit is _emit and not logger.isEnabledFor(logging.DEBUG):
        return  # nobody listens (`llmkit.instrument()` replaces `emit`): one read, no event
    emit(
        hooks,
        Event("cache", provider=provider, model=model, client=client, reason=reason, size=size),
    )


def current_client() -> str | None:
    """The name of the client whose call is under way, if any (for provider-side logs)."""
    return _current.get()[1]
