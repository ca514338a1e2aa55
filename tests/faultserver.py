"""A fault-injecting HTTP/1.1 server on 127.0.0.1, for tests over real sockets.

`MockTransport` never opens a socket, so it cannot show what a slow, silent,
cut or oversized reply does to the timers, the decoders, the connection pool
or the event loop. This server does, and stays bounded: it listens on an
ephemeral loopback port, lives at most `lifetime` seconds (then closes every
connection itself, so a test that forgets it cannot hang), and stops when its
`async with` block ends.

    async with FaultServer([Reply.sse(b'data: {"x": 1}\\n\\n', STALL)]) as server:
        provider = OpenAICompatibleProvider(base_url=server.url + "/v1", api_key="k")
        ...
        assert len(server.requests) == 3 and server.connections == 1

Each request is answered by the next `Reply` of the script (the last one
repeats), or by `handler(request) -> Reply`. A reply's `body` is a list of
steps played in order: `bytes` are written (as one HTTP chunk, flushed),
a number sleeps that many seconds, `STALL` sends nothing more until the
server stops or the client hangs up,
`CUT` aborts the connection (a reset mid-body). `server.requests` records
every request; `server.connections` counts accepted TCP connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from attrs import define, field, frozen

__all__ = ["CUT", "STALL", "FaultServer", "Reply", "SeenRequest"]

STALL = "stall"
"""A body step: send nothing more until the server stops."""
CUT = "cut"
"""A body step: abort the connection here (the client sees a reset or an early end)."""

Step = bytes | float | int | str


@frozen
class SeenRequest:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@frozen
class Reply:
    """What the server does for one request."""

    status: int = 200
    headers: dict[str, str] = field(factory=dict)
    body: Sequence[Step] = ()
    chunked: bool = True
    """Send the body with `Transfer-Encoding: chunked` (else `Content-Length` of the bytes steps)."""

    @classmethod
    def sse(cls, *steps: Step, status: int = 200) -> Reply:
        """An event stream: `steps` as body steps."""
        return cls(status, {"content-type": "text/event-stream"}, steps)

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        """A whole JSON body with a `Content-Length`."""
        body = json.dumps(value).encode()
        return cls(status, {"content-type": "application/json", **(headers or {})}, [body], False)

    @classmethod
    def raw(cls, body: bytes, status: int = 200, content_type: str = "application/json") -> Reply:
        """Bytes as they are (any encoding, valid or not), with a `Content-Length`."""
        return cls(status, {"content-type": content_type}, [body], False)


@define
class FaultServer:
    """The server; use it as `async with FaultServer(script_or_handler, lifetime=...)`."""

    script: Sequence[Reply] | Callable[[SeenRequest], Reply]
    lifetime: float = 30.0
    requests: list[SeenRequest] = field(factory=list)
    connections: int = 0
    url: str = ""
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(factory=set)
    _stopped: asyncio.Event = field(factory=asyncio.Event)
    _deadline: asyncio.TimerHandle | None = None
    _stopping: asyncio.Future[None] | None = None

    async def __aenter__(self) -> FaultServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._deadline = asyncio.get_running_loop().call_later(self.lifetime, self._expire)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _expire(self) -> None:
        self._stopping = asyncio.ensure_future(self.stop())

    async def stop(self) -> None:
        """Close the listener and every open connection (idempotent)."""
        if self._deadline is not None:
            self._deadline.cancel()
        self._stopped.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def _reply_for(self, request: SeenRequest) -> Reply:
        if callable(self.script):
            return self.script(request)
        index = min(len(self.requests) - 1, len(self.script) - 1)
        return self.script[index]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            while not self._stopped.is_set():
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                if not await self._play(self._reply_for(request), reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _play(
        self, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Write one reply; False when the connection must not be used again."""
        headers = {k.lower(): v for k, v in reply.headers.items()}
        if reply.chunked:
            headers["transfer-encoding"] = "chunked"
        else:
            length = sum(len(s) for s in reply.body if isinstance(s, bytes))
            headers["content-length"] = str(length)
        head = f"HTTP/1.1 {reply.status} X\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        writer.write(head.encode() + b"\r\n")
        for step in reply.body:
            if isinstance(step, bytes):
                if step and reply.chunked:
                    writer.write(b"%x\r\n" % len(step))
                for start in range(0, len(step), 65536):  # a big step never stalls the loop
                    writer.write(step[start : start + 65536])
                    await writer.drain()
                if step and reply.chunked:
                    writer.write(b"\r\n")
                    await writer.drain()
            elif step == STALL:  # until the server stops or the client hangs up
                stopped = asyncio.ensure_future(self._stopped.wait())
                hung_up = asyncio.ensure_future(reader.read())
                await asyncio.wait([stopped, hung_up], return_when=asyncio.FIRST_COMPLETED)
                for waiter in (stopped, hung_up):
                    waiter.cancel()
                return False
            elif step == CUT:
                await writer.drain()
                writer.transport.abort()
                return False
            else:
                assert isinstance(step, int | float), step
                await asyncio.sleep(step)
        if reply.chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


async def _read_request(reader: asyncio.StreamReader) -> SeenRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed a kept-alive connection
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).strip() or b"0", 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return SeenRequest(method, path, headers, body)
