"""`sender="aiohttp"`: llmkit's own requests, sent by aiohttp under the `httpx2` client API.

The provider code is the same as with `sender="httpx2"`: it builds its requests
on an `httpx2.AsyncClient` (redirects, event hooks, decoding, the response
models) whose transport is `AiohttpTransport`, which hands each request to an
`aiohttp.ClientSession`. What changes is the connection layer: aiohttp's C
HTTP parser and connection pool in place of `httpcore2` and `h11`. Measured on
loopback, a plain call costs about half the CPU, and 256 concurrent streams no
longer walk every pooled connection per request (benchmarks/, docs/performance.md).

Semantics kept from `httpx2`:

- timeouts: the request's `connect` (TCP and TLS), `read` (between two reads)
  and `pool` (waiting for a free connection) limits; aiohttp has no write
  timeout, so `write` is not applied (the attempt's total deadline still is);
- errors: aiohttp's exceptions become `httpx2`'s of the same meaning
  (`ConnectTimeout`, `ReadTimeout`, `ConnectError`, `ReadError`,
  `RemoteProtocolError`), so `llmkit.providers._transport` and the retry policy
  treat both senders alike;
- bodies are passed on undecoded: `httpx2` decodes `content-encoding` itself;
- a body closed before its end closes its connection (it is never reused
  half-read); a body read to the end returns its connection to the pool;
- proxies from `HTTP(S)_PROXY` / `ALL_PROXY` / `NO_PROXY`, read once when the
  transport is built (aiohttp's own `trust_env` reads them, and `~/.netrc`, on every
  request: a millisecond per call), the provider's TLS context, and no cookie jar
  (the `httpx2` client keeps cookies).

One session per transport, opened on the first request in the running event
loop (providers keep one client, hence one transport, per loop).
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import httpx2

from llmkit._imports import require

__all__ = ["AiohttpTransport"]

_DROPPED = frozenset({"content-length", "transfer-encoding"})
"""Request headers aiohttp sets itself from the body it is given."""


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """An `httpx2` transport that sends through one pooled `aiohttp.ClientSession`.

    Example:
        `httpx2.AsyncClient(transport=AiohttpTransport())`; providers build it for
        `sender="aiohttp"`.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 1000,
        keepalive_seconds: float = 15.0,
    ) -> None:
        """Args:
        ssl_context: how to verify TLS (default: the system's trust store).
        max_connections: connections open at once, over every host.
        keepalive_seconds: how long an idle pooled connection is kept.
        """
        self._aiohttp = require("aiohttp", extra="aiohttp")
        self._ssl = ssl_context
        self._max_connections = max_connections
        self._keepalive = keepalive_seconds
        self._session: Any = None
        self._proxies = urllib.request.getproxies_environment()
        self._proxy_of: dict[tuple[str, str], str | None] = {}

    def _open_session(self) -> Any:
        aiohttp = self._aiohttp
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            keepalive_timeout=self._keepalive,
            ssl=self._ssl if self._ssl is not None else True,
        )
        return aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        aiohttp = self._aiohttp
        if self._session is None or self._session.closed:
            self._session = self._open_session()
        body = await request.aread()
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower().decode("latin-1") not in _DROPPED
        ]
        limits = request.extensions.get("timeout") or {}
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=limits.get("pool"),
            sock_connect=limits.get("connect"),
            sock_read=limits.get("read"),
        )
        url = self._aiohttp_url(request.url)
        try:
            reply = await self._session.request(
                request.method,
                url,
                data=body or None,
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
                proxy=self._proxy(request.url) if self._proxies else None,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _translated(exc, request, connecting=True) from exc
        return httpx2.Response(
            reply.status,
            headers=list(reply.raw_headers),
            stream=_Body(reply, request, aiohttp),
            extensions={
                "http_version": f"HTTP/{reply.version.major}.{reply.version.minor}".encode(),
                "reason_phrase": (reply.reason or "").encode("latin-1", "replace"),
            },
        )

    def _proxy(self, url: httpx2.URL) -> str | None:
        """The proxy for `url` from the environment, or None (`NO_PROXY`, or none set)."""
        key = (url.scheme, url.host)
        if key not in self._proxy_of:
            bypass = urllib.request.proxy_bypass_environment(url.host, self._proxies)  # type: ignore[attr-defined]  # in the module, not in its stubs
            chosen = None if bypass else self._proxies.get(url.scheme) or self._proxies.get("all")
            self._proxy_of[key] = chosen
        return self._proxy_of[key]

    def _aiohttp_url(self, url: httpx2.URL) -> Any:
        import yarl

        return yarl.URL(str(url), encoded=True)  # httpx2 has encoded it: no second pass

    async def aclose(self) -> None:
        """Close the session and every pooled connection."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Body(httpx2.AsyncByteStream):
    """An aiohttp response body as an `httpx2` byte stream, chunk by chunk as it arrives."""

    def __init__(self, reply: Any, request: httpx2.Request, aiohttp: Any) -> None:
        self._reply = reply
        self._request = request
        self._aiohttp = aiohttp

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._reply.content.iter_any():
                yield chunk
        except (TimeoutError, self._aiohttp.ClientError) as exc:
            raise _translated(exc, self._request, connecting=False) from exc

    async def aclose(self) -> None:
        if self._reply.content.at_eof():
            self._reply.release()  # read to the end: the connection goes back to the pool
        else:
            self._reply.close()  # abandoned half-read: never reuse this connection


def _translated(exc: BaseException, request: httpx2.Request, *, connecting: bool) -> Exception:
    """The `httpx2` exception of the same meaning as aiohttp's `exc`."""
    name = type(exc).__name__
    message = str(exc) or name
    cls: type[httpx2.TransportError]
    if name == "ConnectionTimeoutError":  # TCP/TLS set-up, or no pooled connection in time
        cls = httpx2.ConnectTimeout
    elif isinstance(exc, asyncio.TimeoutError) or "Timeout" in name:  # no byte within `read`
        cls = httpx2.ReadTimeout
    elif name in ("ClientConnectorError", "ClientConnectorCertificateError",
                  "ClientConnectorSSLError", "ClientConnectorDNSError", "ClientProxyConnectionError"):  # fmt: skip
        cls = httpx2.ConnectError
    elif name in ("ServerDisconnectedError", "ClientPayloadError", "ClientResponseError"):
        cls = httpx2.RemoteProtocolError
    elif connecting and name == "ClientOSError":
        cls = httpx2.ConnectError
    else:
        cls = httpx2.ReadError
    return cls(message, request=request)
