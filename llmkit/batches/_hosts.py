"""Each host's batch API as one small adapter: submit, status, results, cancel, list.

An adapter only sends: URLs and headers come from the provider (the same
helpers its live calls use), bodies and replies from the host's batch codec
(`providers/_codecs/<format>_batch.py`), which encodes every request with the
live codec's `to_params` and parses every reply with its `parse_reply`.
`ADAPTERS` maps a provider's `batch_api` to its adapter; `FakeProvider`'s
lives in `llmkit.batches._fake`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

import attrs

from llmkit.batches._http import lines, request_json, with_retry
from llmkit.batches._types import BatchItemError, BatchJob, BatchStatus
from llmkit.errors import ConfigurationError, LLMError
from llmkit.types import Request, Response

if TYPE_CHECKING:
    from llmkit.providers._base import BaseProvider

__all__ = ["ADAPTERS", "Adapter", "Result"]

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


def _job(provider: Any, status: BatchStatus, items: Sequence[Item], **data: Any) -> BatchJob:
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


def _failed_job(status: BatchStatus, job: BatchJob, provider: str) -> list[Result]:
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
        return _job(provider, status, items, input_file_id=file_id, endpoint=endpoint)

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
            for result in _failed_job(status, job, provider.name):
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

        found: list[BatchStatus] = []
        after: str | None = None
        while len(found) < limit:
            query: dict[str, Any] = {"limit": min(100, limit - len(found))}
            if after:
                query["after"] = after
            body = await with_retry(
                provider, partial(self._json, provider, "GET", "/batches", query=query)
            )
            page, after = codec.parse_batch_list(body, provider=provider.name)
            found.extend(page)
            if after is None:
                break
        return found[:limit]


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
        return _job(provider, status, items, betas=list(betas) or None)

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
        found: list[BatchStatus] = []
        after: str | None = None
        while len(found) < limit:
            query = {
                "limit": min(1000, limit - len(found)),
                **({"after_id": after} if after else {}),
            }
            path = f"/v1/messages/batches?{urlencode(query)}"
            page, after = codec.parse_batch_list(
                await with_retry(provider, partial(self._json, provider, "GET", path)),
                provider=provider.name,
            )
            found.extend(page)
            if after is None:
                break
        return found[:limit]


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
        return _job(provider, status, items, display_name=name)

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
                for failed in _failed_job(status, job, provider.name):
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

        found: list[BatchStatus] = []
        token: str | None = None
        while len(found) < limit:
            query = {
                "pageSize": min(100, limit - len(found)),
                **({"pageToken": token} if token else {}),
            }
            url = f"{self._root(provider)}/batches?{urlencode(query)}"
            page, token = codec.parse_batch_list(
                await with_retry(provider, partial(self._json, provider, "GET", url)),
                provider=provider.name,
            )
            found.extend(page)
            if token is None:
                break
        return found[:limit]


# -- Mistral ------------------------------------------------------------------------


class MistralBatches(OpenAIBatches):
    """Batch jobs (`/v1/batch/jobs`) with inline requests; results inline or as files."""

    async def submit(self, provider: Any, items: Sequence[Item]) -> BatchJob:
        from llmkit.providers._codecs import mistral_batch as codec

        create = codec.to_create_body(items, provider.dialect)
        body = await with_retry(
            provider, lambda: self._json(provider, "POST", "/batch/jobs", create), submit=True
        )
        return _job(provider, codec.parse_batch(body, provider=provider.name), items)

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

        found: list[BatchStatus] = []
        page: int | None = 0
        while page is not None and len(found) < limit:
            query = {"page": page, "page_size": 100}
            body = await with_retry(
                provider, partial(self._json, provider, "GET", "/batch/jobs", query=query)
            )
            statuses, page = codec.parse_batch_list(body, provider=provider.name, page=page)
            found.extend(statuses)
        return found[:limit]


ADAPTERS: dict[str, Adapter] = {
    "openai": OpenAIBatches(),
    "anthropic": AnthropicBatches(),
    "gemini": GeminiBatches(),
    "mistral": MistralBatches(),
}


def adapter_for(provider: BaseProvider | Any) -> Adapter:
    """The batch adapter of `provider` (its `batch_api`).

    Raises:
        ConfigurationError: the provider has no batch API in llmkit.
    """
    api = getattr(provider, "batch_api", None)
    if api == "fake":
        from llmkit.batches._fake import FakeBatches

        return FakeBatches()
    adapter = ADAPTERS.get(api or "")
    if adapter is None:
        raise ConfigurationError(
            f"{getattr(provider, 'name', provider)} has no batch API in llmkit; batches run on "
            "OpenAI, Azure OpenAI, Groq, Anthropic, Gemini, Mistral and FakeProvider "
            "(or use client.generate_many for concurrent live calls)",
            provider=getattr(provider, "name", None),
        )
    return adapter
