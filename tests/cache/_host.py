"""A fake OpenAI-compatible host on a MockTransport: counts requests, serves chat
replies, streams (reasoning, text, tool-call deltas, usage) and embeddings."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2

from llmkit.providers import OpenAICompatibleProvider

REPLY = {
    "id": "chatcmpl-1",
    "model": "test-model",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Four.", "reasoning_content": "2+2"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
}

_CHUNKS: list[dict[str, Any]] = [
    {"delta": {"role": "assistant", "reasoning_content": "The user wants "}},
    {"delta": {"reasoning_content": "the weather."}},
    {"delta": {"content": "Let me check. "}},
    {"delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                               "function": {"name": "get_weather", "arguments": ""}}]}},
    {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": "}}]}},
    {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}},
    {"delta": {}, "finish_reason": "tool_calls"},
]  # fmt: skip


def sse(cut_after: int | None = None) -> bytes:
    """The stream's body; `cut_after` chunks then an abrupt end (no finish, no [DONE])."""
    lines = []
    for index, chunk in enumerate(_CHUNKS):
        if cut_after is not None and index >= cut_after:
            return "".join(lines).encode()
        body = {"id": "chatcmpl-2", "model": "test-model", "choices": [{"index": 0, **chunk}]}
        lines.append(f"data: {json.dumps(body)}\n\n")
    usage = {"id": "chatcmpl-2", "model": "test-model", "choices": [],
             "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}}  # fmt: skip
    lines.append(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n")
    return "".join(lines).encode()


class Host:
    """Serves what it is told and counts what it was asked."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.chat: list[dict[str, Any]] = []
        self.embedded: list[list[str]] = []
        self.delay = delay
        self.status = 200
        self.cut_after: int | None = None

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        if self.delay:
            await anyio.sleep(self.delay)
        if request.url.path.endswith("/embeddings"):
            self.embedded.append(body["input"])
            data = [
                {"index": i, "embedding": [float(len(t)), float(i), 0.5]}
                for i, t in enumerate(body["input"])
            ]
            return httpx2.Response(200, json={"data": data, "model": body["model"],
                                              "usage": {"prompt_tokens": len(data)}})  # fmt: skip
        self.chat.append(body)
        if self.status >= 400:
            return httpx2.Response(self.status, json={"error": {"message": "bad request"}})
        if body.get("stream"):
            headers = {"content-type": "text/event-stream"}
            return httpx2.Response(200, headers=headers, content=sse(self.cut_after))
        return httpx2.Response(200, json=REPLY)

    def provider(self, cache: Any = None) -> OpenAICompatibleProvider:
        client = httpx2.AsyncClient(transport=httpx2.MockTransport(self))
        return OpenAICompatibleProvider(
            base_url="http://host.test/v1", api_key="sk-test-secret-key", http_client=client,
            retry=None, cache=cache,
        )  # fmt: skip
