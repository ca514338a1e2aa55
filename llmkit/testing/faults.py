"""Fault injection for tests: a transport that plays a script of failures, then the real thing.

Put `FaultTransport` under any provider (through `http_client=`) and every
request takes the next `Fault` from the script; once the script is used up,
requests go to the wrapped transport or handler untouched. Deterministic: the
same script gives the same failures in the same order.

    inner = httpx2.MockTransport(reply_ok)
    transport = FaultTransport([Fault.rate_limited(2), Fault.server_error()], inner)
    provider = GroqProvider(http_client=httpx2.AsyncClient(transport=transport))

`FaultTransport` is for `httpx2` clients; `httpx_fault_transport(...)` builds
the same for an `httpx` client. Stream faults (`stall_after`, `cut_after`)
serve the first N events of the wrapped reply (SSE events, or NDJSON lines)
and then stall or cut the connection.
"""

from __future__ import annotations

import inspect
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from email.utils import formatdate
from functools import cache
from types import ModuleType
from typing import Any, Literal

import anyio
import anyio.lowlevel
import httpx2
from attrs import frozen

__all__ = ["Fault", "FaultTransport", "httpx_fault_transport", "split_events"]

RetryAfterForm = Literal["seconds", "ms", "date", "none"]

_SSE_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


@frozen
class Fault:
    """One scripted failure; build them with the class methods."""

    kind: str
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    events: int = 0
    seconds: float | None = None

    @classmethod
    def passthrough(cls) -> Fault:
        """No fault: this request goes to the wrapped transport."""
        return cls("pass")

    @classmethod
    def status_error(
        cls, status: int, body: Any = None, *, headers: Iterable[tuple[str, str]] = ()
    ) -> Fault:
        """Answer with `status` and a JSON (or text) error body."""
        if body is None:
            body = {"error": {"message": f"injected {status}", "type": "injected", "code": None}}
        raw = body if isinstance(body, bytes) else _json(body)
        content_type = "application/json" if not isinstance(body, bytes) else "text/plain"
        return cls("status", status, (("content-type", content_type), *headers), raw)

    @classmethod
    def rate_limited(
        cls, retry_after: float | None = 1.0, *, form: RetryAfterForm = "seconds", body: Any = None
    ) -> Fault:
        """A 429 whose wait is given as `Retry-After: <seconds>`, `retry-after-ms`, an HTTP date or not at all."""
        body = body or {"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded"}}
        headers: list[tuple[str, str]] = []
        if retry_after is not None and form == "seconds":
            headers.append(("retry-after", f"{retry_after:g}"))
        elif retry_after is not None and form == "ms":
            headers.append(("retry-after-ms", f"{retry_after * 1000:g}"))
        elif retry_after is not None and form == "date":
            headers.append(("retry-after", _http_date_in(retry_after)))
        return cls.status_error(429, body, headers=headers)

    @classmethod
    def retry_after_header(cls, value: str, *, status: int = 429) -> Fault:
        """A 429 (or `status`) with a `Retry-After` header given verbatim (`inf`, `nan`, garbage)."""
        return cls.status_error(status, headers=[("retry-after", value)])

    @classmethod
    def overloaded(cls, status: int = 529) -> Fault:
        """The host is overloaded (Anthropic's 529, or 503)."""
        body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        return cls.status_error(status, body)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """A 5xx with a JSON error body."""
        return cls.status_error(status)

    @classmethod
    def connection_reset(cls) -> Fault:
        """The connection fails before any answer (`ConnectError`)."""
        return cls("reset")

    @classmethod
    def read_timeout(cls) -> Fault:
        """The transport gives up waiting for the answer (`ReadTimeout`)."""
        return cls("timeout")

    @classmethod
    def malformed(
        cls,
        body: bytes = b'{"id": "broken", "choices": [',
        *,
        content_type: str = "application/json",
    ) -> Fault:
        """A 200 whose body cannot be parsed."""
        return cls("status", 200, (("content-type", content_type),), body)

    @classmethod
    def stall_after(cls, events: int, *, seconds: float | None = None) -> Fault:
        """Serve the real reply's first `events` events, then go silent (for `seconds`, or forever)."""
        return cls("stall", events=events, seconds=seconds)

    @classmethod
    def cut_after(cls, events: int) -> Fault:
        """Serve the real reply's first `events` events, then drop the connection."""
        return cls("cut", events=events)

    @classmethod
    def keepalive_only(
        cls,
        *,
        interval: float = 0.01,
        line: bytes = b": keep-alive\n\n",
        count: int | None = None,
        content_type: str = "text/event-stream",
    ) -> Fault:
        """A 200 that sends only keep-alive lines (DeepSeek while queued): forever, or `count` then ends.

        Use `line=b"\\n"` and `content_type="application/json"` for a non-stream call.
        """
        return cls(
            "keepalive",
            200,
            (("content-type", content_type),),
            line,
            events=-1 if count is None else count,
            seconds=interval,
        )


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


def _http_date_in(seconds: float) -> str:
    import time

    return formatdate(time.time() + seconds, usegmt=True)


def split_events(body: bytes, content_type: str) -> list[tuple[bytes, bool]]:
    """The body as `(frame, is_event)` pieces: SSE events, NDJSON lines, or one piece.

    Comment-only SSE frames (keep-alives) are pieces but not events.
    """
    if "event-stream" in content_type:
        pieces: list[tuple[bytes, bool]] = []
        start = 0
        for match in _SSE_EVENT_END.finditer(body):
            frame = body[start : match.end()]
            start = match.end()
            lines = [ln for ln in frame.splitlines() if ln.strip()]
            pieces.append((frame, any(not ln.startswith(b":") for ln in lines)))
        if start < len(body):
            pieces.append((body[start:], True))
        return pieces
    if "ndjson" in content_type or "jsonl" in content_type:
        return [(line, bool(line.strip())) for line in body.splitlines(keepends=True)]
    return [(body, True)]


Handler = Callable[[Any], Any]


class _Script:
    """The part shared by both flavours: which fault comes next and how to play it."""

    def __init__(self, lib: ModuleType, faults: Iterable[Fault], inner: Any) -> None:
        self.lib = lib
        self.faults = deque(faults)
        if inner is None:
            inner = lib.MockTransport(_default_ok)
        elif not hasattr(inner, "handle_async_request"):
            inner = lib.MockTransport(inner)
        self.inner = inner
        self.requests: list[Any] = []
        self.played: list[Fault] = []

    async def handle(self, request: Any) -> Any:
        self.requests.append(request)
        fault = self.faults.popleft() if self.faults else Fault.passthrough()
        self.played.append(fault)
        lib = self.lib
        if fault.kind == "pass":
            return await self.inner.handle_async_request(request)
        if fault.kind == "reset":
            raise lib.ConnectError("injected: connection reset by peer", request=request)
        if fault.kind == "timeout":
            raise lib.ReadTimeout("injected: read timed out", request=request)
        if fault.kind == "status":
            return lib.Response(fault.status, headers=list(fault.headers), content=fault.body)
        if fault.kind == "keepalive":
            body = _body_class(lib)(_keepalive(fault))
            return lib.Response(200, headers=list(fault.headers), stream=body)
        return await self._truncated(fault, request)

    async def _truncated(self, fault: Fault, request: Any) -> Any:
        """The inner reply cut after `fault.events` events, then stalled or dropped."""
        lib = self.lib
        real = await self.inner.handle_async_request(request)
        body = await real.aread()
        content_type = real.headers.get("content-type", "")
        pieces: list[bytes] = []
        seen = 0
        rest: list[bytes] = []
        for frame, is_event in split_events(body, content_type):
            if seen >= fault.events:
                rest.append(frame)
                continue
            pieces.append(frame)
            seen += is_event

        async def then() -> AsyncIterator[bytes]:
            if fault.kind == "cut":
                raise lib.RemoteProtocolError(
                    "injected: peer closed connection without sending complete message body",
                    request=request,
                )
            if fault.seconds is None:
                await anyio.sleep_forever()
            else:
                await anyio.sleep(fault.seconds)
            for frame in rest:
                yield frame

        headers = [
            (k, v)
            for k, v in real.headers.items()
            if k.lower() not in {"content-length", "content-encoding", "transfer-encoding"}
        ]
        stream = _body_class(lib)(_chain(pieces, then()))
        return lib.Response(real.status_code, headers=headers, stream=stream)


async def _chain(first: list[bytes], then: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for piece in first:
        yield piece
        await anyio.lowlevel.checkpoint()
    async for piece in then:
        yield piece


async def _keepalive(fault: Fault) -> AsyncIterator[bytes]:
    sent = 0
    while fault.events < 0 or sent < fault.events:
        yield fault.body
        sent += 1
        await anyio.sleep(fault.seconds or 0)


def _default_ok(request: Any) -> Any:
    lib = httpx2 if isinstance(request, httpx2.Request) else _httpx()
    return lib.Response(200, json={"ok": True})


def _httpx() -> ModuleType:
    from llmkit._imports import require

    return require("httpx", extra="groq")


@cache
def _body_class(lib: ModuleType) -> Any:
    class _Body(lib.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, chunks: AsyncIterator[bytes]) -> None:
            self._chunks = chunks

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self._chunks:
                yield chunk

        async def aclose(self) -> None:
            closer = getattr(self._chunks, "aclose", None)
            if closer is not None and inspect.iscoroutinefunction(closer):
                await closer()

    return _Body


class FaultTransport(httpx2.AsyncBaseTransport):
    """An `httpx2` transport that plays `faults` in order, then passes requests to `inner`.

    Args:
        faults: the script; each request takes the next one.
        inner: a transport, or a handler `request -> Response` (sync or async) as
            `httpx2.MockTransport` takes; by default every request gets `{"ok": true}`.

    Attributes:
        requests: every request seen, in order (retries included).
        played: the fault each request got (`passthrough` once the script ran out).
    """

    def __init__(self, faults: Iterable[Fault], inner: Any = None) -> None:
        self._script = _Script(httpx2, faults, inner)
        self.requests = self._script.requests
        self.played = self._script.played

    @property
    def remaining(self) -> int:
        """Faults not played yet."""
        return len(self._script.faults)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Play the next fault for `request`."""
        response: httpx2.Response = await self._script.handle(request)
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._script.inner.aclose()


def httpx_fault_transport(faults: Iterable[Fault], inner: Any = None) -> Any:
    """The same as `FaultTransport`, for an `httpx.AsyncClient` (needs `httpx` installed)."""
    lib = _httpx()
    script = _Script(lib, faults, inner)

    class HttpxFaultTransport(lib.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        requests = script.requests
        played = script.played

        async def handle_async_request(self, request: Any) -> Any:
            return await script.handle(request)

        async def aclose(self) -> None:
            await script.inner.aclose()

    return HttpxFaultTransport()
