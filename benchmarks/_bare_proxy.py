"""The floor of a Python hop: a raw ASGI app that forwards chat requests, nothing else.

    uvicorn _bare_proxy:app     # with BARE_PROXY_UPSTREAM=http://127.0.0.1:PORT/v1

No framework, no parsing beyond the `model` prefix, no keys, limits, metrics or
retries: the body goes to the upstream with aiohttp and the reply (or the event
stream, chunk by chunk) comes back as it is. `benchmarks/gateway.py` runs it under
the same uvicorn as `llmkit serve`, so the difference between the two rows is what
llmkit's pipeline costs, and this row's own added latency is what one more Python
process on the path costs on the machine at hand.
"""

from __future__ import annotations

import json
import os
from typing import Any

import aiohttp

UPSTREAM = os.environ.get("BARE_PROXY_UPSTREAM", "")
_session: aiohttp.ClientSession | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _session
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _session is not None:
                    await _session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/health/readiness":
        await _reply(send, 200, b'{"status": "ok"}', b"application/json")
        return
    body = bytearray()
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    data = json.loads(body)
    data["model"] = data["model"].partition("/")[2] or data["model"]  # `up/<model>` routing
    if _session is None:
        _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))
    async with _session.post(
        UPSTREAM + "/chat/completions",
        data=json.dumps(data).encode(),
        headers={"content-type": "application/json", "authorization": "Bearer bench"},
    ) as reply:
        kind = reply.headers.get("content-type", "application/json").encode()
        if not data.get("stream"):
            await _reply(send, reply.status, await reply.read(), kind)
            return
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": [(b"content-type", kind)]})  # fmt: skip
        async for chunk in reply.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


async def _reply(send: Any, status: int, body: bytes, kind: bytes) -> None:
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
