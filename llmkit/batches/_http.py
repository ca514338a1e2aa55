"""The few HTTP moves every host's batch adapter makes, through the provider's own pieces.

Each call goes through `provider.http_client()` (the pooled `httpx2` client or
the caller's), reports headers to `provider._observe_headers`, maps an error
status with the host codec's `error_from_body`, and turns transport exceptions
into llmkit errors. `with_retry` runs a control call (poll, results, cancel,
list) under the provider's `RetryPolicy`; a submission is retried only where
the host cannot have created the batch (a 429 or an overload).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from llmkit.errors import LLMError, OverloadedError, RateLimitError, scrub_chain
from llmkit.providers._codecs._errors_common import json_object
from llmkit.providers._codecs.ndjson import NDJSONDecoder
from llmkit.providers._pump import ErrorFromBody
from llmkit.providers._transport import transport_error

if TYPE_CHECKING:
    from llmkit.providers._base import BaseProvider

__all__ = ["collect_pages", "lines", "request_json", "with_retry"]

T = TypeVar("T")


async def request_json(
    provider: BaseProvider,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    error_from_body: ErrorFromBody,
    body: Any = None,
    content: bytes | None = None,
) -> Any:
    """Send one request and return its reply's JSON (`{}` for an empty 2xx body).

    Raises:
        LLMError: the codec's error for an error status; a transport failure mapped.
    """
    if body is not None:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    with _transport_errors(provider):
        client = provider.http_client()
        response = await client.request(method, url, content=content, headers=dict(headers))
    provider._observe_headers(response.headers)
    if response.status_code >= 400:
        raise error_from_body(
            response.status_code,
            response.content,
            response.headers,
            provider=provider.name,
            model=None,
        )
    if not response.content.strip() or response.content.strip() == b"null":
        return {}
    return json_object(
        response.content, provider=provider.name, model=None, status=response.status_code
    )


async def lines(
    provider: BaseProvider,
    url: str,
    *,
    headers: Mapping[str, str],
    error_from_body: ErrorFromBody,
) -> AsyncIterator[Any]:
    """The JSON lines of a (possibly large) JSONL download, parsed as they arrive."""
    decoder = NDJSONDecoder(host=provider.name, provider=provider.name)
    with _transport_errors(provider):
        client = provider.http_client()
        request = client.build_request("GET", url, headers=dict(headers))
        response = await client.send(request, stream=True)
    provider._observe_headers(response.headers)
    try:
        if response.status_code >= 400:
            content = await response.aread()
            raise error_from_body(
                response.status_code, content, response.headers, provider=provider.name, model=None
            )
        with _transport_errors(provider):
            async for chunk in response.aiter_bytes():
                for item in decoder.feed(chunk):
                    yield item
        for item in decoder.flush():
            yield item
    finally:
        await response.aclose()


@contextlib.contextmanager
def _transport_errors(provider: BaseProvider) -> Iterator[None]:
    """Transport exceptions raised inside as llmkit errors (llmkit's own pass through)."""
    try:
        yield
    except LLMError:
        raise
    except Exception as exc:
        error = transport_error(exc, provider=provider.name, where=f"{provider.name} batches")
        if error is None:
            raise
        raise error from exc


async def with_retry(
    provider: BaseProvider, call: Callable[[], Awaitable[T]], *, submit: bool = False
) -> T:
    """`call()` retried under the provider's `RetryPolicy`.

    Args:
        submit: the call creates a batch: retried only after a rate limit or an
            overload, where the host did not create it (a timeout might have, and a
            second batch would be billed twice).
    """
    policy = getattr(provider, "retry", None)
    started = anyio.current_time()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except LLMError as error:
            scrub_chain(error)
            if submit and not isinstance(error, RateLimitError | OverloadedError):
                raise
            wait = None
            if policy is not None:
                wait = policy.delay(attempt, error, elapsed=anyio.current_time() - started)
            if wait is None:
                raise
        await anyio.sleep(wait)


async def collect_pages(
    fetch: Callable[[Any, int], Awaitable[tuple[list[T], Any]]], limit: int, first: Any = None
) -> list[T]:
    """Up to `limit` items from a listing served in pages.

    Args:
        fetch: `fetch(cursor, wanted)` returns one page and the next page's cursor (None at
            the last page); `wanted` is how many items are still missing.
        limit: the most items to return.
        first: the first page's cursor (None: the host's first page).
    """
    found: list[T] = []
    cursor = first
    while len(found) < limit:
        page, cursor = await fetch(cursor, limit - len(found))
        found.extend(page)
        if cursor is None:
            break
    return found[:limit]
