"""What every cache backend shares: the `Cache` protocol, stats, and in-process single-flight.

A backend stores opaque bytes under string keys with an optional time to
live. `single_flight(key)` lets one caller compute a missing entry while the
other callers in this process (and, for Redis, on every machine) wait for
it; a waiter that finds the entry afterwards is served from the cache, one
that does not (the leader failed: errors are never cached) computes it itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from attrs import frozen

__all__ = ["Cache", "CacheStats", "Flights"]


@frozen
class CacheStats:
    """Counts of one cache (for disk and Redis: of every process that used it)."""

    entries: int
    bytes: int
    """Bytes of stored values."""
    hits: int = 0
    misses: int = 0
    backend: str = ""
    where: str = ""
    """The file or the server (never with a password)."""

    @property
    def hit_rate(self) -> float | None:
        """Hits over lookups (None before the first lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else None


@runtime_checkable
class Cache(Protocol):
    """A store of bytes by key; llmkit's backends and any of your own fit it."""

    ttl: float | None
    """Seconds an entry lives by default (None: until evicted or cleared)."""

    async def get(self, key: str) -> bytes | None:
        """The value under `key`, or None (missing or expired)."""
        ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value` under `key` for `ttl` seconds (None: the cache's default)."""
        ...

    async def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        ...

    async def stats(self) -> CacheStats:
        """Entries, bytes, hits and misses."""
        ...

    def single_flight(self, key: str) -> contextlib.AbstractAsyncContextManager[bool]:
        """Hold `key` while computing it; yields whether another caller held it first."""
        ...


class Flights:
    """In-process single-flight: one lock per key and event loop, dropped when unused."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, tuple[asyncio.Lock, list[int]]]
        ] = weakref.WeakKeyDictionary()

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        """Hold `key`; yields True when this caller had to wait for another holder."""
        loop = asyncio.get_running_loop()
        table = self._locks.setdefault(loop, {})
        lock, users = table.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        waited = lock.locked()
        try:
            async with lock:
                yield waited
        finally:
            users[0] -= 1
            if users[0] == 0:
                table.pop(key, None)
