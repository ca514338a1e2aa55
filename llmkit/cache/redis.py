"""`RedisCache`: entries in Redis, shared by every process and machine that uses the server.

Values are plain Redis strings under `prefix` with a `PX` expiry; hits and
misses are counters beside them. Concurrent identical requests are
coalesced in-process, and across processes by a short lock
(`SET … NX PX`): a second process waits for the first one's entry (polling,
for at most `lock_seconds`) rather than sending the same request again.
`redis` is imported when the cache is first used (`pip install 'llmkit[redis]'`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import AsyncIterator
from typing import Any

import anyio

from llmkit._imports import require
from llmkit.cache._base import CacheStats, Flights
from llmkit.errors import ConfigurationError, redact

__all__ = ["RedisCache"]

_UNLOCK = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)
_GET = (
    "local v = redis.call('GET', KEYS[1]) "
    "if v then redis.call('INCR', KEYS[2]) else redis.call('INCR', KEYS[3]) end return v"
)
_POLL = 0.02


class RedisCache:
    """A cache in Redis at `url` (`redis://host:6379/0`).

    Example:
        provider.cache = RedisCache("redis://localhost:6379/0", ttl=86400)
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        ttl: float | None = None,
        prefix: str = "llmkit:cache:",
        lock_seconds: float = 30.0,
        client: Any = None,
    ) -> None:
        """Args:
        url: the Redis server.
        ttl: seconds an entry lives by default (None: until cleared or evicted by Redis).
        prefix: put before every key (one prefix per application sharing a server).
        lock_seconds: how long one process may hold a request others wait for.
        client: a `redis.asyncio.Redis` to use as given (default: one per event loop).
        """
        self.url = url
        self.ttl = ttl
        self.prefix = prefix
        self.lock_seconds = lock_seconds
        self._client = client
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._flights = Flights()

    def __repr__(self) -> str:
        return f"RedisCache({redact(self.url)!r}, ttl={self.ttl}, prefix={self.prefix!r})"

    def _redis(self) -> Any:
        if self._client is not None:
            return self._client
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            module = require("redis.asyncio", extra="redis")
            client = self._clients[loop] = module.Redis.from_url(self.url)
        return client

    @contextlib.asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        redis = require("redis", extra="redis")
        try:
            yield
        except redis.RedisError as exc:
            raise ConfigurationError(
                f"RedisCache failed ({type(exc).__name__}: {redact(str(exc))}); "
                f"check that Redis is running at {redact(self.url)}"
            ) from exc

    async def get(self, key: str) -> bytes | None:
        """The value under `key`, or None; counts the hit or miss (one round trip)."""
        prefix = self.prefix
        async with self._errors():
            value = await self._redis().eval(
                _GET, 3, prefix + key, prefix + "stats:hits", prefix + "stats:misses"
            )
        return None if value is None else bytes(value)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value` with its expiry."""
        life = self.ttl if ttl is None else ttl
        px = None if life is None else max(1, int(life * 1000))
        async with self._errors():
            await self._redis().set(self.prefix + key, value, px=px)

    async def _keys(self) -> list[bytes]:
        found = []
        async for name in self._redis().scan_iter(match=self.prefix + "*", count=1000):
            found.append(name)
        return found

    async def clear(self) -> int:
        """Remove every entry under the prefix, and the counters."""
        async with self._errors():
            names = await self._keys()
            stats = {(self.prefix + n).encode() for n in ("stats:hits", "stats:misses")}
            count = sum(1 for n in names if n not in stats and b":lock:" not in n)
            for start in range(0, len(names), 500):
                await self._redis().delete(*names[start : start + 500])
        return count

    async def stats(self) -> CacheStats:
        """Entries, bytes, hits and misses across every process using this prefix."""
        async with self._errors():
            client = self._redis()
            names = [n for n in await self._keys() if b":stats:" not in n and b":lock:" not in n]
            sizes = [await client.strlen(n) for n in names]
            hits = int(await client.get(self.prefix + "stats:hits") or 0)
            misses = int(await client.get(self.prefix + "stats:misses") or 0)
        return CacheStats(
            len(names), sum(sizes), hits, misses, backend="redis", where=redact(self.url)
        )

    @contextlib.asynccontextmanager
    async def single_flight(self, key: str) -> AsyncIterator[bool]:
        """Hold `key` in this process and, by a short Redis lock, on every other."""
        async with self._flights.hold(key) as waited:
            lock = f"{self.prefix}lock:{key}"
            token = uuid.uuid4().hex
            async with self._errors():
                client = self._redis()
                owned = await client.set(lock, token, nx=True, px=int(self.lock_seconds * 1000))
                if not owned:
                    waited = True
                    await self._wait_for(client, lock, key)
            try:
                yield waited
            finally:
                if owned:
                    with anyio.CancelScope(shield=True):
                        async with self._errors():
                            await client.eval(_UNLOCK, 1, lock, token)

    async def _wait_for(self, client: Any, lock: str, key: str) -> None:
        """Poll until the lock's holder stored `key` or let go (at most `lock_seconds`)."""
        deadline = anyio.current_time() + self.lock_seconds
        while anyio.current_time() < deadline:
            if not await client.exists(lock) or await client.exists(self.prefix + key):
                return
            await anyio.sleep(_POLL)  # another process holds it: Redis has no wake-up for us

    async def aclose(self) -> None:
        """Close the connections this cache opened on the current loop."""
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()
