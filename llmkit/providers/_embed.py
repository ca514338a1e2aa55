"""The shell every provider's `embed` runs in: inputs checked, cache, policies, one POST.

A provider's `embed` only names its URL, headers, codec and body
(`embed_with(...)`); this module checks the inputs (one string or a sequence
of non-empty strings, `kind` query/document, `dimensions` positive), serves
what the provider's `cache` holds (per input, `llmkit.cache`), and sends the
rest under the provider's rate limit, timeout and retry policy, as
`llmkit.providers._calls` does for chat. `post_json` is the one HTTP call:
the provider's pooled `httpx2` client (or the caller's), its error mapping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from llmkit import events
from llmkit.errors import APITimeoutError, ConfigurationError, LLMError, RateLimitError
from llmkit.providers._codecs._errors_common import json_object, parse_json_or_text
from llmkit.providers._transport import transport_error
from llmkit.types import Embeddings

if TYPE_CHECKING:
    from llmkit.providers._base import BaseProvider

__all__ = ["KINDS", "check_inputs", "embed_with", "post_json", "with_policies"]

KINDS = ("query", "document")

ErrorMapper = Callable[[int, object, Any], LLMError]
"""`(status, parsed body, headers) -> LLMError` for an error reply."""


def check_inputs(
    inputs: str | Sequence[str], *, kind: str | None, dimensions: int | None, provider: str
) -> list[str]:
    """`inputs` as a list of strings; `ConfigurationError` saying what is wrong otherwise."""
    texts = [inputs] if isinstance(inputs, str) else list(inputs)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ConfigurationError(
                f"embed() takes strings; input {index} is {type(text).__name__}",
                provider=provider,
            )
    if kind is not None and kind not in KINDS:
        raise ConfigurationError(
            f"kind={kind!r}: use 'query', 'document' or None", provider=provider
        )
    if dimensions is not None and (
        not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions <= 0
    ):
        raise ConfigurationError(
            f"dimensions={dimensions!r}: a positive integer, or None for the model's own",
            provider=provider,
        )
    return texts


async def embed_with(
    provider: BaseProvider,
    inputs: str | Sequence[str],
    *,
    model: str,
    kind: str | None,
    dimensions: int | None,
    send: Callable[[list[str]], Awaitable[Embeddings]],
) -> Embeddings:
    """Check `inputs`, serve cached vectors, and `send` the rest under the policies."""
    texts = check_inputs(inputs, kind=kind, dimensions=dimensions, provider=provider.name)
    if not texts:
        return Embeddings((), model=model, provider=provider.name)

    async def attempt(batch: list[str]) -> Embeddings:
        return await with_policies(provider, model, batch, send)

    cache = getattr(provider, "cache", None)
    if cache is not None:
        from llmkit.cache import embed_cached

        return await embed_cached(
            cache, provider, texts, model=model, kind=kind, dimensions=dimensions,
            send=attempt,
        )  # fmt: skip
    return await attempt(texts)


async def with_policies(
    provider: BaseProvider,
    model: str,
    texts: list[str],
    send: Callable[[list[str]], Awaitable[Embeddings]],
) -> Embeddings:
    """`send(texts)` paced by the provider's rate limit, timed, and retried by its policy."""
    started = anyio.current_time()
    estimate = sum(len(t) for t in texts) // 4 + len(texts)  # ~4 characters a token
    amounts = {"requests": 1, "tokens": estimate, "input_tokens": estimate, "output_tokens": 0}
    attempt = 0
    while True:
        attempt += 1
        limit = provider.rate_limit
        lease = await limit.acquire_amounts(amounts) if limit is not None else None
        result: Embeddings | None = None
        try:
            result = await _once(provider, model, texts, send)
            return result
        except LLMError as error:
            wait = await _after_failure(provider, attempt, error, started)
            if wait is None:
                raise
        finally:
            if lease is not None and limit is not None:
                await limit.release(lease, result.usage if result is not None else None)
        await anyio.sleep(wait)


async def _once(
    provider: BaseProvider,
    model: str,
    texts: list[str],
    send: Callable[[list[str]], Awaitable[Embeddings]],
) -> Embeddings:
    total = provider.timeouts.total
    timer = asyncio.timeout(total)
    try:
        async with timer:
            try:
                return await send(texts)
            except LLMError:
                raise
            except Exception as exc:
                error = transport_error(exc, provider=provider.name, model=model)
                if error is None:
                    raise
                raise error from exc
    except TimeoutError:
        if not timer.expired():
            raise
        raise APITimeoutError(
            f"No embeddings within the total timeout of {total}s; "
            "raise it with timeout=Timeouts(total=...), or send smaller batches",
            provider=provider.name,
            model=model,
        ) from None


async def _after_failure(
    provider: BaseProvider, attempt: int, error: LLMError, started: float
) -> float | None:
    """Seconds before the next attempt (None: give up); a 429 pauses the rate limit too."""
    wait = None
    if provider.retry is not None:
        wait = provider.retry.delay(attempt, error, elapsed=anyio.current_time() - started)
    if isinstance(error, RateLimitError) and error.retryable and provider.rate_limit is not None:
        pause = error.retry_after if error.retry_after is not None else wait
        if pause:
            await provider.rate_limit.pause(pause)
    if wait is not None:
        events.retrying(
            provider=provider.name, model=error.model, attempt=attempt, error=error, delay=wait
        )
    return wait


async def post_json(
    provider: BaseProvider,
    url: str,
    body: Mapping[str, Any],
    *,
    headers: Mapping[str, str],
    model: str,
    error: ErrorMapper,
) -> Mapping[str, Any]:
    """POST `body` with the provider's HTTP client; the reply's JSON, or its llmkit error."""
    reply = await provider.http_client().post(url, json=body, headers=dict(headers))
    provider._observe_headers(reply.headers)
    if reply.status_code >= 400:
        raise error(reply.status_code, parse_json_or_text(reply.content), reply.headers)
    return json_object(reply.content, provider=provider.name, model=model, status=reply.status_code)


# -- each wire format's one attempt (the providers' `embed` methods call these) ----------

_BASE64_HOSTS = frozenset({"openai", "azure", "azure-openai"})
"""Hosts asked for base64 vectors (a third of the JSON's size), as the `openai` SDK asks."""


async def openai_style(
    provider: Any,
    inputs: str | Sequence[str],
    *,
    model: str,
    kind: str | None,
    dimensions: int | None,
) -> Embeddings:
    """`POST {base_url}/embeddings`, sent by the OpenAI-compatible provider's own `_send`
    (its URL, auth and error mapping: Azure's deployments and api-key header included)."""
    from llmkit.providers._codecs import openai_embeddings as codec

    encoding = "base64" if provider.name in _BASE64_HOSTS else None
    prefix = codec.kind_prefix(model, kind)

    async def send(texts: list[str]) -> Embeddings:
        params = codec.to_params(
            [prefix + t for t in texts], model=model, dimensions=dimensions,
            encoding_format=encoding,
        )  # fmt: skip
        with provider._map_errors(model):
            reply = await provider._send("POST", "/embeddings", params, model)
        body = provider._json(reply, model)
        return codec.parse_reply(body, provider=provider.name, model=model)

    return await embed_with(
        provider, inputs, model=model, kind=kind, dimensions=dimensions, send=send
    )


async def voyage(
    provider: Any,
    inputs: str | Sequence[str],
    *,
    model: str,
    kind: str | None,
    dimensions: int | None,
) -> Embeddings:
    """`POST /v1/embeddings` on Voyage AI."""
    from llmkit.providers._codecs import voyage_embed as codec

    headers = {"authorization": f"Bearer {provider.api_key()}"}

    def mapper(status: int, body: object, reply_headers: Any) -> LLMError:
        return codec.error_from_body(
            status, body, reply_headers, provider=provider.name, model=model
        )

    async def send(texts: list[str]) -> Embeddings:
        params = codec.to_params(texts, model=model, kind=kind, dimensions=dimensions)
        url = f"{provider.base_url}/embeddings"
        body = await post_json(provider, url, params, headers=headers, model=model, error=mapper)
        return codec.parse_reply(body, provider=provider.name, model=model)

    return await embed_with(
        provider, inputs, model=model, kind=kind, dimensions=dimensions, send=send
    )


async def gemini(
    provider: Any,
    inputs: str | Sequence[str],
    *,
    model: str,
    kind: str | None,
    dimensions: int | None,
) -> Embeddings:
    """`models/{model}:batchEmbedContents`, sent with the Gemini provider's own `_json`."""
    from llmkit.providers._codecs import gemini_embed as codec

    async def send(texts: list[str]) -> Embeddings:
        params = codec.to_params(texts, model=model, kind=kind, dimensions=dimensions)
        url = provider._url(model, "batchEmbedContents")
        body = await provider._json("POST", url, params, model=model)
        return codec.parse_reply(body, provider=provider.name, model=model)

    return await embed_with(
        provider, inputs, model=model, kind=kind, dimensions=dimensions, send=send
    )


async def cohere(
    provider: Any,
    inputs: str | Sequence[str],
    *,
    model: str,
    kind: str | None,
    dimensions: int | None,
) -> Embeddings:
    """`POST /v2/embed`, sent with the Cohere provider's own `_open` and `_read`."""
    from llmkit.providers._codecs import cohere_embed as codec

    async def send(texts: list[str]) -> Embeddings:
        params = codec.to_params(texts, model=model, kind=kind, dimensions=dimensions)
        with provider._errors(model):
            reply = await provider._open("POST", f"{provider.base_url}/v2/embed", params, model)
            body = await provider._read(reply, model)
        return codec.parse_reply(body, provider=provider.name, model=model)

    return await embed_with(
        provider, inputs, model=model, kind=kind, dimensions=dimensions, send=send
    )


async def ollama(
    provider: Any,
    inputs: str | Sequence[str],
    *,
    model: str,
    kind: str | None,
    dimensions: int | None,
) -> Embeddings:
    """`POST /api/embed` on Ollama (a kind becomes the prefix the model wants, if any)."""
    from llmkit.providers._codecs import ollama_embed as codec
    from llmkit.providers._codecs.openai_embeddings import kind_prefix
    from llmkit.providers.ollama import _transport_errors

    prefix = kind_prefix(model, kind)

    def mapper(status: int, body: object, reply_headers: Any) -> LLMError:
        return codec.error_from_body(
            status, body, reply_headers, provider=provider.name, model=model
        )

    async def send(texts: list[str]) -> Embeddings:
        params = codec.to_params([prefix + t for t in texts], model=model, dimensions=dimensions)
        url = f"{provider.base_url}/api/embed"
        with _transport_errors(provider.base_url):  # "is it running? `ollama serve`"
            body = await post_json(
                provider, url, params, headers=provider._headers(), model=model, error=mapper
            )
        return codec.parse_reply(body, provider=provider.name, model=model)

    return await embed_with(
        provider, inputs, model=model, kind=kind, dimensions=dimensions, send=send
    )
