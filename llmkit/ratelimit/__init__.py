"""Rate limits shared by every client of a provider: requests, tokens, concurrency.

`RateLimit` is the policy a provider takes as `rate_limit=`. Before each
attempt the provider's call shell (`llmkit.providers._calls`) acquires a
`Lease` for one request and its estimated tokens (input estimate plus the
maximum output), and releases it afterwards with the real usage. Waiting is
first come, first served: callers queue, and only the head of the queue may
take capacity, so a big request is never starved by a stream of small ones.

The arithmetic is pure (`llmkit.ratelimit.buckets`); this module only waits.
State lives in a backend: in memory by default (one process), or in Redis
(`llmkit.ratelimit.redis.RedisBackend`) so that many processes share one limit.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from llmkit.parts import rough_bytes
from llmkit.ratelimit.buckets import LimiterState
from llmkit.ratelimit.headers import QuotaSnapshot, parse_rate_limit_headers

if TYPE_CHECKING:
    from llmkit.types import Request, Usage

__all__ = ["Lease", "MemoryBackend", "RateLimit", "RateLimitBackend", "estimate_tokens"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

POLL = 0.25
"""Seconds between re-checks while waiting for a slot another loop or process may free."""


def estimate_tokens(request: Request, *, default_output: int = 1024) -> tuple[int, int]:
    """A cheap upper-bound guess of `(input_tokens, output_tokens)` for pacing.

    Input: about four characters a token, plus a few tokens of overhead per
    message; output: `max_tokens`, or `default_output` when the request sets none.
    The real usage replaces the guess once the reply arrives.
    """
    chars = sum(
        rough_bytes(m.content)
        + len(m.reasoning or "")
        + sum(len(c.name) + len(str(c.arguments)) for c in m.tool_calls)
        for m in request.messages
    )
    chars += sum(len(t.name) + len(t.description) + len(str(t.parameters)) for t in request.tools)
    return chars // 4 + 4 * len(request.messages) + 1, request.max_tokens or default_output


class Lease:
    """One admitted request: give it back with `RateLimit.release`."""

    __slots__ = ("acquired_at", "amounts", "key")

    def __init__(self, key: str, amounts: Mapping[str, float], acquired_at: float) -> None:
        self.key = key
        self.amounts = dict(amounts)
        self.acquired_at = acquired_at
        """The backend's clock when the request was admitted (Redis: the server's time)."""

    def __repr__(self) -> str:
        return f"Lease({self.key!r}, {self.amounts!r})"


class RateLimitBackend(Protocol):
    """Where limiter state lives; `try_acquire` is atomic with respect to other callers."""

    def configure(self, limit: RateLimit) -> None:
        """Take the limits (called once by `RateLimit`)."""
        ...

    async def try_acquire(self, key: str, amounts: Mapping[str, float]) -> tuple[float, float]:
        """`(0, now)` having admitted `key`, or `(seconds to wait, now)`; `inf`: until a release.

        `now` is the backend's own clock (Redis: the server's), so admissions
        from many processes are stamped on one clock.
        """
        ...

    async def release(self, key: str, used: Mapping[str, float]) -> None:
        """`key` ended; settle its tokens at `used`."""
        ...

    def observe(self, snapshots: Sequence[QuotaSnapshot]) -> None:
        """Re-sync from a host's headers (sync: may buffer until the next async call)."""
        ...

    async def pause(self, seconds: float) -> None:
        """Hold everyone back for `seconds`."""
        ...


class MemoryBackend:
    """State in this process (the default); safe across threads and event loops."""

    def __init__(self, *, clock: Clock = time.monotonic, period: float = 60.0) -> None:
        """Keep the state in this process.

        Args:
            clock: seconds, monotonic (tests pass a fake one).
            period: the window the per-minute limits apply to (tests shorten it).
        """
        self.clock = clock
        self.period = period
        self._lock = threading.Lock()
        self.state = LimiterState(period=period)

    def configure(self, limit: RateLimit) -> None:
        """Build the windows for `limit`'s numbers."""
        self.state = LimiterState(
            requests_per_minute=limit.requests_per_minute,
            tokens_per_minute=limit.tokens_per_minute,
            max_concurrency=limit.max_concurrency,
            period=self.period,
        )

    async def try_acquire(self, key: str, amounts: Mapping[str, float]) -> tuple[float, float]:
        """Admit now or say how long to wait."""
        return self.try_acquire_nowait(key, amounts)

    def try_acquire_nowait(self, key: str, amounts: Mapping[str, float]) -> tuple[float, float]:
        """`try_acquire` without awaiting: the memory backend never needs to."""
        with self._lock:
            now = self.clock()
            wait = self.state.wait(amounts, now)
            if wait <= 0:
                self.state.take(key, amounts, now)
                return 0.0, now
            return wait, now

    async def release(self, key: str, used: Mapping[str, float]) -> None:
        """Free the slot and settle the tokens."""
        self.release_nowait(key, used)

    def release_nowait(self, key: str, used: Mapping[str, float]) -> None:
        """`release` without awaiting."""
        with self._lock:
            self.state.release(key, used)

    def observe(self, snapshots: Sequence[QuotaSnapshot]) -> None:
        """Apply the host's numbers at once."""
        with self._lock:
            self.state.observe(snapshots, self.clock())

    async def pause(self, seconds: float) -> None:
        """Pause from now."""
        with self._lock:
            self.state.pause(seconds, self.clock())


class _Gate:
    """Per event loop: the FIFO queue (a fair lock) and a signal that a slot was freed."""

    def __init__(self) -> None:
        self.queue = anyio.Lock()
        self.freed = anyio.Event()

    def notify(self) -> None:
        self.freed.set()
        self.freed = anyio.Event()


class RateLimit:
    """Requests per minute, tokens per minute and a concurrency cap for one provider.

    Pass one to a provider as `rate_limit=`; every client of that provider
    shares it (pass the same object to several providers to share one limit).
    It also paces by what the host reports in its rate-limit headers, and a 429
    pauses everybody until the host's reset.

    Example:
        `GroqProvider(rate_limit=RateLimit(requests_per_minute=30, tokens_per_minute=6000))`
    """

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_concurrency: int | None = None,
        backend: RateLimitBackend | None = None,
        default_output_tokens: int = 1024,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        """Configure the limits; nothing waits until the first `acquire`.

        Args:
            requests_per_minute: at most this many requests start in any 60 seconds.
            tokens_per_minute: at most this many tokens (estimated input plus maximum
                output, settled to the real usage afterwards) in any 60 seconds.
            max_concurrency: at most this many requests in flight at once.
            backend: where the state lives; in memory by default, or
                `llmkit.ratelimit.redis.RedisBackend(...)` to share it between processes.
            default_output_tokens: the output guess for a request without `max_tokens`.
            clock: the in-memory backend's clock (tests pass a fake one).
            sleep: how to wait (tests pass a fake one that advances their clock).
        """
        for name, value in (
            ("requests_per_minute", requests_per_minute),
            ("tokens_per_minute", tokens_per_minute),
            ("max_concurrency", max_concurrency),
        ):
            if value is not None and not value > 0:
                from llmkit.errors import ConfigurationError

                raise ConfigurationError(f"RateLimit({name}=...) must be positive, not {value!r}")
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.max_concurrency = max_concurrency
        self.default_output_tokens = default_output_tokens
        self._clock = clock or time.monotonic
        self._sleep: Sleep = sleep or anyio.sleep
        self.backend: RateLimitBackend = backend or MemoryBackend(clock=self._clock)
        self.backend.configure(self)
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = (
            weakref.WeakKeyDictionary()
        )
        self._ids = itertools.count()
        self._prefix = uuid.uuid4().hex[:12]

    def __repr__(self) -> str:
        return (
            f"RateLimit(requests_per_minute={self.requests_per_minute!r}, "
            f"tokens_per_minute={self.tokens_per_minute!r}, "
            f"max_concurrency={self.max_concurrency!r}, backend={type(self.backend).__name__})"
        )

    def _gate(self) -> _Gate:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = _Gate()
        return gate

    def amounts(self, request: Request) -> dict[str, float]:
        """What one attempt at `request` takes: one request and its estimated tokens."""
        input_tokens, output_tokens = estimate_tokens(
            request, default_output=self.default_output_tokens
        )
        return {
            "requests": 1,
            "tokens": input_tokens + output_tokens,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
        }

    async def acquire(self, request: Request) -> Lease:
        """Wait for this request's turn and capacity; release the lease when done."""
        return await self.acquire_amounts(self.amounts(request))

    async def acquire_amounts(self, amounts: Mapping[str, float]) -> Lease:
        """Wait, first come first served, until `amounts` fit; then take them.

        Args:
            amounts: how much of each dimension (`requests`, `tokens`,
                `input_tokens`, `output_tokens`) the call takes.
        """
        key = f"{self._prefix}-{next(self._ids)}"
        gate = self._gate()
        backend = self.backend
        if isinstance(backend, MemoryBackend) and not gate.queue.locked():
            # Nobody is queued: admitting now cannot overtake anyone (FIFO holds), and
            # the common case (no limit near) costs no lock and no checkpoint.
            wait, now = backend.try_acquire_nowait(key, amounts)
            if wait <= 0:
                return Lease(key, amounts, now)
        async with gate.queue:
            while True:
                wait, now = await self.backend.try_acquire(key, amounts)
                if wait <= 0:
                    return Lease(key, amounts, now)
                if math.isinf(wait):
                    freed = gate.freed
                    with anyio.move_on_after(POLL):
                        await freed.wait()
                else:
                    await self._sleep(wait)

    async def release(self, lease: Lease, usage: Usage | None = None) -> None:
        """Give `lease` back; `usage` (the reply's) settles the token estimate."""
        used: dict[str, float] = {}
        if usage is not None and usage.input_tokens is not None:
            output = usage.output_tokens or 0
            used = {
                "tokens": usage.input_tokens + output,
                "input_tokens": usage.input_tokens,
                "output_tokens": output,
            }
        backend = self.backend
        if isinstance(backend, MemoryBackend):
            backend.release_nowait(lease.key, used)
        else:
            with anyio.CancelScope(shield=True):
                await backend.release(lease.key, used)
        gate = self._gate()
        if gate.queue.locked():  # someone waits for a slot: wake them
            gate.notify()

    def observe_headers(self, headers: Any, *, provider: str | None = None) -> None:
        """Re-sync from a response's rate-limit headers (see `llmkit.ratelimit.headers`)."""
        snapshots = parse_rate_limit_headers(headers, now=time.time(), provider=provider)
        if snapshots:
            self.backend.observe(snapshots)

    async def pause(self, seconds: float) -> None:
        """Hold every caller back for `seconds` (after a 429, until the host's reset)."""
        if math.isfinite(seconds) and seconds > 0:
            await self.backend.pause(seconds)
