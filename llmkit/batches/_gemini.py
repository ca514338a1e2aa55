"""Gemini's batch mode (`models/{model}:batchGenerateContent`), sent with the provider's
own URLs, key header and error mapping; bodies and replies from `gemini_batch`."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from llmkit.batches._hosts import Item, Result, failed_job, new_job
from llmkit.batches._http import collect_pages, lines, request_json, with_retry
from llmkit.batches._types import BatchJob, BatchStatus
from llmkit.errors import LLMError

# -- Gemini -------------------------------------------------------------------------


class GeminiBatches:
    """Batch mode (`models/{model}:batchGenerateContent`), inline requests and results."""

    def _root(self, provider: Any) -> str:
        return f"{provider.base_url}/{provider.api_version}"

    async def _json(self, provider: Any, method: str, url: str, body: Any = None) -> Any:
        from llmkit.providers._codecs import gemini_generate

        return await request_json(
            provider,
            method,
            url,
            headers=provider._headers(),
            error_from_body=gemini_generate.error_from_body,
            body=body,
        )

    async def submit(self, provider: Any, items: Sequence[Item]) -> BatchJob:
        from llmkit.providers._codecs import gemini_batch as codec

        model = items[0][1].model
        name = f"llmkit-{secrets.token_hex(6)}"
        create = codec.to_create_body(items, display_name=name, provider=provider.name)
        url = provider._url(model, "batchGenerateContent")
        body = await with_retry(
            provider, lambda: self._json(provider, "POST", url, create), submit=True
        )
        status = codec.parse_batch(body, provider=provider.name)
        return new_job(provider, status, items, display_name=name)

    async def status(self, provider: Any, job: BatchJob) -> BatchStatus:
        from llmkit.providers._codecs import gemini_batch as codec

        url = f"{self._root(provider)}/{quote(job.id, safe='/')}"
        return codec.parse_batch(
            await with_retry(provider, lambda: self._json(provider, "GET", url)),
            provider=provider.name,
        )

    async def results(
        self, provider: Any, job: BatchJob, status: BatchStatus
    ) -> AsyncIterator[Result]:
        from llmkit.providers._codecs import gemini_batch as codec
        from llmkit.providers._codecs import gemini_generate

        inlined = codec.inlined_results(status.raw)
        if inlined is not None:
            for index, item in enumerate(inlined):
                position = job.custom_ids[index] if index < len(job.custom_ids) else None
                cid, result = codec.parse_result(item, custom_id=position, provider=provider.name)
                model = job.model_of(cid)
                if isinstance(result, LLMError):
                    result.model = result.model or model
                yield cid, result
            return
        file_name = codec.result_file(status.raw)
        if file_name is None:
            if not status.state.has_results:
                for failed in failed_job(status, job, provider.name):
                    yield failed
            return
        url = f"{provider.base_url}/download/{provider.api_version}/{quote(file_name, safe='/')}:download?alt=media"
        async for line in lines(
            provider,
            url,
            headers=provider._headers(),
            error_from_body=gemini_generate.error_from_body,
        ):
            yield codec.parse_result(line, custom_id=None, provider=provider.name)

    async def cancel(self, provider: Any, job: BatchJob) -> BatchStatus:
        url = f"{self._root(provider)}/{quote(job.id, safe='/')}:cancel"
        await with_retry(provider, lambda: self._json(provider, "POST", url, {}))
        return await self.status(provider, job)

    async def list(self, provider: Any, limit: int) -> list[BatchStatus]:
        from llmkit.providers._codecs import gemini_batch as codec

        async def fetch(token: str | None, wanted: int) -> tuple[list[BatchStatus], Any]:
            query = {"pageSize": min(100, wanted), **({"pageToken": token} if token else {})}
            url = f"{self._root(provider)}/batches?{urlencode(query)}"
            body = await with_retry(provider, partial(self._json, provider, "GET", url))
            return codec.parse_batch_list(body, provider=provider.name)

        return await collect_pages(fetch, limit)
