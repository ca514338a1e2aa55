"""`BatchMethods`: the batch methods a provider with a host batch API carries.

A provider class lists `BatchMethods` among its bases and names its API in
`batch_api` (`openai`, `anthropic`, `gemini`, `mistral`, `fake`); the methods
check the requests against the host's limits (catalog data), hand the work to
that host's adapter (`llmkit.batches._hosts`), and price each reply at the
host's batch price. Every async method has its blocking `_sync` twin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from functools import partial
from typing import ClassVar

from attrs import evolve

from llmkit import _sync
from llmkit.batches._limits import batch_prices, check_items, limits_for
from llmkit.batches._types import (
    BatchItemError,
    BatchJob,
    BatchNotReadyError,
    BatchState,
    BatchStatus,
)
from llmkit.cost import price_response
from llmkit.errors import ConfigurationError, LLMError
from llmkit.types import Request, Response

__all__ = ["BatchMethods", "BatchRequests", "as_items"]

BatchRequests = Mapping[str, Request] | Sequence[Request]
"""`custom_id -> Request`, or a sequence of requests (ids `"0"`, `"1"`, ... minted)."""


def as_items(requests: BatchRequests) -> list[tuple[str, Request]]:
    """`(custom_id, request)` pairs, ids minted from positions for a sequence."""
    if isinstance(requests, Mapping):
        return [(str(k), v) for k, v in requests.items()]
    return [(str(i), r) for i, r in enumerate(requests)]


class BatchMethods:
    """Submit, poll, collect, cancel and list host batch jobs (mixed into providers)."""

    batch_api: ClassVar[str | None] = None
    """Which adapter speaks this host's batch API."""

    @property
    def _host(self) -> str:
        """The provider's name (a class attribute on llmkit's providers, an instance one
        on `FakeProvider`)."""
        return str(self.name)  # type: ignore[attr-defined]

    def _batch_job(self, job: BatchJob | str) -> BatchJob:
        if isinstance(job, BatchJob):
            if job.provider != self._host:  # its id means nothing to this host
                raise ConfigurationError(
                    f"batch job {job.id} was submitted to {job.provider}, not {self._host}: "
                    f"collect it with a {job.provider} provider",
                    provider=self._host,
                )
            return job
        return BatchJob(id=str(job), provider=self._host, custom_ids=())

    async def submit_batch(self, requests: BatchRequests) -> BatchJob:
        """Submit `requests` as one host batch job; returns at once with the job.

        Each request is encoded as a live call's (the same codec). Save
        `job.to_json()` to collect the results from another process later.

        Raises:
            ConfigurationError: no requests, duplicate ids, several models where the host
                takes one per batch, or more requests than the host takes (split them).
            LLMError: the host refused the batch.
        """
        from llmkit.batches._hosts import adapter_for

        items = as_items(requests)
        check_items(items, limits_for(self._host), provider=self._host)
        return await adapter_for(self).submit(self, items)

    async def batch_status(self, job: BatchJob | str) -> BatchStatus:
        """Where `job` stands: state, request counts, created and expiry times."""
        from llmkit.batches._hosts import adapter_for

        return await adapter_for(self).status(self, self._batch_job(job))

    async def iter_batch_results(
        self, job: BatchJob | str
    ) -> AsyncIterator[tuple[str, Response | LLMError]]:
        """`(custom_id, reply or error)` for every request of an ended job, as they are read.

        Replies are priced at the host's batch price. Requests of `job` that the
        results do not mention come last, as `BatchItemError`s (expired, cancelled,
        or missing): none is silently absent.

        Raises:
            BatchNotReadyError: the job has not ended yet (poll `batch_status`).
        """
        from llmkit.batches._hosts import adapter_for

        job = self._batch_job(job)
        adapter = adapter_for(self)
        status = await adapter.status(self, job)
        if not status.done:
            raise BatchNotReadyError(
                f"batch {job.id} has not ended ({status.describe()}); poll batch_status() "
                "until .done, or use generate_batch(), which waits",
                provider=self._host,
            )
        seen: set[str] = set()
        async for custom_id, result in adapter.results(self, job, status):
            seen.add(custom_id)
            yield custom_id, self._priced(job, custom_id, result)
        for custom_id in job.custom_ids:
            if custom_id not in seen:
                yield custom_id, _unanswered(job, custom_id, status, self._host)

    def _priced(
        self, job: BatchJob, custom_id: str, result: Response | LLMError
    ) -> Response | LLMError:
        if isinstance(result, LLMError):
            result.model = result.model or job.model_of(custom_id)
            return result
        if result.provider is None:
            result = evolve(result, provider=self._host)
        model = job.model_of(custom_id) or result.model
        return price_response(result, batch_prices(self._host, model), when=job.created_at)

    async def batch_results(self, job: BatchJob | str) -> dict[str, Response | LLMError]:
        """Every request's reply or error, in submission order (see `iter_batch_results`)."""
        results = {cid: r async for cid, r in self.iter_batch_results(job)}
        ids = self._batch_job(job).custom_ids
        ordered = {cid: results[cid] for cid in ids if cid in results}
        ordered.update({cid: r for cid, r in results.items() if cid not in ordered})
        return ordered

    async def cancel_batch(self, job: BatchJob | str) -> BatchStatus:
        """Ask the host to stop `job`; finished requests keep their results."""
        from llmkit.batches._hosts import adapter_for

        return await adapter_for(self).cancel(self, self._batch_job(job))

    async def list_batches(self, *, limit: int = 20) -> list[BatchStatus]:
        """The host's most recent batch jobs, newest first (at most `limit`)."""
        from llmkit.batches._hosts import adapter_for

        return await adapter_for(self).list(self, limit)

    # -- blocking twins -----------------------------------------------------------

    def submit_batch_sync(self, requests: BatchRequests) -> BatchJob:
        """Blocking twin of `submit_batch`."""
        return _sync.run(partial(self.submit_batch, requests))

    def batch_status_sync(self, job: BatchJob | str) -> BatchStatus:
        """Blocking twin of `batch_status`."""
        return _sync.run(partial(self.batch_status, job))

    def iter_batch_results_sync(
        self, job: BatchJob | str
    ) -> Iterator[tuple[str, Response | LLMError]]:
        """Blocking twin of `iter_batch_results`."""
        return _sync.iterate(partial(self.iter_batch_results, job))

    def batch_results_sync(self, job: BatchJob | str) -> dict[str, Response | LLMError]:
        """Blocking twin of `batch_results`."""
        return _sync.run(partial(self.batch_results, job))

    def cancel_batch_sync(self, job: BatchJob | str) -> BatchStatus:
        """Blocking twin of `cancel_batch`."""
        return _sync.run(partial(self.cancel_batch, job))

    def list_batches_sync(self, *, limit: int = 20) -> list[BatchStatus]:
        """Blocking twin of `list_batches`."""
        return _sync.run(partial(self.list_batches, limit=limit))


def _unanswered(
    job: BatchJob, custom_id: str, status: BatchStatus, provider: str
) -> BatchItemError:
    reason = {
        BatchState.EXPIRED: "expired",
        BatchState.CANCELLED: "cancelled",
        BatchState.FAILED: "failed",
    }.get(status.state, "missing")
    what = {
        "expired": "the host's window closed before this request ran; submit it again",
        "cancelled": "the batch was cancelled before this request ran",
        "failed": f"the batch failed as a whole ({status.host_state or 'failed'})",
        "missing": "the host's results do not mention this request",
    }[reason]
    return BatchItemError(
        f"batch {job.id}, request {custom_id!r}: {what}",
        reason=reason,
        provider=provider,
        model=job.model_of(custom_id),
    )
