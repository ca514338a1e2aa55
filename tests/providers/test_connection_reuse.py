"""Pooled connections are reused over real sockets: 20 sequential streams, one TCP connection.

A small HTTP/1.1 server on 127.0.0.1 (a thread, stopped by the test) answers
`/chat/completions` with an SSE stream in chunked encoding and counts the
connections it accepts. A stream that stops reading at `[DONE]` throws its
connection away; one that reads the body to its end hands it back to the pool.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from llmkit.providers import OpenAICompatibleProvider, OpenAIProvider
from llmkit.types import Message, Request

REQUEST = Request(model="m", messages=[Message.user("hi")])
EVENTS = [
    {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
    {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "lo"}}]},
    {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
]
COMPLETION = {
    "id": "c",
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}}],
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if not body.get("stream"):
            payload = json.dumps(COMPLETION).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event in [*(json.dumps(e) for e in EVENTS), "[DONE]"]:
            data = f"data: {event}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.connections = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _base(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/v1"


@pytest.mark.parametrize("sender", ["httpx2", "aiohttp", "sdk"])
async def test_twenty_sequential_streams_use_one_connection(
    server: ThreadingHTTPServer, sender: str
) -> None:
    provider = OpenAICompatibleProvider(base_url=_base(server), sender=sender, timeout=10)  # type: ignore[arg-type]
    try:
        for _ in range(20):
            reply = await provider.stream(REQUEST).collect()
            assert reply.text == "Hello"
    finally:
        await provider.aclose()
    assert server.connections == 1  # type: ignore[attr-defined]


async def test_streams_and_calls_share_the_connection(server: ThreadingHTTPServer) -> None:
    provider = OpenAIProvider(api_key="k", base_url=_base(server), timeout=10)
    try:
        for _ in range(5):
            assert (await provider.complete(REQUEST)).text == "Hello"
            assert (await provider.stream(REQUEST).collect()).text == "Hello"
    finally:
        await provider.aclose()
    assert server.connections == 1  # type: ignore[attr-defined]
