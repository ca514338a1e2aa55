"""Many prompts through one client: bounded concurrency, results in input order.

    results = await client.generate_many(prompts, concurrency=8, on_progress=print)
    for prompt, result in zip(prompts, results):
        if isinstance(result, LLMError): ...

Each request goes through the client's usual path, so the provider's rate
limits, retries, fallbacks and the budget all apply; many clients on
different providers can run batches side by side, each provider paced by its
own buckets. A request that fails puts its `LLMError` in its own slot; the
batch goes on. Cancelling the awaiting task cancels the requests under way
and raises `CancelledError` (nothing is left running). Anything that is not
an `LLMError` (a bug, a raising progress callback) stops the batch and is raised.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
from attrs import frozen

from llmkit.errors import ConfigurationError, LLMError
from llmkit.types import Prompt, Response

__all__ = ["BatchProgress", "ProgressCallback", "run_many"]

Result = Response | LLMError


@frozen
class BatchProgress:
    """Where a batch stands, after one more request finished."""

    done: int
    """Requests finished so far (replies and failures)."""
    total: int
    failed: int
    """Requests among `done` that failed."""
    index: int
    """Position of the request that just finished."""
    result: Result
    """Its reply, or its error."""

    @property
    def fraction(self) -> float:
        """`done / total` (1.0 for an empty batch)."""
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[BatchProgress], object]
"""Called after each request finishes; may be a coroutine function."""


async def run_many(
    generate: Callable[[Prompt], Awaitable[Response]],
    prompts: Sequence[Prompt],
    *,
    concurrency: int = 8,
    on_progress: ProgressCallback | None = None,
) -> list[Result]:
    """Run `generate(prompt)` for every prompt, at most `concurrency` at a time.

    Returns:
        One slot per prompt, in input order: its `Response`, or the `LLMError` it failed with.
    """
    if concurrency < 1:
        raise ConfigurationError(f"concurrency must be at least 1, not {concurrency}")
    total = len(prompts)
    results: list[Any] = [None] * total
    pending = iter(range(total))
    counts = {"done": 0, "failed": 0}

    async def report(index: int, result: Result) -> None:
        counts["done"] += 1
        counts["failed"] += isinstance(result, LLMError)
        if on_progress is not None:
            outcome = on_progress(
                BatchProgress(counts["done"], total, counts["failed"], index, result)
            )
            if inspect.isawaitable(outcome):
                await outcome

    async def worker() -> None:
        for index in pending:  # one shared iterator: each index is taken once
            result: Result
            try:
                result = await generate(prompts[index])
            except LLMError as error:
                result = error
            results[index] = result
            await report(index, result)

    async with anyio.create_task_group() as group:
        for _ in range(min(concurrency, total)):
            group.start_soon(worker)
    return results
