"""Real servers on 127.0.0.1 for the gateway tests, each bounded and stopped by its test.

`Gateway(config_text)` runs `llmkit.server.create_app` under a real uvicorn in a
thread (its own event loop), on an ephemeral port. `Upstream()` is a small
OpenAI-wire host (a threaded `http.server`): chat completions, plain and SSE
(with reasoning and tool calls when the request has tools), embeddings, and
scripted error replies; it records every request body.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import uvicorn

from llmkit.config import load_config
from llmkit.registry import Registry
from llmkit.server import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gateway:
    """`create_app(config)` under uvicorn in a thread; `.url` is its root."""

    def __init__(
        self, config_text: str = "", *, tmp: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        config = None
        if config_text:
            assert tmp is not None
            path = tmp / f"llmkit-{time.monotonic_ns()}.yaml"
            path.write_text(config_text)
            config = load_config(path, env=env or {})
        # No file: llmkit's own names only (never a llmkit.yaml found on this machine).
        self.app = create_app(config) if config is not None else create_app(registry=Registry())
        self.gateway = self.app.state.gateway
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = uvicorn.Config(self.app, log_level="error", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> Gateway:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def completion(text: str = "Hello from upstream", **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    message.update(extra)
    return {
        "id": "chatcmpl-up1",
        "object": "chat.completion",
        "created": 1,
        "model": "up-model",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if extra.get("tool_calls") else "stop",
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}


def stream_events(body: dict[str, Any]) -> list[dict[str, Any]]:
    """What the upstream streams for `body`: reasoning, text or a tool call, usage."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-up1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "up-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events = [chunk({"role": "assistant", "reasoning_content": "Thinking."})]
    if body.get("tools"):
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {"index": 0, "id": "call_1", "type": "function",
                         "function": {"name": "get_weather", "arguments": '{"city": '}}
                    ]
                }
            )
        )  # fmt: skip
        events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}))
        events.append(chunk({}, "tool_calls"))
    else:
        for word in ("Hello", " from", " upstream"):
            events.append(chunk({"content": word}))
        events.append(chunk({}, "stop"))
    last = chunk({})
    last["choices"] = []
    last["usage"] = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    events.append(last)
    return events


Scripted = Callable[[dict[str, Any]], tuple[int, dict[str, Any], dict[str, str]] | None]


class Upstream:
    """An OpenAI-wire host on loopback; `.url` ends in `/v1`; `.bodies` holds what it got."""

    def __init__(self, script: Scripted | None = None, *, chunk_delay: float = 0.0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.script = script
        self.chunk_delay = chunk_delay
        self.disconnects = 0
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                upstream.bodies.append(body)
                scripted = upstream.script(body) if upstream.script else None
                if scripted is not None:
                    status, payload, headers = scripted
                    return self._json(status, payload, headers)
                if self.path.endswith("/embeddings"):
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    data = [
                        {"object": "embedding", "index": i, "embedding": [0.5, float(len(t))]}
                        for i, t in enumerate(inputs)
                    ]
                    usage = {"prompt_tokens": 3, "total_tokens": 3}
                    return self._json(
                        200, {"object": "list", "data": data, "model": "emb", "usage": usage}
                    )
                if body.get("stream"):
                    return self._stream(body)
                extra: dict[str, Any] = {"reasoning_content": "Thinking."}
                if body.get("tools"):
                    extra["tool_calls"] = [TOOL_CALL]
                return self._json(
                    200, completion(None if body.get("tools") else "Hello from upstream", **extra)
                )  # type: ignore[arg-type]

            def _json(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                events = stream_events(body)
                if upstream.chunk_delay:
                    events = events[:1] + [events[1]] * 400  # a long stream, to cut
                try:
                    for event in events:
                        self._chunk(b"data: " + json.dumps(event).encode() + b"\n\n")
                        if upstream.chunk_delay:
                            time.sleep(upstream.chunk_delay)
                    self._chunk(b"data: [DONE]\n\n")
                    self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    upstream.disconnects += 1
                    self.close_connection = True

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Upstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
