"""Rate-limit state in Redis, so that many processes and machines share one limit.

    from llmkit.ratelimit import RateLimit
    from llmkit.ratelimit.redis import RedisBackend

    limit = RateLimit(requests_per_minute=30, backend=RedisBackend("redis://localhost:6379/0", key="groq"))

Every decision is one atomic Lua script that follows the same rules as the
in-memory `llmkit.ratelimit.buckets.LimiterState`: a sliding window per
per-minute limit (a sorted set of leases by admission time, their amounts in a
hash, the running total in a string), the host's reported quotas, a pause,
and leases in flight (a sorted set by expiry, so a crashed process frees its
slots after `lease_ttl`). Time is the Redis server's (`TIME`), so clocks of the
processes never have to agree. All keys share one hash tag (`{key}`).

Waiting is first come, first served within a process; across processes each
waiter re-checks when its wait is over, so order between processes is not
guaranteed, but the limit is never exceeded. `redis` is imported when the
backend first connects (`pip install 'llmkit[redis]'`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmkit import _redis_scripts as scripts
from llmkit._imports import require
from llmkit._loops import LoopResources
from llmkit.ratelimit.buckets import DEFAULT_RESET
from llmkit.ratelimit.headers import QuotaSnapshot

if TYPE_CHECKING:
    from llmkit.ratelimit import RateLimit

__all__ = ["RedisBackend"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function f(x) return string.format('%.6f', x) end
"""

# KEYS[1]: prefix. ARGV: lease, period, max_concurrency (0: none), lease_ttl,
# then (dimension, amount, window limit (0: none)) triples.
# Returns {wait, now} as strings: wait "0" admitted, "-1" until a lease ends.
_ACQUIRE = (
    _NOW
    + """
local p = KEYS[1]
local lease = ARGV[1]
local period = tonumber(ARGV[2])
local max_conc = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local wait = 0
local paused = tonumber(redis.call('GET', p .. ':paused') or '0')
if paused > now then wait = paused - now end
local takes = {}
for i = 5, #ARGV, 3 do
  local dim = ARGV[i]
  local amount = tonumber(ARGV[i + 1])
  local limit = tonumber(ARGV[i + 2])
  if limit > 0 then
    local capped = math.min(amount, limit)
    local zkey, hkey, skey = p .. ':win:' .. dim, p .. ':amt:' .. dim, p .. ':sum:' .. dim
    local sum = tonumber(redis.call('GET', skey) or '0')
    local old = redis.call('ZRANGEBYSCORE', zkey, '-inf', now - period)
    for _, member in ipairs(old) do
      sum = sum - tonumber(redis.call('HGET', hkey, member) or '0')
      redis.call('HDEL', hkey, member)
    end
    if #old > 0 then redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now - period) end
    if redis.call('ZCARD', zkey) == 0 then sum = 0 end
    redis.call('SET', skey, tostring(sum), 'PX', math.ceil(period * 2000))
    local excess = sum + capped - limit
    if excess > 1e-9 then
      local entries = redis.call('ZRANGE', zkey, 0, -1, 'WITHSCORES')
      local freed, w = 0, period
      for j = 1, #entries, 2 do
        freed = freed + tonumber(redis.call('HGET', hkey, entries[j]) or '0')
        if freed >= excess - 1e-9 then
          w = tonumber(entries[j + 1]) + period - now
          break
        end
      end
      if w > wait then wait = w end
    end
    table.insert(takes, {zkey, hkey, skey, capped})
  end
  local qkey = p .. ':quota:' .. dim
  local q = redis.call('HMGET', qkey, 'remaining', 'reset_at')
  if q[1] and q[2] then
    local reset_at = tonumber(q[2])
    if now >= reset_at then
      redis.call('DEL', qkey)
    elseif amount > tonumber(q[1]) + 1e-9 and reset_at - now > wait then
      wait = reset_at - now
    end
  end
end
if wait > 0 then return {f(wait), f(now)} end
local ikey = p .. ':inflight'
redis.call('ZREMRANGEBYSCORE', ikey, '-inf', now)
if max_conc > 0 and redis.call('ZCARD', ikey) >= max_conc then
  return {'-1', f(now)}
end
for _, t in ipairs(takes) do
  redis.call('ZADD', t[1], now, lease)
  redis.call('HSET', t[2], lease, tostring(t[4]))
  redis.call('INCRBYFLOAT', t[3], tostring(t[4]))
  for k = 1, 3 do redis.call('PEXPIRE', t[k], math.ceil(period * 2000)) end
end
for i = 5, #ARGV, 3 do
  local qkey = p .. ':quota:' .. ARGV[i]
  if redis.call('EXISTS', qkey) == 1 then
    redis.call('HINCRBYFLOAT', qkey, 'remaining', '-' .. ARGV[i + 1])
  end
end
redis.call('ZADD', ikey, now + ttl, lease)
redis.call('PEXPIRE', ikey, math.ceil(ttl * 1000))
return {'0', f(now)}
"""
)

# KEYS[1]: prefix. ARGV: lease, then (dimension, used amount) pairs to settle.
_RELEASE = """
local p = KEYS[1]
local lease = ARGV[1]
redis.call('ZREM', p .. ':inflight', lease)
for i = 2, #ARGV, 2 do
  local hkey, skey = p .. ':amt:' .. ARGV[i], p .. ':sum:' .. ARGV[i]
  local old = redis.call('HGET', hkey, lease)
  if old then
    redis.call('HSET', hkey, lease, ARGV[i + 1])
    redis.call('INCRBYFLOAT', skey, tostring(tonumber(ARGV[i + 1]) - tonumber(old)))
  end
end
return 1
"""

# KEYS[1]: prefix. ARGV: (dimension, remaining, reset_after) triples.
_OBSERVE = (
    _NOW
    + """
local p = KEYS[1]
for i = 1, #ARGV, 3 do
  local qkey = p .. ':quota:' .. ARGV[i]
  local after = tonumber(ARGV[i + 2])
  redis.call('HSET', qkey, 'remaining', ARGV[i + 1], 'reset_at', f(now + after))
  redis.call('PEXPIRE', qkey, math.ceil(after * 1000) + 1000)
end
return 1
"""
)

# KEYS[1]: prefix. ARGV[1]: seconds.
_PAUSE = (
    _NOW
    + """
local key = KEYS[1] .. ':paused'
local untilt = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', key) or '0')
if untilt > current then
  redis.call('SET', key, f(untilt), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""
)


class RedisBackend:
    """Rate-limit state in Redis, shared by every process that uses the same `key`.

    Args:
        url: where Redis is (`redis://host:6379/0`); ignored when `client` is given.
        key: the name of this limit; processes with the same key share it.
        client: a `redis.asyncio.Redis` to use as given (it must live on the
            caller's event loop); by default one is opened per event loop from `url`.
        lease_ttl: seconds after which a lease nobody released (a crashed
            process) stops counting towards `max_concurrency`.
        period: the window the per-minute limits apply to (tests shorten it).
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        key: str = "default",
        client: Any = None,
        lease_ttl: float = 900.0,
        period: float = 60.0,
    ) -> None:
        self.url = url
        self.prefix = f"llmkit:ratelimit:{{{key}}}"
        self.lease_ttl = lease_ttl
        self.period = period
        self._client = client
        self._clients = LoopResources("redis rate-limit")
        self._limits: list[tuple[str, float]] = []
        self._max_concurrency = 0
        self._windows: frozenset[str] = frozenset()
        self._pending: list[QuotaSnapshot] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedisBackend(prefix={self.prefix!r})"

    def configure(self, limit: RateLimit) -> None:
        """Take the limits; they travel with every call, so processes must agree on them."""
        self._limits = [
            ("requests", limit.requests_per_minute or 0.0),
            ("tokens", limit.tokens_per_minute or 0.0),
        ]
        self._max_concurrency = limit.max_concurrency or 0
        self._windows = frozenset(dim for dim, value in self._limits if value > 0)

    def _redis(self) -> Any:
        if self._client is not None:
            return self._client
        return self._clients.get("redis", self._connect)

    def _connect(self) -> Any:
        redis_asyncio = require("redis.asyncio", extra="redis")
        return redis_asyncio.Redis.from_url(self.url)

    async def _eval(self, script: str, *args: Any) -> Any:
        client = self._redis()
        try:
            return await scripts.run(client, script, self.prefix, *args)
        except scripts.redis_error() as exc:
            from llmkit.errors import ConfigurationError

            raise ConfigurationError(
                f"The Redis rate-limit backend failed ({type(exc).__name__}: {exc}); "
                f"check that Redis is running at {self.url}"
            ) from exc

    async def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        if pending:
            args: list[Any] = []
            for snap in pending:
                reset = DEFAULT_RESET if snap.reset_after is None else snap.reset_after
                args += [snap.dimension, repr(snap.remaining), repr(reset)]
            await self._eval(_OBSERVE, *args)

    async def try_acquire(self, key: str, amounts: Mapping[str, float]) -> tuple[float, float]:
        """One atomic check-and-take in Redis."""
        await self._flush()
        limits = dict(self._limits)
        args: list[Any] = [key, repr(self.period), self._max_concurrency, repr(self.lease_ttl)]
        for dim, amount in amounts.items():
            args += [dim, repr(float(amount)), repr(limits.get(dim, 0.0))]
        wait, now = await self._eval(_ACQUIRE, *args)
        value = float(wait)
        return (float("inf") if value < 0 else value), float(now)

    async def release(self, key: str, used: Mapping[str, float]) -> None:
        """Free the slot and settle the windows at the real usage."""
        await self._flush()
        args: list[Any] = [key]
        for dim, amount in used.items():
            if dim in self._windows:  # only a window's dimension holds an amount to settle
                args += [dim, repr(float(amount))]
        await self._eval(_RELEASE, *args)

    def observe(self, snapshots: Sequence[QuotaSnapshot]) -> None:
        """Buffer the host's numbers; the next acquire or release writes them."""
        with self._lock:
            self._pending.extend(snapshots)

    async def pause(self, seconds: float) -> None:
        """Pause every process sharing this key."""
        await self._flush()
        await self._eval(_PAUSE, repr(float(seconds)))

    async def reset(self) -> None:
        """Forget all state under this key (tests, or after changing the limits)."""
        client = self._redis()
        keys = [k async for k in client.scan_iter(match=f"{self.prefix}:*")]
        if keys:
            await client.delete(*keys)

    async def aclose(self) -> None:
        """Close the connections this backend opened, on every event loop that used it, each
        on its own loop (a `client` given to the constructor is left open)."""
        await self._clients.aclose()
