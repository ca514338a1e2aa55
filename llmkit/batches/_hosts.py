"""Each host's batch API as one small adapter: submit, status, results, cancel, list.

An adapter only sends: URLs and headers come from the provider (the same
helpers its live calls use), bodies and replies from the host's batch codec
(`providers/_codecs/<format>_batch.py`), which encodes every request with the
live codec's `to_params` and parses every reply with its `parse_reply`.
`adapter_for` picks a provider's adapter by its `batch_api`: OpenAI's (OpenAI,
Groq, Azure) and Mistral's in `_openai`, Anthropic's in `_anthropic`, Gemini's in
`_gemini`, `FakeProvider`'s in `_fake`; this module holds what they share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from llmkit.batches._types import BatchItemError, BatchJob, BatchStatus
from llmkit.errors import ConfigurationError, LLMError
from llmkit.types import Request, Response

if TYPE_CHECKING:
    from llmkit.providers._base import BaseProvider

__all__ = ["Adapter", "Result", "adapter_for", "failed_job", "new_job"]

Result = tuple[str, Response | LLMError]
Item = tuple[str, Request]


class Adapter(Protocol):
    """One host's batch API, driven with the provider that holds the key and the pool."""

    async def submit(self, provider: Any, items: Sequence[Item]) -> BatchJob: ...
    async def status(self, provider: Any, job: BatchJob) -> BatchStatus: ...
    def results(
        self, provider: Any, job: BatchJob, status: BatchStatus
    ) -> AsyncIterator[Result]: ...
    async def cancel(self, provider: Any, job: BatchJob) -> BatchStatus: ...
    async def list(self, provider: Any, limit: int) -> list[BatchStatus]: ...


def new_job(provider: Any, status: BatchStatus, items: Sequence[Item], **data: Any) -> BatchJob:
    return BatchJob(
        id=status.id,
        provider=provider.name,
        custom_ids=tuple(cid for cid, _ in items),
        models=tuple(r.model for _, r in items),
        created_at=status.created_at or dt.datetime.now(dt.UTC),
        expires_at=status.expires_at,
        base_url=provider.base_url,
        data={k: v for k, v in data.items() if v is not None},
    )


def failed_job(status: BatchStatus, job: BatchJob, provider: str) -> list[Result]:
    """A job the host failed as a whole: every request gets the host's reason."""
    raw = status.raw if isinstance(status.raw, dict) else {}
    errors = raw.get("errors")
    found = errors.get("data") if isinstance(errors, dict) else errors
    reasons = [
        str(e.get("message")) for e in found or () if isinstance(e, dict) and e.get("message")
    ]
    why = "; ".join(reasons[:3]) or f"the host reports the batch {status.host_state or 'failed'}"
    return [
        (cid, BatchItemError(f"batch {job.id} failed: {why}", reason="failed", provider=provider))
        for cid in job.custom_ids
    ]


def adapter_for(provider: BaseProvider | Any) -> Adapter:
    """The batch adapter of `provider` (its `batch_api`).

    Raises:
        ConfigurationError: the provider has no batch API in llmkit.
    """
    api = getattr(provider, "batch_api", None)
    adapter: Adapter | None = None
    if api in ("openai", "mistral"):
        from llmkit.batches._openai import MistralBatches, OpenAIBatches

        adapter = OpenAIBatches() if api == "openai" else MistralBatches()
    elif api == "anthropic":
        from llmkit.batches._anthropic import AnthropicBatches

        adapter = AnthropicBatches()
    elif api == "gemini":
        from llmkit.batches._gemini import GeminiBatches

        adapter = GeminiBatches()
    elif api == "fake":
        from llmkit.batches._fake import FakeBatches

        adapter = FakeBatches()
    if adapter is None:
        raise ConfigurationError(
            f"{getattr(provider, 'name', provider)} has no batch API in llmkit; batches run on "
            "OpenAI, Azure OpenAI, Groq, Anthropic, Gemini, Mistral and FakeProvider "
            "(or use client.generate_many for concurrent live calls)",
            provider=getattr(provider, "name", None),
        )
    return adapter
