"""The worker side of local generation: queued jobs, batched where they can be, run by `generate`.

Every request becomes a `Job` appended to its model's queue; a run on the
model's one worker thread takes the oldest job and, when the provider allows
batches (`max_batch_size > 1`), the other waiting jobs with the same
generation options and a similar prompt length, left-pads them into one
`generate` call, and hands each row's new token ids to its own reader
(`Job.post`). A row ends at its end-of-sequence token or when its reader
cancels; the others go on. Jobs with a seed run alone, since one seed cannot
serve two samples. Runs on the worker thread only; imports torch there.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from attrs import define, field

from llmkit.providers.local.loading import LoadedModel

__all__ = ["Done", "Inbox", "Job", "run_next"]

LENGTH_RATIO = 2.0
"""Prompts batch together when the longest is at most this many times the shortest."""


@define(frozen=True)
class Done:
    """The last item a job's reader gets: when its generation started, and how long it ran."""

    started: float
    seconds: float
    batch_size: int


@define(eq=False)
class Job:
    """One request waiting for (or in) a generation."""

    prompt: list[int]
    options: dict[str, Any]
    seed: int | None
    post: Callable[[Any], None]
    """Hands token-id lists, an exception, then a `Done` to the reader's event loop."""
    max_batch_size: int = 1
    cancel: threading.Event = field(factory=threading.Event)

    def batches_with(self, other: Job) -> bool:
        """Whether `other` can share a `generate` call with this job."""
        if self.seed is not None or other.seed is not None or other.options != self.options:
            return False
        short, long = sorted((len(self.prompt), len(other.prompt)))
        return long <= LENGTH_RATIO * max(short, 1)


class Inbox:
    """What the worker thread posts to one reader: token-id lists, an exception, a `Done`.

    A post wakes the reader's event loop only when no wake-up is already on its
    way, and the reader takes everything posted since its last look at once: a
    reader that falls behind catches up in one step (one decode, one event for
    several tokens) instead of one loop wake-up per token.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._items: list[Any] = []
        self._waking = False  # a wake-up is scheduled and the items not yet taken
        self._waiter: asyncio.Future[None] | None = None

    def post(self, item: Any) -> None:
        """Called on the worker thread."""
        with self._lock:
            self._items.append(item)
            if self._waking:
                return
            self._waking = True
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is reading
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def take(self) -> list[Any]:
        """Everything posted since the last call, in order; waits while there is nothing."""
        while True:
            with self._lock:
                if self._items:
                    items, self._items, self._waking = self._items, [], False
                    return items
                self._waiter = self._loop.create_future()
            await self._waiter


def run_next(loaded: LoadedModel) -> None:
    """Take the oldest queued job (and the jobs it batches with) and generate for them."""
    with loaded.queue_lock:
        if not loaded.queue:
            return  # an earlier run took this one into its batch
        first = loaded.queue.pop(0)
        jobs = [first]
        for job in list(loaded.queue):
            if len(jobs) >= first.max_batch_size:
                break
            if first.batches_with(job):
                loaded.queue.remove(job)
                jobs.append(job)
    live = [job for job in jobs if not job.cancel.is_set()]
    started = time.perf_counter()
    try:
        if live:
            _generate(loaded, live)
    except Exception as exc:  # handed to each reader, raised there as an llmkit error
        for job in live:
            job.post(exc)
    finally:
        seconds = time.perf_counter() - started
        for job in jobs:
            job.post(Done(started, seconds, len(live)))


def _generate(loaded: LoadedModel, jobs: list[Job]) -> None:
    import torch
    import transformers

    model = loaded.model
    pad = loaded.pad_token_id if loaded.pad_token_id is not None else 0  # masked out anyway
    eos = model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
    width = max(len(job.prompt) for job in jobs)
    rows = [[pad] * (width - len(job.prompt)) + job.prompt for job in jobs]
    mask = [[0] * (width - len(job.prompt)) + [1] * len(job.prompt) for job in jobs]
    inputs = torch.tensor(rows, device=model.device)
    attention = torch.tensor(mask, device=model.device)
    finished = [False] * len(jobs)

    class Rows(transformers.generation.streamers.BaseStreamer):  # type: ignore[misc]
        """Posts each row's new token to its job (the prompt, put first, is skipped)."""

        prompt_seen = False

        def put(self, value: Any) -> None:
            if not self.prompt_seen:
                self.prompt_seen = True
                return
            for index, token in enumerate(value.reshape(-1).tolist()):
                if finished[index]:
                    continue  # a finished row's padding
                jobs[index].post([token])
                if token in eos_ids or jobs[index].cancel.is_set():
                    finished[index] = True

        def end(self) -> None:
            pass

    class Cancelled(transformers.StoppingCriteria):  # type: ignore[misc]
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            flags = [job.cancel.is_set() for job in jobs]
            return torch.tensor(flags, dtype=torch.bool, device=input_ids.device)

    if jobs[0].seed is not None:
        torch.manual_seed(jobs[0].seed)
    with torch.inference_mode():
        model.generate(
            input_ids=inputs,
            attention_mask=attention,
            streamer=Rows(),
            stopping_criteria=transformers.StoppingCriteriaList([Cancelled()]),
            pad_token_id=pad,
            **jobs[0].options,
        )
