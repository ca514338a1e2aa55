"""Anthropic's Message Batches (`/v1/messages/batches`), sent with the provider's own
headers and error mapping; bodies and replies from `anthropic_batch`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from llmkit.batches._hosts import Item, Result, new_job
from llmkit.batches._http import collect_pages, lines, request_json, with_retry
from llmkit.batches._types import BatchJob, BatchStatus

# -- Anthropic ----------------------------------------------------------------------


class AnthropicBatches:
    """Message Batches (`/v1/messages/batches`), results as JSONL."""

    def _check(self, provider: Any, what: str) -> None:
        if getattr(provider, "platform", "anthropic") != "anthropic":
            provider._first_party_only(what)

    async def _json(
        self, provider: Any, method: str, path: str, body: Any = None, betas: Sequence[str] = ()
    ) -> Any:
        from llmkit.providers._codecs import anthropic_messages

        return await request_json(
            provider,
            method,
            provider.base_url + path,
            headers=provider._headers(list(betas)),
            error_from_body=anthropic_messages.error_from_body,
            body=body,
        )

    async def submit(self, provider: Any, items: Sequence[Item]) -> BatchJob:
        from llmkit.providers._codecs import anthropic_batch as codec

        self._check(provider, "submit_batch")
        create, betas = codec.to_create_body(items, provider=provider.name)
        body = await with_retry(
            provider,
            lambda: self._json(provider, "POST", "/v1/messages/batches", create, betas),
            submit=True,
        )
        status = codec.parse_batch(body, provider=provider.name)
        return new_job(provider, status, items, betas=list(betas) or None)

    async def status(self, provider: Any, job: BatchJob) -> BatchStatus:
        from llmkit.providers._codecs import anthropic_batch as codec

        self._check(provider, "batch_status")
        path = f"/v1/messages/batches/{quote(job.id, safe='')}"
        return codec.parse_batch(
            await with_retry(provider, lambda: self._json(provider, "GET", path)),
            provider=provider.name,
        )

    async def results(
        self, provider: Any, job: BatchJob, status: BatchStatus
    ) -> AsyncIterator[Result]:
        from llmkit.providers._codecs import anthropic_batch as codec
        from llmkit.providers._codecs import anthropic_messages

        raw = status.raw if isinstance(status.raw, dict) else {}
        url = (
            raw.get("results_url")
            or f"{provider.base_url}/v1/messages/batches/{quote(job.id, safe='')}/results"
        )
        headers = provider._headers([])
        headers.pop("content-type", None)
        async for line in lines(
            provider, url, headers=headers, error_from_body=anthropic_messages.error_from_body
        ):
            cid = line.get("custom_id") if isinstance(line, dict) else None
            yield codec.parse_result_line(
                line, provider=provider.name, model=job.model_of(str(cid))
            )

    async def cancel(self, provider: Any, job: BatchJob) -> BatchStatus:
        from llmkit.providers._codecs import anthropic_batch as codec

        self._check(provider, "cancel_batch")
        path = f"/v1/messages/batches/{quote(job.id, safe='')}/cancel"
        return codec.parse_batch(
            await with_retry(provider, lambda: self._json(provider, "POST", path)),
            provider=provider.name,
        )

    async def list(self, provider: Any, limit: int) -> list[BatchStatus]:
        from llmkit.providers._codecs import anthropic_batch as codec

        self._check(provider, "list_batches")

        async def fetch(after: str | None, wanted: int) -> tuple[list[BatchStatus], Any]:
            query = {"limit": min(1000, wanted), **({"after_id": after} if after else {})}
            path = f"/v1/messages/batches?{urlencode(query)}"
            body = await with_retry(provider, partial(self._json, provider, "GET", path))
            return codec.parse_batch_list(body, provider=provider.name)

        return await collect_pages(fetch, limit)
