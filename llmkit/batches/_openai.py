"""OpenAI's batch API (OpenAI, Groq, Azure OpenAI: `/files` + `/batches`) and Mistral's
batch jobs (`/v1/batch/jobs`), sent through the provider's own URL, headers and error
mapping; bodies and replies from `openai_batch` / `mistral_batch`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

import attrs

from llmkit.batches._hosts import Item, Result, failed_job, new_job
from llmkit.batches._http import collect_pages, lines, request_json, with_retry
from llmkit.batches._types import BatchJob, BatchStatus
from llmkit.errors import LLMError

# -- OpenAI, Groq, Azure OpenAI --------------------------------------------------------


class OpenAIBatches:
    """`/files` + `/batches`, output and error files (OpenAI, Groq, Azure OpenAI)."""

    async def _headers(
        self, provider: Any, content_type: str | None = "application/json"
    ) -> dict[str, str]:
        headers = dict(await provider.request_headers())
        headers.pop("content-type", None)
        if content_type:
            headers["content-type"] = content_type
        return headers

    def _url(self, provider: Any, path: str, query: dict[str, Any] | None = None) -> str:
        url: str = provider.url(path)
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        return url

    def _error(self, host: Any) -> Any:
        """The provider's own error mapping (`_status_error`), as an `error_from_body`."""

        def error(status: int, body: object, headers: Any = None, **_: Any) -> LLMError:
            content = body if isinstance(body, bytes) else str(body).encode()
            return host._status_error(status, content, headers, None)  # type: ignore[no-any-return]

        return error

    async def _json(
        self, provider: Any, method: str, path: str, body: Any = None, **kw: Any
    ) -> Any:
        return await request_json(
            provider,
            method,
            self._url(provider, path, kw.get("query")),
            headers=await self._headers(provider),
            error_from_body=self._error(provider),
            body=body,
        )

    async def submit(self, provider: Any, items: Sequence[Item]) -> BatchJob:
        from llmkit.providers._codecs import openai_batch as codec

        endpoint = getattr(provider, "batch_endpoint", codec.ENDPOINT)
        content, content_type = codec.multipart_file(
            codec.to_jsonl(items, provider.dialect, endpoint=endpoint)
        )

        async def upload() -> Any:
            return await request_json(
                provider,
                "POST",
                self._url(provider, "/files"),
                headers=await self._headers(provider, content_type),
                error_from_body=self._error(provider),
                content=content,
            )

        file_id = codec.parse_file(
            await with_retry(provider, upload, submit=True), provider=provider.name
        )
        create = codec.to_create_body(file_id, endpoint=endpoint)
        body = await with_retry(
            provider, lambda: self._json(provider, "POST", "/batches", create), submit=True
        )
        status = codec.parse_batch(body, provider=provider.name)
        return new_job(provider, status, items, input_file_id=file_id, endpoint=endpoint)

    async def status(self, provider: Any, job: BatchJob) -> BatchStatus:
        from llmkit.providers._codecs import openai_batch as codec

        body = await with_retry(
            provider, lambda: self._json(provider, "GET", f"/batches/{quote(job.id, safe='')}")
        )
        return codec.parse_batch(body, provider=provider.name)

    async def results(
        self, provider: Any, job: BatchJob, status: BatchStatus
    ) -> AsyncIterator[Result]:
        from llmkit.providers._codecs import openai_batch as codec

        raw = status.raw if isinstance(status.raw, dict) else {}
        if (
            not raw.get("output_file_id")
            and not raw.get("error_file_id")
            and not status.state.has_results
        ):
            for result in failed_job(status, job, provider.name):
                yield result
            return
        for key in ("output_file_id", "error_file_id"):
            file_id = raw.get(key)
            if not file_id:
                continue
            url = self._url(provider, f"/files/{quote(str(file_id), safe='')}/content")
            headers = await self._headers(provider, None)
            async for line in lines(
                provider, url, headers=headers, error_from_body=self._error(provider)
            ):
                cid = line.get("custom_id") if isinstance(line, dict) else None
                yield codec.parse_result_line(
                    line, provider=provider.name, model=job.model_of(str(cid))
                )

    async def cancel(self, provider: Any, job: BatchJob) -> BatchStatus:
        from llmkit.providers._codecs import openai_batch as codec

        path = f"/batches/{quote(job.id, safe='')}/cancel"
        body = await with_retry(provider, lambda: self._json(provider, "POST", path))
        return codec.parse_batch(body, provider=provider.name)

    async def list(self, provider: Any, limit: int) -> list[BatchStatus]:
        from llmkit.providers._codecs import openai_batch as codec

        async def fetch(after: str | None, wanted: int) -> tuple[list[BatchStatus], Any]:
            query: dict[str, Any] = {
                "limit": min(100, wanted),
                **({"after": after} if after else {}),
            }
            body = await with_retry(
                provider, partial(self._json, provider, "GET", "/batches", query=query)
            )
            return codec.parse_batch_list(body, provider=provider.name)

        return await collect_pages(fetch, limit)


# -- Mistral ------------------------------------------------------------------------


class MistralBatches(OpenAIBatches):
    """Batch jobs (`/v1/batch/jobs`) with inline requests; results inline or as files."""

    async def submit(self, provider: Any, items: Sequence[Item]) -> BatchJob:
        from llmkit.providers._codecs import mistral_batch as codec

        create = codec.to_create_body(items, provider.dialect)
        body = await with_retry(
            provider, lambda: self._json(provider, "POST", "/batch/jobs", create), submit=True
        )
        return new_job(provider, codec.parse_batch(body, provider=provider.name), items)

    async def status(self, provider: Any, job: BatchJob) -> BatchStatus:
        from llmkit.providers._codecs import mistral_batch as codec

        path = f"/batch/jobs/{quote(job.id, safe='')}"
        return codec.parse_batch(
            await with_retry(provider, lambda: self._json(provider, "GET", path)),
            provider=provider.name,
        )

    async def results(
        self, provider: Any, job: BatchJob, status: BatchStatus
    ) -> AsyncIterator[Result]:
        from llmkit.providers._codecs import mistral_batch as codec
        from llmkit.providers._codecs import openai_batch

        path = f"/batch/jobs/{quote(job.id, safe='')}"
        body = await with_retry(
            provider, lambda: self._json(provider, "GET", path, query={"inline": "true"})
        )
        outputs = body.get("outputs") if isinstance(body, dict) else None
        if isinstance(outputs, list):
            for line in outputs:
                cid = line.get("custom_id") if isinstance(line, dict) else None
                yield openai_batch.parse_result_line(
                    line, provider=provider.name, model=job.model_of(str(cid))
                )
            return
        files = codec.parse_batch(body, provider=provider.name)
        raw = dict(files.raw or {})
        raw.update(output_file_id=raw.get("output_file"), error_file_id=raw.get("error_file"))
        async for result in super().results(provider, job, attrs.evolve(files, raw=raw)):
            yield result

    async def cancel(self, provider: Any, job: BatchJob) -> BatchStatus:
        from llmkit.providers._codecs import mistral_batch as codec

        path = f"/batch/jobs/{quote(job.id, safe='')}/cancel"
        return codec.parse_batch(
            await with_retry(provider, lambda: self._json(provider, "POST", path)),
            provider=provider.name,
        )

    async def list(self, provider: Any, limit: int) -> list[BatchStatus]:
        from llmkit.providers._codecs import mistral_batch as codec

        async def fetch(page: int, wanted: int) -> tuple[list[BatchStatus], Any]:
            query = {"page": page, "page_size": 100}
            body = await with_retry(
                provider, partial(self._json, provider, "GET", "/batch/jobs", query=query)
            )
            return codec.parse_batch_list(body, provider=provider.name, page=page)

        return await collect_pages(fetch, limit, first=0)
