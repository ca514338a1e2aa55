"""Fallback providers and circuit breakers: when a host fails, the next one serves the request.

    client = DeepSeekClient(
        provider=OpenRouterProvider(), fallbacks=[DeepSeekProvider(), OllamaProvider()]
    )

Decisions are pure and live at the top of this module: which errors hand a
request on (`falls_back`), and a `CircuitBreaker` per provider instance
(shared by every client that uses it) that skips a provider after
`failure_threshold` failures in a row for `cooldown` seconds, or until the
reset time a 429 gave. The async shell (`complete`, `stream`) runs a
client's request on its providers in order; `llmkit.clients.ModelClient`
calls it for every `generate` and `stream`.

Each provider serves the request with its own model id from the catalog
(`fallback_entry`: the same canonical model when the call named one; else the
same canonical model when the host serves it, else the newest it serves). Before a provider is tried, the request is checked against that
model's context window and output limit: one that cannot fit is skipped
with a reason, not sent to fail. A stream falls back only before its first
event. The reply's `provider` says who served it; `on_fallback` events
record each provider left or skipped, and why.

Retry loops ask `llmkit.events.rate_limit_falls_back()`: while a fallback is waiting, a
rate-limited provider is left at once instead of sleeping through its retries.
"""

from __future__ import annotations

import datetime as dt
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from attrs import define, field

from llmkit import events
from llmkit.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    LLMError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

if TYPE_CHECKING:
    from llmkit.catalog import Catalog, CatalogEntry

__all__ = [
    "AllProvidersFailedError",
    "CircuitBreaker",
    "all_failed",
    "breaker_for",
    "fallback_entry",
    "falls_back",
    "rate_limit_falls_back",
    "waiting_fallback",
]

Clock = Callable[[], float]

_UNAVAILABLE = (
    APIConnectionError,
    APITimeoutError,
    ServerError,
    RateLimitError,
    ModelNotFoundError,
    AuthenticationError,
    PermissionDeniedError,
    ConfigurationError,
)


def falls_back(error: LLMError) -> bool:
    """Whether `error` hands the request to the next provider.

    Yes for what another host may not share: retryable errors (after the
    provider's own retries), rate limits, an unreachable or overloaded host,
    a model the host no longer serves, a missing or refused key. No for what
    every host would refuse (a bad request, a content filter) and for a
    stream that already delivered events.
    """
    return error.retryable or isinstance(error, _UNAVAILABLE)


class AllProvidersFailedError(LLMError):
    """Every provider of a fallback chain failed (or was skipped); `failures` says why, each.

    `failures` holds `(provider, error)` in the order the providers came, skipped
    ones included; the first provider's error is also the `__cause__`. The message
    names every provider and its cause, so the missing key of the primary is not
    hidden behind the fallback's.
    """

    def __init__(self, failures: Sequence[tuple[str, LLMError]]) -> None:
        """Args: failures: `(provider name, its error)`, in chain order (at least one)."""
        self.failures: tuple[tuple[str, LLMError], ...] = tuple(failures)
        causes = "; ".join(
            f"{name}: {type(error).__name__}: {error.message}" for name, error in self.failures
        )
        last = self.failures[-1][1]
        super().__init__(
            f"Every provider failed ({len(self.failures)}): {causes}",
            model=last.model,
            retryable=any(error.retryable for _, error in self.failures),
        )

    @property
    def errors(self) -> tuple[LLMError, ...]:
        """The errors alone, in chain order."""
        return tuple(error for _, error in self.failures)


def all_failed(failures: Sequence[tuple[str, LLMError]]) -> AllProvidersFailedError:
    """The error for a chain that ran out of providers, its `__cause__` the first failure."""
    error = AllProvidersFailedError(failures)
    error.__cause__ = error.failures[0][1]
    return error


def fallback_entry(
    catalog: Catalog,
    family: str,
    provider: str,
    primary: CatalogEntry,
    *,
    explicit: bool,
    today: dt.date | None = None,
) -> CatalogEntry:
    """The catalog entry a fallback `provider` serves a request with, `primary` having failed.

    A model the call or the client named (`explicit`) must be served as is: the
    fallback's entry for that canonical model, or an error. Otherwise the fallback
    serves the same canonical model when it still does (OpenRouter
    `deepseek/deepseek-v4-pro` falls back to DeepSeek's `deepseek-v4-pro`, not to a
    cheaper tier), else its newest model of the family.

    Raises:
        ConfigurationError: the fallback does not serve the named model, or serves
            no current model of the family.
    """
    if explicit:
        found = catalog.resolve(family, provider, primary.model)
        if not found.known:
            raise ConfigurationError(
                f"{provider} has no catalog entry for {primary.model}", provider=provider
            )
        return found
    day = today or dt.datetime.now(dt.UTC).date()
    for entry in catalog.entries(family, provider):
        if entry.model == primary.model and entry.served_on(day):
            return entry
    return catalog.resolve(family, provider, today=day)


@define
class CircuitBreaker:
    """Skips a failing provider for a while instead of trying and timing it out each time."""

    failure_threshold: int = 3
    """Failures in a row that open the circuit."""
    cooldown: float = 30.0
    """Seconds an opened circuit stays open (unless a 429 said how long)."""
    clock: Clock = field(default=time.monotonic, repr=False)
    failures: int = 0
    open_until: float = 0.0
    last_error: str | None = None

    def is_open(self) -> bool:
        """Whether the provider should be skipped now."""
        return self.clock() < self.open_until

    def reopens_in(self) -> float:
        """Seconds until the provider is tried again (0 when closed)."""
        return max(0.0, self.open_until - self.clock())

    def record_success(self) -> None:
        """The provider served a request: close the circuit."""
        self.failures = 0
        self.open_until = 0.0

    def record_failure(self, error: LLMError) -> None:
        """The provider failed with `error`; open the circuit if it is time to."""
        self.failures += 1
        self.last_error = f"{type(error).__name__}: {error.message}"
        now = self.clock()
        if isinstance(error, RateLimitError) and error.retry_after:
            self.open_until = max(self.open_until, now + error.retry_after)
        elif self.failures >= self.failure_threshold:
            self.open_until = max(self.open_until, now + self.cooldown)


_breakers: weakref.WeakKeyDictionary[Any, CircuitBreaker] = weakref.WeakKeyDictionary()
_breakers_by_id: dict[int, CircuitBreaker] = {}


def breaker_for(provider: object) -> CircuitBreaker:
    """The circuit breaker of `provider` (one per instance, shared by its clients)."""
    try:
        breaker = _breakers.get(provider)
        if breaker is None:
            breaker = _breakers[provider] = CircuitBreaker()
        return breaker
    except TypeError:  # not weak-referenceable
        return _breakers_by_id.setdefault(id(provider), CircuitBreaker())


# The "a fallback is waiting" flag lives beside the hooks in `llmkit.events` (provider code
# reads it there); these names stay importable from here.
rate_limit_falls_back = events.rate_limit_falls_back
waiting_fallback = events.waiting_fallback
