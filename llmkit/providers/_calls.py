"""The thin async shell that runs one provider call under its policies.

Decisions live elsewhere (`llmkit.retry`, `llmkit.ratelimit.buckets`,
`llmkit.timeouts`); this module only acquires, loops, sleeps and hands over.
Calls go one way: the shell receives what it calls, a `send` (or `open`)
callable for one attempt and a frozen `Policy` (the provider's name, timeouts,
retry policy and rate limit), and never calls back into the provider object.

Per attempt: acquire the rate limit (one request, estimated tokens), run
`send(request)` or iterate `open(request)` under the timeouts, release with
the real usage. A 429 pauses the whole rate limit for its `retry_after`.
Transport exceptions (`httpx`/`httpx2`/`httpcore`) that escape become llmkit
errors here, and every error that leaves the shell has a clean chain
(`llmkit.errors.scrub_chain`: never its own cause, nothing foreign unredacted).

The stream contract, for whoever writes `_stream`: yield a `StreamEvent` only
for something the host said. Progress is content (`is_progress`): text,
reasoning, a tool-call piece or a refusal. Bookkeeping (usage, a finish
reason, an id or model, Anthropic's `message_start`, pings) is not progress,
on every codec: it resets no timer. The first-token limit runs until the
first content, the idle limit from each content event to the next. Events
before the first content are held back, so an attempt that stalls before it
is retried like any other. After the first content reached the caller nothing
is retried: a stall or a cut raises `StreamError`, other errors propagate, and
`ResponseStream` attaches the partial reply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from attrs import frozen

from llmkit import events
from llmkit.errors import (
    APIConnectionError,
    APITimeoutError,
    LLMError,
    RateLimitError,
    StreamError,
    scrub_chain,
)
from llmkit.providers._transport import transport_error
from llmkit.retry import RetryPolicy
from llmkit.timeouts import Timeouts
from llmkit.types import Latency, Request, Response, StreamEvent, Usage

if TYPE_CHECKING:
    from llmkit.ratelimit import Lease, RateLimit

__all__ = ["Policy", "complete", "is_progress", "stream", "transport_error"]

Send = Callable[[Request], Awaitable[Response]]
Open = Callable[[Request], AsyncIterator[StreamEvent]]


@frozen
class Policy:
    """What the shell applies around one call: a value, read once per call."""

    name: str
    """The provider's name, for errors and events."""
    timeouts: Timeouts = attrs.field(factory=Timeouts)
    retry: RetryPolicy | None = None
    rate_limit: RateLimit | None = None

    @classmethod
    def of(cls, provider: Any) -> Policy:
        """The policy a provider is configured with now (`name`, `timeouts`, `retry`, `rate_limit`)."""
        return cls(provider.name, provider.timeouts, provider.retry, provider.rate_limit)


def is_progress(event: StreamEvent) -> bool:
    """Whether an event is progress: text, reasoning, a tool-call piece or a refusal.

    Usage, a finish reason, ids and models are bookkeeping: a host can send
    them (Anthropic's `message_start` carries usage) without having started
    to answer, so they neither end the first-token wait nor reset the idle one.
    """
    return event.has_content


async def complete(send: Send, policy: Policy, request: Request) -> Response:
    """`send(request)`, paced, timed and retried by `policy`."""
    started = anyio.current_time()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await _complete_once(send, policy, request)
        except LLMError as error:
            scrub_chain(error)
            wait = await _after_failure(policy, attempt, error, started)
            if wait is None:
                raise
        await anyio.sleep(wait)


async def _complete_once(send: Send, policy: Policy, request: Request) -> Response:
    lease = await _acquire(policy, request)
    usage: Usage | None = None
    try:
        sent = time.perf_counter()
        limit = asyncio.timeout(policy.timeouts.total)  # a quarter of anyio's cost per call
        try:
            async with limit:
                try:
                    response = await send(request)
                except LLMError:
                    raise
                except Exception as exc:
                    mapped = transport_error(exc, provider=policy.name)
                    if mapped is None:
                        raise
                    raise mapped from exc
        except TimeoutError:
            if not limit.expired():
                raise
            raise APITimeoutError(
                f"No reply within the total timeout of {policy.timeouts.total}s; "
                "raise it with timeout=Timeouts(total=...)",
                provider=policy.name,
                model=request.model,
            ) from None
        usage = response.usage
        if response.latency.total is None:
            # a whole reply arrives at once: its first token is its last
            elapsed = time.perf_counter() - sent
            response = attrs.evolve(response, latency=Latency(first_token=elapsed, total=elapsed))
        return response
    finally:
        await _release(policy, lease, usage)


async def stream(open: Open, policy: Policy, request: Request) -> AsyncIterator[StreamEvent]:
    """`open(request)`'s events under `policy`; retried only before its first content."""
    started = anyio.current_time()
    attempt = 0
    while True:
        attempt += 1
        delivered = False
        held: list[StreamEvent] = []
        lease = await _acquire(policy, request)
        usage: Usage | None = None
        source = open(request)
        watch = _Watch(policy)
        try:
            while (event := await watch.next(source)) is not None:
                usage = event.usage or usage
                if not delivered:
                    if not watch.progressed:
                        held.append(event)
                        continue
                    delivered = True
                    for early in held:
                        yield early
                    held.clear()
                yield event
            for early in held:  # a reply without content (only bookkeeping) ends here
                yield early
            return
        except LLMError as error:
            scrub_chain(error)
            if delivered:
                final = _after_first_event(error)
                if final is error:
                    raise
                raise scrub_chain(final) from error
            wait = await _after_failure(policy, attempt, error, started)
            if wait is None:
                raise
        finally:
            watch.stop()
            await _close(source)
            await _release(policy, lease, usage)
        await anyio.sleep(wait)


class _Watch:
    """First-token, idle and total timeouts of one stream attempt, on one timer.

    The timer is armed for the earliest deadline. Content moves the idle
    deadline on: later deadlines cost no timer (when the timer fires early it
    re-arms for the new one), but the first content can bring the deadline
    forward (first_token=30, idle=1: the idle deadline is now 1 s away, not
    30), so then the timer is re-armed at once. It cancels the task only while
    the task waits for the provider's next event, never the caller's own code
    between events; that cancellation comes out of `next` as `APITimeoutError`.
    """

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._loop = asyncio.get_running_loop()
        self._start = self._loop.time()
        self._last_progress: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._unbounded = False
        self._waiting: asyncio.Task[Any] | None = None
        self._expired: str | None = None

    @property
    def progressed(self) -> bool:
        """Whether content has arrived in this attempt."""
        return self._last_progress is not None

    async def next(self, source: AsyncIterator[StreamEvent]) -> StreamEvent | None:
        """The provider's next event (None at its end); content resets the idle clock."""
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
        except LLMError:
            if self._expired is not None and task.uncancel() <= cancelling:
                raise self._timed_out() from None  # our cancellation, turned into another error
            raise
        except Exception as exc:
            if self._expired is not None and task.uncancel() <= cancelling:
                raise self._timed_out() from exc
            mapped = transport_error(exc, provider=self._policy.name)
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            self._waiting = None
        if is_progress(event):
            first = self._last_progress is None
            self._last_progress = self._loop.time()
            if first and self._timer is not None:
                self._timer.cancel()  # the idle deadline may now come before the first-token one
                self._timer = None
                self._arm()
        return event

    def _timed_out(self) -> APITimeoutError:
        assert self._expired is not None
        message = _timeout_message(self._expired, self._policy.timeouts)
        return APITimeoutError(message, provider=self._policy.name)

    def stop(self) -> None:
        """Disarm the timer (the attempt is over)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._unbounded = True

    def _arm(self) -> None:
        when, _ = _next_deadline(self._policy.timeouts, self._start, self._last_progress)
        if when == float("inf"):
            self._unbounded = True  # no limit applies now, and none can later
        else:
            self._timer = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer = None
        when, which = _next_deadline(self._policy.timeouts, self._start, self._last_progress)
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
        "first_token": "No content arrived within the first-token timeout",
        "idle": "The stream stalled: no content within the idle timeout",
    }[which]
    return (
        f"{what} of {seconds}s (keep-alives, pings and usage-only events do not count); "
        f"adjust timeout=Timeouts({which}=...)"
    )


def _after_first_event(error: LLMError) -> LLMError:
    """What a failure becomes once the caller has content: cuts and stalls are `StreamError`s.

    Nothing that ends a stream after its first content is `retryable`: sending
    the request again would replay a reply the caller has partly consumed (what
    did arrive is in `.partial`), so a retry is the caller's own decision.
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


def _limit(seconds: float | None) -> float:
    return float("inf") if seconds is None else seconds


async def _acquire(policy: Policy, request: Request) -> Lease | None:
    if policy.rate_limit is None:
        return None
    return await policy.rate_limit.acquire(request)


async def _release(policy: Policy, lease: Lease | None, usage: Usage | None) -> None:
    if lease is not None and policy.rate_limit is not None:
        await policy.rate_limit.release(lease, usage)


async def _after_failure(
    policy: Policy, attempt: int, error: LLMError, started: float
) -> float | None:
    """Seconds before the next attempt (None: give up); a 429 pauses the rate limit too."""
    wait = None
    if policy.retry is not None:
        wait = policy.retry.delay(attempt, error, elapsed=anyio.current_time() - started)
    if isinstance(error, RateLimitError) and error.retryable and policy.rate_limit is not None:
        pause = error.retry_after if error.retry_after is not None else wait
        if pause:
            await policy.rate_limit.pause(pause)
    if isinstance(error, RateLimitError) and events.rate_limit_falls_back():
        return None  # a fallback provider is waiting: hand over now rather than sleep here
    if wait is not None:
        events.retrying(
            provider=policy.name, model=error.model, attempt=attempt, error=error, delay=wait
        )
    return wait
