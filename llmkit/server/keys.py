"""The gateway's API keys: who may call, which models, how fast, how much.

A key is known by its SHA-256 digest only: configured keys (`server.keys`,
`key` or `key_sha256`) and minted ones (`llmkit.server.store`) are looked up by
the digest of the bearer token, so no key is ever held or logged in clear
beyond the configuration the user wrote. Each key has its own
`llmkit.ratelimit.RateLimit` and, per period, its own `llmkit.budget.Budget`;
with `server.redis_url` both live in Redis (`RedisBackend`, `RedisBudgetBackend`),
so every replica enforces one limit per key.

Limits never queue here: a request that does not fit now is refused with 429 and
`Retry-After`, which is what API clients expect from a gateway.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from attrs import define, field, frozen

from llmkit import _redis_scripts
from llmkit.budget import MemoryBudgetBackend
from llmkit.errors import BudgetExceededError, RateLimitError
from llmkit.ratelimit import Lease, MemoryBackend

if TYPE_CHECKING:
    from llmkit._config_schema import ServerBudgetConfig, ServerKeyConfig, ServerRateLimitConfig
    from llmkit.budget import Budget, Reservation
    from llmkit.ratelimit import RateLimit

__all__ = [
    "ApiKey", "Grant", "digest", "drain", "log_settle_failure", "period_label", "redis_client",
    "settle_later",
]  # fmt: skip

_log = logging.getLogger("llmkit.server")


def redis_client(url: str, *, max_connections: int = 256) -> Any:
    """One `redis.asyncio.Redis` for the gateway's limits, budgets and keys: a blocking pool,
    so that a burst of requests waits for a connection instead of failing."""
    from llmkit._imports import require

    redis = require("redis.asyncio", extra="server")
    pool = redis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=20)
    return redis.Redis(connection_pool=pool)


def digest(token: str) -> str:
    """The SHA-256 hex digest of a key: how the gateway knows it."""
    return hashlib.sha256(token.encode()).hexdigest()


def period_label(period: str, now: dt.datetime | None = None) -> tuple[str, float]:
    """The current budget period's name (`2026-12`, `2026-W49`, `2026-12-02`, `total`)
    and the seconds until the next one starts (inf for `total`)."""
    now = now or dt.datetime.now(dt.UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        label, end = day.strftime("%Y-%m-%d"), day + dt.timedelta(days=1)
    elif period == "week":
        year, week, weekday = now.isocalendar()
        label, end = f"{year}-W{week:02d}", day + dt.timedelta(days=8 - weekday)
    elif period == "month":
        first = day.replace(day=1)
        label = first.strftime("%Y-%m")
        end = (first + dt.timedelta(days=32)).replace(day=1)
    else:
        return "total", math.inf
    return label, (end - now).total_seconds()


@frozen
class Grant:
    """What one admitted request holds, to give back when it ends."""

    lease: Lease | None = None
    reservation: Reservation | None = None
    budget: Budget | None = None
    remote: bool = False
    """Whether giving it back takes a round trip (Redis), so that it is worth doing after
    the reply instead of before (`Settles`); in memory settling never suspends."""


_NOTHING = Grant()


@define
class ApiKey:
    """One key of the gateway, by name (metrics and logs show the name, never the key)."""

    name: str
    models: frozenset[str] | None = None
    """The model names it may use; None: all."""
    rate_limit: RateLimit | None = None
    budget_limit: float | None = None
    budget_period: str = "total"
    metadata: dict[str, Any] = field(factory=dict)
    redis_url: str | None = None
    redis_client: Any = field(default=None, repr=False)
    """The gateway's shared `redis.asyncio.Redis` (a blocking pool: waits for a connection)."""
    _budgets: dict[str, Budget] = field(factory=dict, repr=False)
    _period: tuple[str, float] | None = field(default=None, repr=False)
    """This budget period's label and when it ends (Unix seconds)."""

    @classmethod
    def from_config(
        cls, name: str, entry: ServerKeyConfig, redis_url: str | None, redis_client: Any = None
    ) -> ApiKey:
        """A key from its `server.keys.<name>` entry."""
        return cls.build(
            name,
            models=entry.models,
            rate_limit=entry.rate_limit,
            budget=entry.budget,
            metadata=entry.metadata,
            redis_url=redis_url,
            redis_client=redis_client,
        )

    @classmethod
    def build(
        cls,
        name: str,
        *,
        models: Any = None,
        rate_limit: ServerRateLimitConfig | Mapping[str, Any] | None = None,
        budget: ServerBudgetConfig | Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        redis_url: str | None = None,
        redis_client: Any = None,
    ) -> ApiKey:
        """A key from its settings (configured, or minted at `/keys`)."""
        limit = None
        if rate_limit is not None:
            limit = _rate_limit(name, _fields(rate_limit), redis_url, redis_client)
        budget_fields = _fields(budget) if budget is not None else {}
        return cls(
            name,
            frozenset(models) if models is not None else None,
            limit,
            budget_fields.get("limit_usd"),
            budget_fields.get("period") or "total",
            dict(metadata or {}),
            redis_url,
            redis_client,
        )

    def allows(self, model: str) -> bool:
        """Whether this key may use `model`."""
        return self.models is None or model in self.models

    def budget(self) -> tuple[Budget | None, float]:
        """This period's budget (None without one), and the seconds until the next period."""
        if self.budget_limit is None:
            return None, math.inf
        now = time.time()
        if self._period is None or now >= self._period[1]:  # the label: once per period
            label, left = period_label(self.budget_period)
            self._period = (label, now + left)
        label, left = self._period[0], self._period[1] - now
        budget = self._budgets.get(label)
        if budget is None:
            from llmkit.budget import Budget

            backend = None
            if self.redis_url:
                from llmkit.cost_redis import RedisBudgetBackend

                key = f"gateway:{self.name}:{label}"
                backend = RedisBudgetBackend(
                    self.redis_url, key=key, client=self.redis_client, reservation_ttl=900.0
                )
            self._budgets.clear()  # a past period's budget is not needed any more
            budget = Budget(self.budget_limit, warn_at=None, allow_unpriced=True, backend=backend)
            self._budgets[label] = budget
        return budget, left

    async def admit(self, amounts: Mapping[str, float], worst_case_usd: float | None) -> Grant:
        """Take this request's share of the key's limits and budget, or refuse it now.

        With both in Redis the lease and the budget's hold are asked for at once (one
        round trip of latency, not two); whichever is refused, the other is given back
        before the error is raised, so a refused request keeps nothing.

        Raises:
            RateLimitError: a limit is reached (`retry_after`: when to try again).
            BudgetExceededError: the budget could be crossed (`retry_after` on the error
                is the seconds until the next period).
        """
        limit = self.rate_limit
        if limit is None and self.budget_limit is None:
            return _NOTHING  # an open key: nothing to take, nothing to give back
        budget, left = self.budget()
        remote = _remote(limit, budget)
        if limit is not None and budget is not None and remote:
            return await self._admit_both(limit, budget, left, amounts, worst_case_usd)
        lease = None
        if limit is not None:
            lease = await _try_lease(limit, amounts, self.name)
        reservation = None
        if budget is not None:
            try:
                reservation = await budget.reserve(worst_case_usd)
            except BudgetExceededError as exc:
                if lease is not None and limit is not None:
                    await limit.release(lease)
                _until_next_period(exc, left)
                raise
        return Grant(lease, reservation, budget, remote)

    async def _admit_both(
        self,
        limit: RateLimit,
        budget: Budget,
        left: float,
        amounts: Mapping[str, float],
        worst_case_usd: float | None,
    ) -> Grant:
        """`admit` with the lease and the reservation asked for concurrently."""
        reserving = asyncio.ensure_future(budget.reserve(worst_case_usd))
        try:
            lease = await _try_lease(limit, amounts, self.name)
        except BaseException:  # refused (or failed, or cancelled): the hold goes back too
            with anyio.CancelScope(shield=True):
                held = await _outcome(reserving)
                if held is not None:
                    await budget.release(held)
            raise
        try:
            reservation = await asyncio.shield(reserving)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await limit.release(lease)
                if not isinstance(exc, Exception):  # cancelled: the hold may still land
                    held = await _outcome(reserving)
                    if held is not None:
                        await budget.release(held)
            if isinstance(exc, BudgetExceededError):
                _until_next_period(exc, left)
            raise
        return Grant(lease, reservation, budget, True)

    async def settle(self, grant: Grant, usage: Any, cost_usd: float | None) -> None:
        """Give back what `grant` holds; count the real usage and cost.

        A lease and a reservation both in Redis are settled concurrently (one round trip
        of latency); in memory this never suspends.
        """
        releasing = grant.lease is not None and self.rate_limit is not None
        settling = grant.reservation is not None and grant.budget is not None
        if releasing and settling and grant.remote:
            # both run to their end even if one fails (a task group would cancel the other)
            done = await asyncio.gather(
                self._release(grant, usage),
                self._settle_budget(grant, cost_usd),
                return_exceptions=True,
            )
            for outcome in done:
                if isinstance(outcome, BaseException):
                    raise outcome
            return
        if releasing:
            await self._release(grant, usage)
        if settling:
            await self._settle_budget(grant, cost_usd)

    async def _release(self, grant: Grant, usage: Any) -> None:
        assert grant.lease is not None and self.rate_limit is not None
        await self.rate_limit.release(grant.lease, usage)

    async def _settle_budget(self, grant: Grant, cost_usd: float | None) -> None:
        assert grant.reservation is not None and grant.budget is not None
        await grant.budget.settle(grant.reservation, cost_usd)


def settle_later(
    pending: set[asyncio.Task[None]], key: ApiKey, grant: Grant, usage: Any, cost_usd: float | None
) -> None:
    """Settle `grant` in a task of its own, kept in `pending` until it ends (`drain` awaits
    what is left on shutdown); a failure is logged at WARNING, by the key's name."""
    task = asyncio.get_running_loop().create_task(_settle_deferred(key, grant, usage, cost_usd))
    pending.add(task)

    def done(task: asyncio.Task[None]) -> None:
        pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log_settle_failure(key.name, task.exception())

    task.add_done_callback(done)


SETTLE_DEFER = 0.002
"""Seconds a settle in Redis may wait to share the next pipeline (`llmkit._redis_scripts`):
the next request's admission, usually, so that a caller's back-to-back requests cost one
round trip each instead of two."""


async def _settle_deferred(key: ApiKey, grant: Grant, usage: Any, cost_usd: float | None) -> None:
    with _redis_scripts.deferred(SETTLE_DEFER):
        await key.settle(grant, usage, cost_usd)


async def drain(
    pending: set[asyncio.Task[None]], seconds: float, *, busy: Callable[[], bool] | None = None
) -> None:
    """Wait up to `seconds` (at least one) for the settles still under way, on shutdown, and
    for those still to come while `busy()` (streams cancelled by the shutdown are closing:
    their settles start when they end); cancel and log what is left, so shutdown is bounded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(seconds, 1.0)
    while (pending or (busy is not None and busy())) and loop.time() < deadline:
        if pending:
            await asyncio.wait(set(pending), timeout=deadline - loop.time())
        else:
            await asyncio.sleep(0.01)
    late = set(pending)
    for task in late:
        task.cancel()
    if late:
        _log.warning(
            "llmkit gateway: %d settle(s) of limits and budgets did not finish within %s s "
            "of shutdown (server.drain_seconds); their leases and holds expire in Redis",
            len(late), seconds,
        )  # fmt: skip


def log_settle_failure(name: str, exc: BaseException | None) -> None:
    """Say at WARNING that settling key `name` failed (the reply is sent: the caller never
    sees it); the message is redacted (a Redis URL's password, anything key-shaped)."""
    from llmkit.errors import redact

    _log.warning(
        "llmkit gateway: settling key %s failed: %s: %s", name, type(exc).__name__, redact(str(exc))
    )


def _remote(limit: RateLimit | None, budget: Budget | None) -> bool:
    """Whether the key's lease or budget hold lives outside this process (Redis)."""
    if limit is not None and not isinstance(limit.backend, MemoryBackend):
        return True
    return budget is not None and not isinstance(budget.backend, MemoryBudgetBackend)


async def _outcome(task: asyncio.Future[Reservation]) -> Reservation | None:
    """What `task` reserved, once it ends; None if it was refused or failed."""
    try:
        return await task
    except Exception:
        return None


def _until_next_period(exc: BudgetExceededError, left: float) -> None:
    """A refused budget's `retry_after`: the seconds until the next period (None: `total`)."""
    exc.retry_after = None if math.isinf(left) else left  # type: ignore[attr-defined]


def _fields(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    import attrs

    return attrs.asdict(value, recurse=False)


def _rate_limit(
    name: str, fields: dict[str, Any], redis_url: str | None, redis_client: Any
) -> RateLimit | None:
    from llmkit.ratelimit import RateLimit

    rpm, tpm = fields.get("requests_per_minute"), fields.get("tokens_per_minute")
    concurrency = fields.get("concurrency")
    if rpm is None and tpm is None and concurrency is None:
        return None
    backend = None
    if redis_url:
        from llmkit.ratelimit.redis import RedisBackend

        backend = RedisBackend(redis_url, key=f"gateway:{name}", client=redis_client)
    return RateLimit(
        requests_per_minute=rpm,
        tokens_per_minute=tpm,
        max_concurrency=concurrency,
        backend=backend,
    )


async def _try_lease(limit: RateLimit, amounts: Mapping[str, float], name: str) -> Lease:
    """A lease if `amounts` fit now, else `RateLimitError` with the wait."""
    key = f"gw-{uuid.uuid4().hex}"
    backend = limit.backend
    if isinstance(backend, MemoryBackend):
        wait, now = backend.try_acquire_nowait(key, amounts)
    else:
        wait, now = await backend.try_acquire(key, amounts)
    if wait > 0:
        retry_after = 1.0 if math.isinf(wait) else wait
        raise RateLimitError(
            f"Rate limit of key '{name}' reached; retry after {math.ceil(retry_after)} s",
            retry_after=retry_after,
        )
    return Lease(key, amounts, now)
