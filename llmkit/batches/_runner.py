"""`generate_batch`: submit, wait with backoff, and collect a host batch in input order.

    results = await generate_batch(provider, requests, poll=Poll(interval=60))

The requests are split over the host's limits (one model per batch where the
host demands it, requests and bytes per batch: catalog data), each part is
submitted as one job, the jobs are polled with a growing interval, and the
results come back one slot per request, in input order: its `Response`, or the
`LLMError` it ended with (rejected by the host, expired, or a part the host
refused to take). `on_progress` sees every poll; `on_submit` each job as soon
as it exists, so a caller can save `job.to_json()` and resume elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import anyio
from attrs import frozen

from llmkit.batches._hosts import adapter_for
from llmkit.batches._limits import limits_for, split
from llmkit.batches._types import BatchItemError, BatchJob, BatchNotReadyError, BatchStatus
from llmkit.errors import ConfigurationError, LLMError
from llmkit.types import Request, Response

__all__ = ["BatchRun", "Poll", "collect", "generate_batch", "wait"]

Result = Response | LLMError
_MAX_INTERVAL = 600.0


@frozen
class Poll:
    """How often to ask a host whether a batch is done: `interval` seconds at first,
    growing by `factor` up to `max_interval`; give up waiting after `timeout` seconds
    (the jobs go on at the host: collect them later from their `BatchJob`)."""

    interval: float = 30.0
    max_interval: float = 600.0  # _MAX_INTERVAL
    factor: float = 1.5
    timeout: float | None = None

    @classmethod
    def coerce(cls, value: Poll | float | None) -> Poll:
        """A `Poll` from a `Poll`, a first interval in seconds, or None (the default)."""
        if value is None:
            return cls()
        if isinstance(value, Poll):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigurationError(f"poll={value!r}: seconds between polls (>= 0), or a Poll")
        return cls(interval=float(value), max_interval=max(float(value), _MAX_INTERVAL))

    def delays(self) -> Iterator[float]:
        """The waits between polls, forever."""
        delay = self.interval
        while True:
            yield delay
            delay = min(self.max_interval, delay * self.factor)


@frozen
class BatchRun:
    """Where a `generate_batch` stands at one poll: every job's latest status."""

    statuses: tuple[BatchStatus, ...]
    total: int
    """Requests in the whole run."""

    @property
    def finished(self) -> int:
        """Requests answered, failed, expired or cancelled so far."""
        return sum(s.total - s.pending for s in self.statuses)

    @property
    def failed(self) -> int:
        """Requests that ended without a reply so far."""
        return sum(s.failed + s.expired + s.cancelled for s in self.statuses)

    @property
    def done(self) -> bool:
        """Whether every job has ended."""
        return all(s.done for s in self.statuses)


ProgressCallback = Callable[[BatchRun], Any]
Sleep = Callable[[float], Awaitable[Any]]


async def generate_batch(
    provider: Any,
    requests: Sequence[Request],
    *,
    poll: Poll | float | None = None,
    on_progress: ProgressCallback | None = None,
    on_submit: Callable[[BatchJob], Any] | None = None,
    sleep: Sleep = anyio.sleep,
) -> list[Result]:
    """Run `requests` as host batch jobs and return one result per request, in order.

    Raises:
        ConfigurationError: the provider has no batch API.
        BatchNotReadyError: `poll.timeout` passed first (`.jobs` holds the jobs to resume).
    """
    if not hasattr(provider, "submit_batch"):
        adapter_for(provider)  # raises, naming the hosts that have one
    policy = Poll.coerce(poll)
    items = [(str(index), request) for index, request in enumerate(requests)]
    slots: list[Result | None] = [None] * len(items)
    jobs: list[BatchJob] = []
    for part in split(items, limits_for(provider.name)):
        try:
            job = await provider.submit_batch(dict(part))
        except LLMError as error:  # the host refused this part: each of its requests says so
            for custom_id, _ in part:
                slots[int(custom_id)] = error
            continue
        jobs.append(job)
        if on_submit is not None:
            on_submit(job)
    await wait(provider, jobs, poll=policy, on_progress=on_progress, sleep=sleep, total=len(items))
    for job in jobs:
        for custom_id, result in (await collect(provider, job)).items():
            if custom_id.isdigit() and int(custom_id) < len(slots):
                slots[int(custom_id)] = result
    return [
        slot
        if slot is not None
        else BatchItemError(
            f"request {index} has no result", reason="missing", provider=provider.name
        )
        for index, slot in enumerate(slots)
    ]


async def wait(
    provider: Any,
    jobs: Sequence[BatchJob],
    *,
    poll: Poll | float | None = None,
    on_progress: ProgressCallback | None = None,
    sleep: Sleep = anyio.sleep,
    total: int | None = None,
) -> list[BatchStatus]:
    """Poll `jobs` until every one has ended; their last statuses.

    Raises:
        BatchNotReadyError: `poll.timeout` seconds passed first; `.jobs` holds the jobs.
    """
    policy = Poll.coerce(poll)
    started = anyio.current_time()
    count = total if total is not None else sum(len(j.custom_ids) for j in jobs)
    statuses = {job.id: await provider.batch_status(job) for job in jobs}
    delays = policy.delays()
    while True:
        run = BatchRun(tuple(statuses.values()), count)
        if on_progress is not None:
            on_progress(run)
        if run.done:
            return list(statuses.values())
        delay = next(delays)
        if policy.timeout is not None and anyio.current_time() - started + delay > policy.timeout:
            error = BatchNotReadyError(
                f"{sum(not s.done for s in statuses.values())} batch job(s) still running after "
                f"{policy.timeout}s; they go on at the host: collect them later from their "
                "BatchJob (job.to_json() / provider.batch_results(job))",
                provider=provider.name,
                jobs=tuple(jobs),
            )
            raise error
        await sleep(delay)
        for job in jobs:
            if not statuses[job.id].done:
                statuses[job.id] = await provider.batch_status(job)


async def collect(provider: Any, job: BatchJob) -> dict[str, Result]:
    """An ended job's results by custom id (`provider.batch_results`)."""
    results: dict[str, Result] = await provider.batch_results(job)
    return results
