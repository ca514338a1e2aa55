"""A minimal provider speaking a trivial JSON/SSE format, and the server that answers it.

Used to drive the policy shell (`llmkit.providers._calls`) and the fault
transport end to end without depending on any real host's codec.

Wire format: `POST /complete` returns `{"text", "usage": {"input", "output"}}`;
`POST /stream` returns SSE `data: {"text": ...}` events, a last
`data: {"finish": "stop", "usage": ...}` and `data: [DONE]`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2

from llmkit.errors import (
    APIError,
    InvalidRequestError,
    InvalidResponseError,
    LLMError,
    OverloadedError,
    RateLimitError,
    ServerError,
    StreamError,
)
from llmkit.providers import BaseProvider, ModelInfo
from llmkit.providers._codecs.sse import SSEDecoder
from llmkit.retry import is_retryable_status, parse_retry_after, quota_exhausted
from llmkit.types import FinishReason, Message, Request, Response, StreamEvent, Usage

WORDS = ["one ", "two ", "three ", "four ", "five"]
USAGE = {"input": 7, "output": 5}


def request(text: str = "hi", max_tokens: int | None = 16) -> Request:
    return Request("tiny-1", [Message.user(text)], max_tokens=max_tokens)


def sse(*payloads: Any) -> bytes:
    return b"".join(
        b"data: " + (p if isinstance(p, bytes) else json.dumps(p).encode()) + b"\n\n"
        for p in payloads
    )


def server(request: httpx2.Request) -> httpx2.Response:
    """The healthy host: a JSON reply, or five SSE text events then a finish."""
    if request.url.path.endswith("/stream"):
        body = sse(*({"text": w} for w in WORDS), {"finish": "stop", "usage": USAGE}, b"[DONE]")
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    return httpx2.Response(200, json={"text": "".join(WORDS), "usage": USAGE})


def error_for(status: int, headers: Any, body: Any) -> LLMError:
    where: dict[str, Any] = {"provider": "tiny", "status_code": status, "body": body}
    if status == 429:
        reason = quota_exhausted(status, body)
        return RateLimitError(
            reason or "rate limited",
            retry_after=parse_retry_after(headers),
            retryable=reason is None,
            **where,
        )
    if status in (503, 529):
        return OverloadedError("overloaded", **where)
    if status >= 500:
        return ServerError("server error", **where)
    if is_retryable_status(status):
        return APIError(f"status {status}", retryable=True, **where)
    return InvalidRequestError(f"status {status}", **where)


class TinyProvider(BaseProvider):
    name = "tiny"
    default_base_url = "http://tiny.test"
    requires_api_key = False

    async def _complete(self, request: Request) -> Response:
        reply = await self.http_client().post(f"{self.base_url}/complete", json={"n": 1})
        self._observe_headers(reply.headers)
        if reply.status_code >= 400:
            raise error_for(reply.status_code, reply.headers, _body(reply.content))
        try:
            data = json.loads(reply.content)
            usage = data["usage"]
            return Response(
                text=data["text"],
                finish_reason=FinishReason.STOP,
                usage=Usage(input_tokens=usage["input"], output_tokens=usage["output"]),
                provider=self.name,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidResponseError(
                f"not JSON: {reply.content[:40]!r}", provider=self.name
            ) from exc

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        async with self.http_client().stream("POST", f"{self.base_url}/stream") as reply:
            self._observe_headers(reply.headers)
            if reply.status_code >= 400:
                raise error_for(reply.status_code, reply.headers, _body(await reply.aread()))
            decoder = SSEDecoder()
            async for chunk in reply.aiter_bytes():
                for event in decoder.feed(chunk):
                    if event.data == "[DONE]":
                        return
                    try:
                        data = json.loads(event.data)
                    except ValueError as exc:
                        raise InvalidResponseError("bad event", provider=self.name) from exc
                    if "finish" in data:
                        usage = data["usage"]
                        yield StreamEvent(
                            finish_reason=FinishReason(data["finish"]),
                            usage=Usage(input_tokens=usage["input"], output_tokens=usage["output"]),
                        )
                    else:
                        yield StreamEvent(text=data["text"])
        raise StreamError("the stream ended without [DONE]", provider=self.name)

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo("tiny-1", self.name)]


def _body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return content.decode(errors="replace")
