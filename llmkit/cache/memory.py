"""`MemoryCache`: a bounded LRU dict in this process, with per-entry expiry."""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from llmkit.cache._base import CacheStats, Flights
from llmkit.errors import ConfigurationError

__all__ = ["MemoryCache"]


class MemoryCache:
    """The least recently used entries, up to `max_entries`, in this process only.

    Example:
        provider.cache = MemoryCache(max_entries=10_000, ttl=3600)
    """

    def __init__(
        self,
        max_entries: int = 1024,
        *,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Args:
        max_entries: the most entries kept; the least recently used go first.
        ttl: seconds an entry lives by default (None: until evicted).
        clock: the time source (tests pass their own).
        """
        if not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError(f"MemoryCache(max_entries={max_entries!r}): at least 1")
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._data: OrderedDict[str, tuple[bytes, float | None, Any]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0
        self._flights = Flights()

    def __repr__(self) -> str:
        return f"MemoryCache(max_entries={self.max_entries}, ttl={self.ttl})"

    def _entry(self, key: str) -> tuple[bytes, float | None, Any] | None:
        item = self._data.get(key)
        if item is not None and item[1] is not None and self._clock() >= item[1]:
            self._drop(key)
            item = None
        if item is None:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return item

    def get_nowait(self, key: str) -> bytes | None:
        """`get` without awaiting."""
        item = self._entry(key)
        return None if item is None else item[0]

    def recall(self, key: str) -> tuple[Any, int] | None:
        """The decoded value `remember`ed with `key`'s entry and the entry's size, or None
        (no entry, or none remembered): a hit that skips decoding the bytes."""
        item = self._entry(key)
        if item is None:
            return None
        if item[2] is None:
            self.hits -= 1  # the caller falls back to `get`, which counts it
            return None
        return item[2], len(item[0])

    def remember(self, key: str, value: Any) -> None:
        """Keep `value` (the decoded form of `key`'s bytes) beside its entry."""
        item = self._data.get(key)
        if item is not None:
            self._data[key] = (item[0], item[1], value)

    async def get(self, key: str) -> bytes | None:
        """The value under `key`, or None."""
        return self.get_nowait(key)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value`; the least recently used entry goes when the cache is full."""
        life = self.ttl if ttl is None else ttl
        if key in self._data:
            self._drop(key)
        self._data[key] = (value, None if life is None else self._clock() + life, None)
        self._bytes += len(value)
        while len(self._data) > self.max_entries:
            self._drop(next(iter(self._data)))

    def _drop(self, key: str) -> None:
        value = self._data.pop(key)[0]
        self._bytes -= len(value)

    async def clear(self) -> int:
        """Remove every entry."""
        count = len(self._data)
        self._data.clear()
        self._bytes = 0
        return count

    async def stats(self) -> CacheStats:
        """Entries, bytes, hits and misses of this process."""
        return CacheStats(
            len(self._data), self._bytes, self.hits, self.misses, backend="memory", where="process"
        )

    def single_flight(self, key: str) -> contextlib.AbstractAsyncContextManager[bool]:
        """Hold `key` while computing it (in this process)."""
        return self._flights.hold(key)
