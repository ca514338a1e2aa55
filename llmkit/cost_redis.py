"""A budget's totals in Redis, so that many processes and machines share one `Budget`.

    from llmkit.budget import Budget
    from llmkit.cost_redis import RedisBudgetBackend

    budget = Budget(limit_usd=20, backend=RedisBudgetBackend("redis://localhost:6379/0", key="team"))

Amounts are whole nano-dollars (integers add exactly). Each reservation and
settlement is one atomic Lua script: the check "spent + reserved + this <=
limit" and the hold happen together, so no interleaving of processes can
cross the limit. Holds expire after `reservation_ttl` seconds (by the Redis
server's clock), so a process that crashed mid-request frees its hold. All
keys share one hash tag (`{key}`). Connections are handled like
`llmkit.ratelimit.redis.RedisBackend`'s: one client per event loop from
`url`, or the caller's `client` as given; `redis` is imported on first use.
"""

from __future__ import annotations

from typing import Any

from llmkit import _redis_scripts as scripts
from llmkit._imports import require
from llmkit._loops import LoopResources
from llmkit.errors import ConfigurationError

__all__ = ["RedisBudgetBackend"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local p = KEYS[1]
local function expire_holds()
  local old = redis.call('ZRANGEBYSCORE', p .. ':expiry', '-inf', now)
  for _, id in ipairs(old) do redis.call('HDEL', p .. ':held', id) end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', p .. ':expiry', '-inf', now) end
end
local function reserved()
  local total = 0
  for _, v in ipairs(redis.call('HVALS', p .. ':held')) do total = total + tonumber(v) end
  return total
end
"""

# ARGV: id, amount, limit, ttl, force (1/0). Returns {held (1/0), spent, reserved}.
_RESERVE = (
    _NOW
    + """
expire_holds()
local spent = tonumber(redis.call('GET', p .. ':spent') or '0')
local held = reserved()
local amount = tonumber(ARGV[2])
if ARGV[5] ~= '1' and spent + held + amount > tonumber(ARGV[3]) then
  return {0, spent, held}
end
redis.call('HSET', p .. ':held', ARGV[1], ARGV[2])
redis.call('ZADD', p .. ':expiry', now + tonumber(ARGV[4]), ARGV[1])
return {1, spent, held + amount}
"""
)

# ARGV: id, actual. Returns {spent, reserved}.
_SETTLE = (
    _NOW
    + """
redis.call('HDEL', p .. ':held', ARGV[1])
redis.call('ZREM', p .. ':expiry', ARGV[1])
local spent = redis.call('INCRBY', p .. ':spent', ARGV[2])
expire_holds()
return {spent, reserved()}
"""
)

_TOTALS = (
    _NOW
    + """
expire_holds()
return {tonumber(redis.call('GET', p .. ':spent') or '0'), reserved()}
"""
)


class RedisBudgetBackend:
    """Budget totals in Redis, shared by every process that uses the same `key`.

    Args:
        url: where Redis is (`redis://host:6379/0`); ignored when `client` is given.
        key: the budget's name; processes with the same key share it.
        client: a `redis.asyncio.Redis` to use as given (it must live on the caller's
            event loop); by default one is opened per event loop from `url`.
        reservation_ttl: seconds after which a hold nobody settled stops counting.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        key: str = "default",
        client: Any = None,
        reservation_ttl: float = 3600.0,
    ) -> None:
        self.url = url
        self.prefix = f"llmkit:budget:{{{key}}}"
        self.reservation_ttl = reservation_ttl
        self._client = client
        self._clients = LoopResources("redis budget")

    def __repr__(self) -> str:
        return f"RedisBudgetBackend(prefix={self.prefix!r})"

    def _redis(self) -> Any:
        if self._client is not None:
            return self._client
        return self._clients.get("redis", self._connect)

    def _connect(self) -> Any:
        redis_asyncio = require("redis.asyncio", extra="redis")
        return redis_asyncio.Redis.from_url(self.url)

    async def _eval(self, script: str, *args: Any) -> list[int]:
        try:
            result = await scripts.run(self._redis(), script, self.prefix, *args)
        except scripts.redis_error() as exc:
            raise ConfigurationError(
                f"The Redis budget backend failed ({type(exc).__name__}: {exc}); "
                f"check that Redis is running at {self.url}"
            ) from exc
        return [int(value) for value in result]

    async def reserve(
        self, reservation_id: str, amount: int, limit: int, *, force: bool
    ) -> tuple[bool, int, int]:
        """See `llmkit.budget.BudgetBackend.reserve`."""
        held, spent, reserved = await self._eval(
            _RESERVE, reservation_id, amount, limit, repr(self.reservation_ttl), int(force)
        )
        return bool(held), spent, reserved

    async def settle(self, reservation_id: str, actual: int) -> tuple[int, int]:
        """See `llmkit.budget.BudgetBackend.settle`."""
        spent, reserved = await self._eval(_SETTLE, reservation_id, actual)
        return spent, reserved

    async def totals(self) -> tuple[int, int]:
        """See `llmkit.budget.BudgetBackend.totals`."""
        spent, reserved = await self._eval(_TOTALS)
        return spent, reserved

    async def reset(self) -> None:
        """Forget this budget's totals and holds (tests, or a new period)."""
        client = self._redis()
        keys = [k async for k in client.scan_iter(match=f"{self.prefix}:*")]
        if keys:
            await client.delete(*keys)

    async def aclose(self) -> None:
        """Close the connections this backend opened, on every event loop that used it, each
        on its own loop (a `client` given to the constructor is left open)."""
        await self._clients.aclose()
