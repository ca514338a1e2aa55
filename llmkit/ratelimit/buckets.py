"""Rate-limit arithmetic: pure state that takes `now`, never sleeps, never awaits.

`LimiterState` combines everything that can hold a request back:

- a sliding `Window` per configured limit (requests or tokens per minute): in
  *any* period of `period` seconds the amounts taken never add up to more than
  `limit` (stricter than a token bucket, which lets twice the limit through a
  minute that starts with a full bucket);
- a `Quota` per limit the host reported in its headers: `remaining` until
  `reset_at`, however long the host's own window is (Groq's requests: a day);
- a pause until a time (after a 429, for everybody);
- a cap on requests in flight.

`llmkit.ratelimit` drives it (in memory) and `llmkit.ratelimit.redis` mirrors
the same rules in Lua; tests check both against the same invariants.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping

from llmkit.ratelimit.headers import QuotaSnapshot

__all__ = ["DEFAULT_RESET", "LimiterState", "Quota", "Window"]

DEFAULT_RESET = 60.0
"""Seconds a reported quota holds when the host gave no reset time."""

_EPSILON = 1e-9


class _Entry:
    __slots__ = ("amount", "key", "time")

    def __init__(self, time: float, amount: float, key: str) -> None:
        self.time = time
        self.amount = amount
        self.key = key


class Window:
    """At most `limit` taken in any `period` seconds (a sliding log of what was taken)."""

    def __init__(self, limit: float, period: float = 60.0) -> None:
        if limit <= 0 or period <= 0:
            raise ValueError("a rate limit and its period must be positive")
        self.limit = float(limit)
        self.period = float(period)
        self._entries: deque[_Entry] = deque()
        self._by_key: dict[str, _Entry] = {}
        self._used = 0.0

    def _expire(self, now: float) -> None:
        while self._entries and self._entries[0].time <= now - self.period:
            entry = self._entries.popleft()
            self._used -= entry.amount
            self._by_key.pop(entry.key, None)
        if not self._entries:
            self._used = 0.0  # no float drift survives an empty window

    def used(self, now: float) -> float:
        """What was taken in the last `period` seconds."""
        self._expire(now)
        return self._used

    def wait(self, amount: float, now: float) -> float:
        """Seconds until `amount` fits (0: now). More than `limit` waits for an empty window."""
        amount = min(amount, self.limit)
        self._expire(now)
        excess = self._used + amount - self.limit
        if excess <= _EPSILON:
            return 0.0
        freed = 0.0
        for entry in self._entries:
            freed += entry.amount
            if freed >= excess - _EPSILON:
                return max(0.0, entry.time + self.period - now)
        return self.period  # unreachable: everything expires within a period

    def take(self, key: str, amount: float, now: float) -> None:
        """Record `amount` taken at `now` (after `wait` said 0)."""
        amount = min(amount, self.limit)
        entry = _Entry(now, amount, key)
        self._entries.append(entry)
        self._by_key[key] = entry
        self._used += amount

    def settle(self, key: str, amount: float) -> None:
        """Replace what `key` took by what it really used (real tokens after the reply)."""
        entry = self._by_key.get(key)
        if entry is None:
            return  # already out of the window
        self._used += amount - entry.amount
        entry.amount = amount


class Quota:
    """What the host says is left (`remaining`) until `reset_at`."""

    def __init__(self, remaining: float, reset_at: float) -> None:
        self.remaining = remaining
        self.reset_at = reset_at

    def expired(self, now: float) -> bool:
        """Past its reset: the host's limit is full again, as far as we know."""
        return now >= self.reset_at

    def wait(self, amount: float, now: float) -> float:
        """Seconds until `amount` fits: 0 if it fits now, else until the reset."""
        if self.expired(now) or amount <= self.remaining + _EPSILON:
            return 0.0
        return self.reset_at - now


class LimiterState:
    """Everything that can hold a request back, as pure arithmetic over `now`."""

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_concurrency: int | None = None,
        period: float = 60.0,
    ) -> None:
        self.windows: dict[str, Window] = {}
        if requests_per_minute is not None:
            self.windows["requests"] = Window(requests_per_minute, period)
        if tokens_per_minute is not None:
            self.windows["tokens"] = Window(tokens_per_minute, period)
        self.max_concurrency = max_concurrency
        self.quotas: dict[str, Quota] = {}
        self.paused_until = -math.inf
        self.in_flight: set[str] = set()

    def wait(self, amounts: Mapping[str, float], now: float) -> float:
        """Seconds until a request taking `amounts` may start: 0 now, `inf` until one ends."""
        waits = [self.paused_until - now]
        for name, window in self.windows.items():
            if name in amounts:
                waits.append(window.wait(amounts[name], now))
        for name, quota in list(self.quotas.items()):
            if quota.expired(now):
                del self.quotas[name]
            elif name in amounts:
                waits.append(quota.wait(amounts[name], now))
        wait = max(waits)
        if wait > 0:
            return wait
        if self.max_concurrency is not None and len(self.in_flight) >= self.max_concurrency:
            return math.inf
        return 0.0

    def take(self, key: str, amounts: Mapping[str, float], now: float) -> None:
        """Admit request `key` (after `wait` said 0)."""
        for name, window in self.windows.items():
            if name in amounts:
                window.take(key, amounts[name], now)
        for name, quota in self.quotas.items():
            if name in amounts:
                quota.remaining -= amounts[name]
        self.in_flight.add(key)

    def release(self, key: str, used: Mapping[str, float] | None = None) -> None:
        """Request `key` ended; `used` holds its real amounts where known (tokens)."""
        self.in_flight.discard(key)
        for name, amount in (used or {}).items():
            window = self.windows.get(name)
            if window is not None:
                window.settle(key, amount)

    def observe(self, snapshots: Iterable[QuotaSnapshot], now: float) -> None:
        """Re-sync with what the host reported in a response's headers."""
        for snap in snapshots:
            reset = DEFAULT_RESET if snap.reset_after is None else snap.reset_after
            self.quotas[snap.dimension] = Quota(snap.remaining, now + reset)

    def pause(self, seconds: float, now: float) -> None:
        """Hold every request back for `seconds` (a 429 pauses the whole bucket)."""
        self.paused_until = max(self.paused_until, now + seconds)
