"""Shared checks for the OpenAI-compatible providers' test modules.

Each `tests/providers/test_<host>.py` replays its cassettes (plain reply,
stream, tool call, error) and runs these checks against its provider class:
both kinds of HTTP client, the sync twins, `list_models`, and the
configuration errors (missing key, missing SDK).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import httpx2
import pytest

from llmkit import _imports, errors
from llmkit.providers import OpenAICompatibleProvider
from llmkit.types import FinishReason, Message, Request, ToolSpec

QUESTION = Request(model="test-model", messages=[Message.user("Say hi")], max_tokens=20)
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)

COMPLETION = {
    "id": "chatcmpl-mock",
    "object": "chat.completion",
    "model": "test-model",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}
STREAM = (
    b'data: {"id":"c","model":"test-model","choices":[{"index":0,"delta":{"content":"H"}}]}\n\n'
    b": keep-alive\n\n"
    b'data: {"id":"c","model":"test-model","choices":[{"index":0,"delta":{"content":"i!"},'
    b'"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)
MODELS = {
    "object": "list",
    "data": [
        {
            "id": "test-model",
            "object": "model",
            "created": 1700000000,
            "owned_by": "someone",
            "context_window": 131072,
            "shutdown_date": "2026-12-11",
        },
        {"id": "other", "object": "model"},
    ],
}


class Recorder:
    """A MockTransport handler for either library that answers like a chat server."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.content]

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        module = httpx2 if isinstance(request, httpx2.Request) else httpx
        if request.url.path.endswith("/models"):
            return module.Response(200, json=MODELS)
        if json.loads(request.content).get("stream"):
            return module.Response(
                200, headers={"content-type": "text/event-stream"}, content=STREAM
            )
        return module.Response(200, json=COMPLETION, headers={"x-request-id": "req_1"})


def client_of(kind: str, recorder: Recorder) -> Any:
    if kind == "httpx2":
        return httpx2.AsyncClient(transport=httpx2.MockTransport(recorder))
    return httpx.AsyncClient(transport=httpx.MockTransport(recorder))


async def check_both_client_kinds(
    cls: type[OpenAICompatibleProvider], kind: str, sender: str = "httpx2"
) -> Recorder:
    """`complete` and `stream` through an `httpx2` or an `httpx` client with a MockTransport."""
    recorder = Recorder()
    client = client_of(kind, recorder)
    provider = cls(api_key="test-key", http_client=client, retry=None, sender=sender)  # type: ignore[arg-type]
    response = await provider.complete(QUESTION)
    assert response.text == "Hi!"
    assert response.usage.input_tokens == 5
    assert response.provider == cls.name
    streamed = await provider.stream(QUESTION).collect()
    assert streamed.text == response.text
    assert streamed.usage == response.usage
    assert streamed.finish_reason == response.finish_reason == FinishReason.STOP
    for request in recorder.requests:
        assert request.url.path.endswith("/chat/completions")
        assert request.headers["authorization"] == "Bearer test-key"
        if sender == "httpx2":
            assert request.headers["user-agent"].startswith("llmkit/")
    await provider.aclose()
    assert not client.is_closed, "a caller's client is left open"
    await client.aclose()
    return recorder


def check_sync_twins(cls: type[OpenAICompatibleProvider]) -> None:
    recorder = Recorder()
    provider = cls(api_key="test-key", http_client=client_of("httpx2", recorder), retry=None)
    assert provider.complete_sync(QUESTION).text == "Hi!"
    assert "".join(e.text for e in provider.stream_sync(QUESTION)) == "Hi!"
    assert [m.id for m in provider.list_models_sync()] == ["test-model", "other"]


async def check_list_models(cls: type[OpenAICompatibleProvider]) -> None:
    recorder = Recorder()
    provider = cls(api_key="test-key", http_client=client_of("httpx2", recorder))
    models = await provider.list_models()
    assert models[0].id == "test-model"
    assert models[0].provider == cls.name
    assert models[0].context_window == 131072
    assert models[0].created == 1700000000
    assert models[0].shutdown_date == "2026-12-11"
    assert models[1].context_window is None
    assert recorder.requests[0].method == "GET"


async def check_missing_key(cls: type[OpenAICompatibleProvider], monkeypatch: Any) -> None:
    assert cls.api_key_env is not None
    monkeypatch.delenv(cls.api_key_env, raising=False)
    provider = cls(http_client=client_of("httpx2", Recorder()), retry=None)
    with pytest.raises(errors.ConfigurationError, match=cls.api_key_env):
        await provider.complete(QUESTION)


async def check_missing_sdk(
    cls: type[OpenAICompatibleProvider], sdk: str, monkeypatch: Any
) -> None:
    real: Callable[[str], Any] = _imports.importlib.import_module

    def without_sdk(name: str, package: str | None = None) -> Any:
        if name.split(".")[0] == sdk:
            raise ImportError(f"No module named {sdk!r}")
        return real(name)

    monkeypatch.setattr(_imports.importlib, "import_module", without_sdk)
    with pytest.raises(errors.ConfigurationError, match=rf"llmkit\[{sdk}\]"):
        cls(api_key="test-key", http_client=client_of("httpx2", Recorder()), sender="sdk")
    # the default sender needs no SDK at all
    provider = cls(api_key="test-key", http_client=client_of("httpx2", Recorder()), retry=None)
    assert (await provider.complete(QUESTION)).text == "Hi!"
    assert (await provider.stream(QUESTION).collect()).text == "Hi!"


def check_invalid_sender(cls: type[OpenAICompatibleProvider]) -> None:
    with pytest.raises(errors.ConfigurationError, match="'httpx2', 'aiohttp' or 'sdk'"):
        cls(api_key="test-key", sender="requests")  # type: ignore[arg-type]


def cassette_client() -> httpx.AsyncClient:
    """A plain `httpx` client: vcrpy intercepts `httpx` (not `httpx2`) transports."""
    return httpx.AsyncClient()
