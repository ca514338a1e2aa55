"""The thin async shell that runs one provider call under its policies.

Decisions live elsewhere (`llmkit.retry`, `llmkit.ratelimit.buckets`,
`llmkit.timeouts`); this module only acquires, loops, sleeps and hands over.

Per attempt: acquire the provider's rate limit (one request, estimated tokens),
run `_complete` or `_stream` under the timeouts, release with the real usage.
A 429 pauses the whole rate limit for its `retry_after`. Transport exceptions
(`httpx`/`httpx2`/`httpcore`) that escape a provider become llmkit errors here.

The stream contract, for whoever writes `_stream`: yield a `StreamEvent` only
for something the host said (content, a tool-call piece, a finish reason,
usage). Never yield for SSE comments, pings or keep-alive lines. Progress is
an event with content, a finish reason or usage; the first-token and idle
timeouts wrap the event iterator, so nothing but such an event resets them.
Events without progress (a role-only first chunk) are held back until the
first real one, so an attempt that stalls before it can still be retried.
After the first event reached the caller nothing is retried: a stall or a cut
raises `StreamError`, other errors propagate, and `ResponseStream` attaches
the partial reply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from llmkit import events, fallback
from llmkit.errors import (
    APIConnectionError,
    APITimeoutError,
    LLMError,
    RateLimitError,
    StreamError,
)
from llmkit.providers._transport import transport_error
from llmkit.types import Latency, Request, Response, StreamEvent, Usage

if TYPE_CHECKING:
    from llmkit.providers._base import BaseProvider
    from llmkit.ratelimit import Lease
    from llmkit.timeouts import Timeouts

__all__ = ["complete", "is_progress", "stream", "transport_error"]


def is_progress(event: StreamEvent) -> bool:
    """Whether an event is progress: content, a finish reason or usage (not a bare header)."""
    return event.has_content or event.finish_reason is not None or event.usage is not None


async def complete(provider: BaseProvider, request: Request) -> Response:
    """`provider._complete(request)`, paced, timed and retried by the provider's policies."""
    started = anyio.current_time()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await _complete_once(provider, request)
        except LLMError as error:
            wait = await _after_failure(provider, attempt, error, started)
            if wait is None:
                raise
        await anyio.sleep(wait)


async def _complete_once(provider: BaseProvider, request: Request) -> Response:
    lease = await _acquire(provider, request)
    usage: Usage | None = None
    try:
        sent = time.perf_counter()
        limit = asyncio.timeout(provider.timeouts.total)  # a quarter of anyio's cost per call
        try:
            async with limit:
                try:
                    response = await provider._complete(request)
                except Exception as exc:
                    raise _mapped(exc, provider) from exc
        except TimeoutError:
            if not limit.expired():
                raise
            raise APITimeoutError(
                f"No reply within the total timeout of {provider.timeouts.total}s; "
                "raise it with timeout=Timeouts(total=...)",
                provider=provider.name,
                model=request.model,
            ) from None
        usage = response.usage
        if response.latency.total is None:
            # a whole reply arrives at once: its first token is its last
            elapsed = time.perf_counter() - sent
            response = attrs.evolve(response, latency=Latency(first_token=elapsed, total=elapsed))
        return response
    finally:
        await _release(provider, lease, usage)


async def stream(provider: BaseProvider, request: Request) -> AsyncIterator[StreamEvent]:
    """`provider._stream(request)` under the policies; retried only before its first event."""
    started = anyio.current_time()
    attempt = 0
    while True:
        attempt += 1
        delivered = False
        held: list[StreamEvent] = []
        lease = await _acquire(provider, request)
        usage: Usage | None = None
        source = provider._stream(request)
        watch = _Watch(provider)
        try:
            while (event := await watch.next(source)) is not None:
                usage = event.usage or usage
                if not delivered:
                    if not is_progress(event):
                        held.append(event)
                        continue
                    delivered = True
                    for early in held:
                        yield early
                yield event
            if not delivered:
                for early in held:
                    yield early
            return
        except LLMError as error:
            if delivered:
                final = _after_first_event(error)
                if final is error:
                    raise
                raise final from error
            wait = await _after_failure(provider, attempt, error, started)
            if wait is None:
                raise
        finally:
            watch.stop()
            await _close(source)
            await _release(provider, lease, usage)
        await anyio.sleep(wait)


class _Watch:
    """First-token, idle and total timeouts of one stream attempt, on one timer.

    The timer is armed for the earliest deadline; when it fires early (progress
    has moved the idle deadline on since) it re-arms for the new one, so an
    event costs a clock read, not a timer. It cancels the task only while the
    task waits for the provider's next event, never the caller's own code
    between events; that cancellation comes out of `next` as `APITimeoutError`.
    """

    def __init__(self, provider: BaseProvider) -> None:
        self._provider = provider
        self._loop = asyncio.get_running_loop()
        self._start = self._loop.time()
        self._last_progress: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._unbounded = False
        self._waiting: asyncio.Task[Any] | None = None
        self._expired: str | None = None

    async def next(self, source: AsyncIterator[StreamEvent]) -> StreamEvent | None:
        """The provider's next event (None at its end); progress resets the idle clock."""
        if self._timer is None and not self._unbounded:
            self._arm()
        task = asyncio.current_task()
        assert task is not None  # an async generator always runs in a task
        cancelling = task.cancelling()
        self._waiting = task
        try:
            event = await source.__anext__()
        except StopAsyncIteration:
            return None
        except asyncio.CancelledError:
            if self._expired is not None and task.uncancel() <= cancelling:
                raise self._timed_out() from None
            raise
        except Exception as exc:
            if self._expired is not None and task.uncancel() <= cancelling:
                raise self._timed_out() from exc  # our cancellation, turned into another error
            raise _mapped(exc, self._provider) from exc
        finally:
            self._waiting = None
        if is_progress(event):
            self._last_progress = self._loop.time()
        return event

    def _timed_out(self) -> APITimeoutError:
        assert self._expired is not None
        message = _timeout_message(self._expired, self._provider.timeouts)
        return APITimeoutError(message, provider=self._provider.name)

    def stop(self) -> None:
        """Disarm the timer (the attempt is over)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._unbounded = True

    def _arm(self) -> None:
        when, _ = _next_deadline(self._provider.timeouts, self._start, self._last_progress)
        if when == float("inf"):
            self._unbounded = True  # no limit applies now, and none can later
        else:
            self._timer = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer = None
        when, which = _next_deadline(self._provider.timeouts, self._start, self._last_progress)
        if self._loop.time() < when:
            self._arm()
        elif self._waiting is not None:
            self._expired = which
            self._waiting.cancel()
        # else the caller holds an event: `next` re-arms, and the passed deadline fires at once


async def _close(source: AsyncIterator[StreamEvent]) -> None:
    """Close the provider's iterator, shielded so that a cancelled caller still frees it."""
    if getattr(source, "ag_frame", True) is None:
        return  # an async generator that has finished: nothing to close
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        with anyio.CancelScope(shield=True):
            await aclose()


def _next_deadline(
    timeouts: Timeouts, start: float, last_progress: float | None
) -> tuple[float, str]:
    """The earliest deadline for the next event, and which limit sets it."""
    candidates = [(_limit(timeouts.total) + start, "total")]
    if last_progress is None and timeouts.first_token is not None:
        candidates.append((start + timeouts.first_token, "first_token"))
    if last_progress is not None and timeouts.idle is not None:
        candidates.append((last_progress + timeouts.idle, "idle"))
    if last_progress is None and timeouts.first_token is None and timeouts.idle is not None:
        candidates.append((start + timeouts.idle, "idle"))
    return min(candidates)


def _timeout_message(which: str, timeouts: Timeouts) -> str:
    seconds = getattr(timeouts, which)
    what = {
        "total": "The stream did not finish within the total timeout",
        "first_token": "No event arrived within the first-token timeout",
        "idle": "The stream stalled: no event within the idle timeout",
    }[which]
    return f"{what} of {seconds}s (keep-alive lines do not count); adjust timeout=Timeouts({which}=...)"


def _after_first_event(error: LLMError) -> LLMError:
    """What a failure becomes once the caller has events: cuts and stalls are `StreamError`s.

    Nothing that ends a stream after its first event is `retryable`: sending the
    request again would replay a reply the caller has partly consumed (what did
    arrive is in `.partial`), so a retry is the caller's own decision.
    """
    if not isinstance(error, APITimeoutError | APIConnectionError):
        error.retryable = False
        return error
    return StreamError(
        f"The stream broke after it started: {error.message}",
        provider=error.provider,
        model=error.model,
        status_code=error.status_code,
        request_id=error.request_id,
        retryable=False,
    )


def _mapped(exc: Exception, provider: BaseProvider) -> Exception:
    return transport_error(exc, provider=provider.name) or exc


def _limit(seconds: float | None) -> float:
    return float("inf") if seconds is None else seconds


async def _acquire(provider: BaseProvider, request: Request) -> Lease | None:
    if provider.rate_limit is None:
        return None
    return await provider.rate_limit.acquire(request)


async def _release(provider: BaseProvider, lease: Lease | None, usage: Usage | None) -> None:
    if lease is not None and provider.rate_limit is not None:
        await provider.rate_limit.release(lease, usage)


async def _after_failure(
    provider: BaseProvider, attempt: int, error: LLMError, started: float
) -> float | None:
    """Seconds before the next attempt (None: give up); a 429 pauses the rate limit too."""
    wait = None
    if provider.retry is not None:
        wait = provider.retry.delay(attempt, error, elapsed=anyio.current_time() - started)
    if isinstance(error, RateLimitError) and error.retryable and provider.rate_limit is not None:
        pause = error.retry_after if error.retry_after is not None else wait
        if pause:
            await provider.rate_limit.pause(pause)
    if isinstance(error, RateLimitError) and fallback.rate_limit_falls_back():
        return None  # a fallback provider is waiting: hand over now rather than sleep here
    if wait is not None:
        events.retrying(
            provider=provider.name, model=error.model, attempt=attempt, error=error, delay=wait
        )
    return wait
