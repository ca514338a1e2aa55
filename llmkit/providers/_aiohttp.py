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
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx2

from llmkit._imports import require
from llmkit.providers._transport import ERROR_READ_LIMIT

__all__ = ["AiohttpTransport", "Reply"]

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
        url = self._aiohttp_url(request.url)
        try:
            reply = await self._session.request(
                request.method,
                url,
                data=body or None,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout(request.extensions.get("timeout") or {}),
                proxy=self._proxy(url.scheme, url.host) if self._proxies else None,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _translated(exc, request, connecting=True) from exc
        return httpx2.Response(
            reply.status,
            headers=list(reply.raw_headers),
            stream=_Body(Reply(reply, aiohttp)),
            extensions={
                "http_version": f"HTTP/{reply.version.major}.{reply.version.minor}".encode(),
                "reason_phrase": (reply.reason or "").encode("latin-1", "replace"),
            },
        )

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        headers: Mapping[str, str],
        limits: Mapping[str, float | None],
    ) -> Reply:
        """Send one request without `httpx2`'s models: the reply, its body still to read.

        The providers' own calls and streams take this path (`sender="aiohttp"`): it
        costs about half the CPU of the `httpx2` client over this same transport.
        aiohttp follows redirects (307 and 308 keep the method and body) and decodes
        `content-encoding`; errors are `httpx2`'s, as on the transport path.

        Args:
            method: the HTTP method.
            url: the full URL.
            content: the body, or None.
            headers: every header to send (auth, content type, user agent).
            limits: `connect`, `read` and `pool` seconds (`Timeouts.httpx_kwargs()`).
        """
        if self._session is None or self._session.closed:
            self._session = self._open_session()
        target = self._aiohttp_url(url)
        try:
            reply = await self._session.request(
                method,
                target,
                data=content,
                headers={"accept-encoding": "gzip, deflate", **headers},
                timeout=self._timeout(limits),
                proxy=self._proxy(target.scheme, target.host) if self._proxies else None,
                auto_decompress=True,
            )
        except (TimeoutError, self._aiohttp.ClientError) as exc:
            raise _translated(exc, None, connecting=True) from exc
        return Reply(reply, self._aiohttp)

    def _timeout(self, limits: Mapping[str, float | None]) -> Any:
        return self._aiohttp.ClientTimeout(
            total=None,
            connect=limits.get("pool"),
            sock_connect=limits.get("connect"),
            sock_read=limits.get("read"),
        )

    def _proxy(self, scheme: str, host: str | None) -> str | None:
        """The proxy for `scheme://host` from the environment, or None (`NO_PROXY`, or none)."""
        key = (scheme, host or "")
        if key not in self._proxy_of:
            bypass = urllib.request.proxy_bypass_environment(host or "", self._proxies)  # type: ignore[attr-defined]  # in the module, not in its stubs
            chosen = None if bypass else self._proxies.get(scheme) or self._proxies.get("all")
            self._proxy_of[key] = chosen
        return self._proxy_of[key]

    def _aiohttp_url(self, url: httpx2.URL | str) -> Any:
        import yarl

        return yarl.URL(str(url), encoded=True)  # encoded already: no second pass

    async def aclose(self) -> None:
        """Close the session and every pooled connection."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Body(httpx2.AsyncByteStream):
    """An aiohttp response body as an `httpx2` byte stream, chunk by chunk as it arrives
    (`httpx2` attaches its request to an error raised while it reads)."""

    def __init__(self, reply: Reply) -> None:
        self._reply = reply

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._reply.aiter_bytes():
            yield chunk

    async def aclose(self) -> None:
        await self._reply.aclose()


class Reply:
    """An aiohttp reply with the part of `httpx2.Response`'s API the providers read.

    `status_code`, `headers` (case-insensitive `.get`), `aread()` then `content` /
    `text` / `json()`, `aiter_bytes()` (and `aiter_raw()`, the same: aiohttp has
    decoded already), `aclose()`. An error reply's body is read only up to
    `ERROR_READ_LIMIT` bytes, as the `httpx2` pools' `bound_error_body` hook does.
    """

    __slots__ = ("_aiohttp", "_content", "_reply", "headers", "status_code")

    def __init__(self, reply: Any, aiohttp: Any) -> None:
        self._reply = reply
        self._aiohttp = aiohttp
        self._content: bytes | None = None
        self.status_code: int = reply.status
        self.headers: Any = reply.headers

    @property
    def is_stream_consumed(self) -> bool:
        return self._content is not None

    @property
    def content(self) -> bytes:
        if self._content is None:
            raise httpx2.ResponseNotRead()
        return self._content

    @property
    def text(self) -> str:
        return self.content.decode(self._reply.charset or "utf-8", errors="replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content)

    async def aread(self) -> bytes:
        """The whole body (an error reply's: at most `ERROR_READ_LIMIT` bytes); then closed."""
        if self._content is None:
            try:
                self._content = await self._read()
            except (TimeoutError, self._aiohttp.ClientError) as exc:
                raise _translated(exc, None, connecting=False) from exc
            finally:
                await self.aclose()
        return self._content

    async def _read(self) -> bytes:
        body = self._reply.content
        if self.status_code < 400:
            return bytes(await body.read())
        kept = bytearray()
        while len(kept) < ERROR_READ_LIMIT:
            chunk = await body.read(ERROR_READ_LIMIT - len(kept))  # what has arrived, up to n
            if not chunk:
                break
            kept += chunk
        return bytes(kept)

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk as it arrives."""
        try:
            async for chunk in self._reply.content.iter_any():
                yield chunk
        except (TimeoutError, self._aiohttp.ClientError) as exc:
            raise _translated(exc, None, connecting=False) from exc

    aiter_raw = aiter_bytes

    async def aclose(self) -> None:
        if self._reply.content.at_eof():
            self._reply.release()  # read to the end: the connection goes back to the pool
        else:
            self._reply.close()  # abandoned half-read: never reuse this connection


def _translated(
    exc: BaseException, request: httpx2.Request | None, *, connecting: bool
) -> Exception:
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
