"""A fast OpenAI-compatible server for the loopback benchmark (run as a subprocess).

    python benchmarks/_server.py [PORT]     # prints "ready <port>" once listening

Plain asyncio protocol, HTTP/1.1 keep-alive, no framework: every POST is
answered with the canned completion, or with the 64-chunk stream (chunked
transfer encoding, one SSE event per chunk, written back to back) when the
body asks for `"stream": true`. It exits when its stdin closes, so it never
outlives the benchmark that started it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import _payloads as P

COMPLETION = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: req_bench\r\n"
    b"content-length: " + str(len(P.COMPLETION_BYTES)).encode() + b"\r\n\r\n" + P.COMPLETION_BYTES
)
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-request-id: req_bench\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
STREAM_CHUNKS = [f"{len(e):x}\r\n".encode() + e + b"\r\n" for e in P.STREAM_EVENTS] + [b"0\r\n\r\n"]


class Http(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = (
                int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
                if at >= 0
                else 0
            )
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            if b'"stream":true' in body or b'"stream": true' in body:
                self.transport.write(STREAM_HEAD)
                for chunk in STREAM_CHUNKS:
                    self.transport.write(chunk)
            else:
                self.transport.write(COMPLETION)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, "127.0.0.1", port, backlog=1024)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
