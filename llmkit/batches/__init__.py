"""Host batch APIs: half-price bulk jobs that survive a restart (see docs/batch-api.md).

    job = await provider.submit_batch({"q1": request1, "q2": request2})
    saved = job.to_json()                       # collect it from another process later
    status = await provider.batch_status(BatchJob.from_json(saved))
    if status.done:
        results = await provider.batch_results(job)   # custom_id -> Response | LLMError

    replies = await client.generate_batch(prompts, poll=60)   # submit, wait, collect

Providers with a batch API (`OpenAIProvider`, `AzureOpenAIProvider`,
`GroqProvider`, `AnthropicProvider`, `GeminiProvider`, `MistralProvider`,
`FakeProvider`) carry `BatchMethods`; each host's wire format lives in
`providers/_codecs/<format>_batch.py` and reuses the live codec, so a batched
request is encoded exactly as a live call. Replies are priced at the host's
batch price (the catalog's `batch` section). This package calls the layers
below it and is never called back by them.
"""

from llmkit.batches._limits import BatchLimits, batch_prices, limits_for, split
from llmkit.batches._methods import BatchMethods, BatchRequests
from llmkit.batches._runner import BatchRun, Poll, collect, generate_batch, wait
from llmkit.batches._types import (
    BatchItemError,
    BatchJob,
    BatchNotReadyError,
    BatchState,
    BatchStatus,
)

__all__ = [
    "BatchItemError",
    "BatchJob",
    "BatchLimits",
    "BatchMethods",
    "BatchNotReadyError",
    "BatchRequests",
    "BatchRun",
    "BatchState",
    "BatchStatus",
    "Poll",
    "batch_prices",
    "collect",
    "generate_batch",
    "limits_for",
    "split",
    "wait",
]
