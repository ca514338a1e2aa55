"""The bridge between `httpx` and `httpx2` clients, both ways.

A provider accepts an `httpx2.AsyncClient` or an `httpx.AsyncClient`, but a
vendor SDK may take only one kind (`groq` and `cohere` take `httpx`,
`anthropic` takes `httpx2`). `as_httpx_client(client)` and
`as_httpx2_client(client)` return a client of the kind asked for: the given
one when it already is, else a thin client whose transport sends every
request through the given client. Response bodies pass through chunk by
chunk, already decoded (streams stay streams) and transport errors keep their class name
(`ReadTimeout` stays `ReadTimeout`), so an SDK's timeout and connection
handling see what they expect. Closing the bridge leaves the given client open.

`httpx` is imported only when a bridge to or from it is needed.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from functools import cache
from types import ModuleType
from typing import Any

__all__ = ["as_httpx2_client", "as_httpx_client", "is_httpx2_client", "is_httpx_client"]


def is_httpx2_client(client: object) -> bool:
    """Whether `client` is an `httpx2.AsyncClient`."""
    import httpx2

    return isinstance(client, httpx2.AsyncClient)


def is_httpx_client(client: object) -> bool:
    """Whether `client` is an `httpx.AsyncClient` (without importing `httpx` if nobody did)."""
    httpx = sys.modules.get("httpx")
    return httpx is not None and isinstance(client, httpx.AsyncClient)


def as_httpx_client(client: Any) -> Any:
    """An `httpx.AsyncClient` that sends through `client` (returned as is if it is one)."""
    import httpx

    if isinstance(client, httpx.AsyncClient):
        return client
    import httpx2

    return httpx.AsyncClient(transport=_transport(httpx2, httpx)(client), timeout=None)


def as_httpx2_client(client: Any) -> Any:
    """An `httpx2.AsyncClient` that sends through `client` (returned as is if it is one)."""
    import httpx2

    if isinstance(client, httpx2.AsyncClient):
        return client
    import httpx

    return httpx2.AsyncClient(transport=_transport(httpx, httpx2)(client), timeout=None)


@cache
def _transport(source: ModuleType, target: ModuleType) -> type[Any]:
    """A `target` transport class that sends with a `source` client."""
    stream_class = _stream(source, target)

    class BridgeTransport(target.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        """Sends `target` requests through a `source` client, streaming the body back."""

        def __init__(self, client: Any) -> None:
            self._client = client

        async def handle_async_request(self, request: Any) -> Any:
            body = await request.aread()
            outgoing = source.Request(
                request.method,
                str(request.url),
                headers=request.headers.raw,
                content=body,
                extensions=dict(request.extensions),
            )
            try:
                response = await self._client.send(outgoing, stream=True)
            except source.HTTPError as exc:
                raise _translate(exc, target, request) from exc
            return target.Response(
                response.status_code,
                headers=_decoded_headers(response.headers.raw),
                stream=stream_class(response, request),
                extensions={k: v for k, v in response.extensions.items() if k in ("http_version",)},
            )

        async def aclose(self) -> None:
            """The bridged client belongs to someone else: leave it open."""

    return BridgeTransport


@cache
def _stream(source: ModuleType, target: ModuleType) -> type[Any]:
    class BridgeStream(target.AsyncByteStream):  # type: ignore[name-defined,misc]
        """A `source` response body as a `target` byte stream, chunk by chunk."""

        def __init__(self, response: Any, request: Any) -> None:
            self._response = response
            self._request = request

        async def __aiter__(self) -> AsyncIterator[bytes]:
            try:
                async for chunk in self._response.aiter_bytes():
                    yield chunk
            except source.HTTPError as exc:
                raise _translate(exc, target, self._request) from exc

        async def aclose(self) -> None:
            await self._response.aclose()

    return BridgeStream


def _decoded_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Headers for a body handed over already decoded (the source client undid any gzip)."""
    if not any(name.lower() == b"content-encoding" for name, _ in raw):
        return raw
    return [(n, v) for n, v in raw if n.lower() not in (b"content-encoding", b"content-length")]


def _translate(exc: Exception, target: ModuleType, request: Any) -> Exception:
    """The `target` library's exception of the same name (`ReadTimeout` → `ReadTimeout`)."""
    cls = getattr(target, type(exc).__name__, None)
    if not (isinstance(cls, type) and issubclass(cls, target.TransportError)):
        cls = target.TransportError
    return cls(str(exc), request=request)  # type: ignore[no-any-return]
