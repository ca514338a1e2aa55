"""GeminiProvider on hand-written cassettes: reply, stream, tool round trip with a signature, thinking, 429."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers import GeminiProvider
from llmkit.types import FinishReason, Message, Request, ToolSpec, Usage

GREETING = [Message.user("Say hi in three words.")]
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def provider() -> GeminiProvider:
    return GeminiProvider(api_key=os.getenv("GEMINI_API_KEY", "test-key"), retry=None)


@pytest.mark.vcr
async def test_plain_reply(vcr: Any) -> None:
    reply = await provider().complete(Request("gemini-2.5-flash", GREETING, max_tokens=100))
    assert reply.text == "Hello there, friend!"
    assert reply.finish_reason is FinishReason.STOP
    assert reply.usage == Usage(7, 23, 18, 0)
    assert reply.model == "gemini-2.5-flash"
    assert vcr.all_played


@pytest.mark.vcr
async def test_streaming(vcr: Any) -> None:
    stream = provider().stream(Request("gemini-2.5-flash", GREETING))
    texts = [event.text async for event in stream]
    assert "".join(texts) == "Hello there, friend!"
    assert stream.response.usage == Usage(7, 5, 0, 0)
    assert stream.response.finish_reason is FinishReason.STOP
    assert vcr.all_played


@pytest.mark.vcr
async def test_tool_call_round_trip(vcr: Any) -> None:
    import httpx2

    sent: list[Any] = []

    async def capture(request: httpx2.Request) -> None:
        sent.append(json.loads(request.content))

    client = httpx2.AsyncClient(event_hooks={"request": [capture]})
    gemini = GeminiProvider(
        api_key=os.getenv("GEMINI_API_KEY", "test-key"), http_client=client, retry=None
    )
    history = [Message.user("What is the weather in Paris?")]
    first = await gemini.complete(
        Request("gemini-3-flash-preview", history, tools=[WEATHER], tool_choice="auto")
    )
    (call,) = first.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert call.id == "gemini-call-cb65722530c687df"
    assert first.finish_reason is FinishReason.TOOL_CALLS
    history += [first.to_message(), Message.tool("18C and sunny", tool_call_id=call.id)]
    # The cassette's second request carries the functionCall part with its thoughtSignature.
    second = await gemini.complete(
        Request("gemini-3-flash-preview", history, tools=[WEATHER], tool_choice="auto")
    )
    assert second.text == "It is 18C and sunny in Paris."
    assert second.provider_data["gemini"]["parts"][0]["thoughtSignature"] == "CiQBH3h3dGV4dHNpZwo="
    assert vcr.all_played
    await client.aclose()


@pytest.mark.vcr
async def test_reasoning(vcr: Any) -> None:
    request = Request(
        "gemini-2.5-pro",
        [Message.user("Is 17 prime?")],
        extra={
            "generationConfig": {
                "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}
            }
        },
    )
    reply = await provider().stream(request).collect()
    assert reply.reasoning == "**Checking primality**\n\n17 has no divisors between 2 and 4."
    assert reply.text == "Yes, 17 is prime."
    assert reply.usage == Usage(6, 61, 54, 0)
    assert vcr.all_played


@pytest.mark.vcr
async def test_rate_limited(vcr: Any) -> None:
    with pytest.raises(errors.RateLimitError) as caught:
        await provider().complete(Request("gemini-2.5-pro", GREETING))
    assert caught.value.retry_after == 46.0
    assert caught.value.retryable
    assert caught.value.status_code == 429
    assert vcr.all_played


@pytest.mark.vcr
async def test_count_tokens(vcr: Any) -> None:
    assert await provider().count_tokens(Request("gemini-2.5-flash", GREETING)) == 7
    assert vcr.all_played


@pytest.mark.vcr
async def test_list_models(vcr: Any) -> None:
    models = await provider().list_models()
    assert [(m.id, m.context_window) for m in models] == [
        ("gemini-2.5-flash", 1048576),
        ("gemini-3-flash-preview", 1048576),
    ]
    assert vcr.all_played


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"GEMINI_API_KEY": "g1"}, "g1"),
        ({"GOOGLE_API_KEY": "g2"}, "g2"),
        ({"GEMINI_API_KEY": "g1", "GOOGLE_API_KEY": "g2"}, "g1"),
    ],
)
def test_key_from_either_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], key: str
) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert GeminiProvider().api_key() == key


def test_missing_key_names_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(errors.ConfigurationError, match=r"GEMINI_API_KEY.*GOOGLE_API_KEY"):
        GeminiProvider().api_key()


async def test_connection_refused_is_a_connection_error() -> None:
    import httpx2

    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused")

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(refuse)) as client:
        gemini = GeminiProvider(api_key="k", http_client=client, retry=None)
        with pytest.raises(errors.APIConnectionError, match="Could not reach Gemini"):
            await gemini.complete(Request("gemini-2.5-flash", GREETING))


@pytest.mark.parametrize("call", ["complete", "count_tokens", "list_models"])
@pytest.mark.parametrize(
    ("content", "shown"),
    [
        pytest.param(b"", "an empty body", id="empty"),
        pytest.param(b'{"candidates": [', '{"candidates": [', id="malformed"),
        pytest.param(
            b"<html><head><title>Error 502 (Server Error)!!1</title></head>" + b"x" * 5000,
            "Error 502 (Server Error)!!1",
            id="html",
        ),
        pytest.param(b'["a", "b"]', '["a", "b"]', id="a-list"),
        pytest.param(b'"text"', '"text"', id="a-string"),
    ],
)
async def test_a_reply_that_is_not_a_json_object_raises_invalid_response(
    content: bytes, shown: str, call: str
) -> None:
    import httpx2

    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=content, headers={"content-type": "text/html"})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(reply)) as client:
        gemini = GeminiProvider(api_key="test-key", http_client=client, retry=None)
        request = Request("gemini-2.5-flash", GREETING)
        calls = {
            "complete": lambda: gemini.complete(request),
            "count_tokens": lambda: gemini.count_tokens(request),
            "list_models": gemini.list_models,
        }
        with pytest.raises(errors.InvalidResponseError) as caught:
            await calls[call]()
    assert caught.value.provider == "gemini"
    assert caught.value.status_code == 200
    assert shown in caught.value.message
    assert "b'" not in caught.value.message
    assert len(caught.value.message) < 400
    assert caught.value.body == content.decode()


async def test_a_stream_without_a_finish_reason_is_a_stream_error_with_the_partial() -> None:
    import httpx2

    cut = b'data: {"candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}}]}\n\n'

    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=cut, headers={"content-type": "text/event-stream"})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(reply)) as client:
        gemini = GeminiProvider(api_key="test-key", http_client=client, retry=None)
        stream = gemini.stream(Request("gemini-2.5-flash", GREETING))
        with pytest.raises(errors.StreamError) as caught:
            [event async for event in stream]
    assert not caught.value.retryable  # text was delivered: replaying it is the caller's call
    assert caught.value.partial is not None and caught.value.partial.text == "Hel"


async def test_requests_carry_the_key_header_and_llmkits_user_agent() -> None:
    import httpx2

    seen: list[httpx2.Request] = []

    def serve(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(
            200,
            json={
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": "ok"}]},
                        "finishReason": "STOP",
                    }
                ]
            },
        )

    gemini = GeminiProvider(
        api_key="secret",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)),
        retry=None,
    )
    assert (await gemini.complete(Request("gemini-3-flash", [Message.user("hi")]))).text == "ok"
    (sent,) = seen
    assert sent.url.path == "/v1beta/models/gemini-3-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == "secret"
    assert sent.headers["user-agent"].startswith("llmkit/")
    assert json.loads(sent.content)["contents"][0]["role"] == "user"


def test_gemini_and_ollama_import_no_vendor_sdk() -> None:
    import subprocess
    import sys

    code = """
import asyncio, json, sys
import httpx2
from llmkit.providers import GeminiProvider, OllamaProvider
from llmkit.types import Message, Request

def serve(request):
    if request.url.path == "/api/chat":
        return httpx2.Response(200, json={"message": {"content": "ok"}, "done": True})
    return httpx2.Response(200, json={"candidates": [
        {"content": {"parts": [{"text": "ok"}]}, "finishReason": "STOP"}]})

async def main():
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(serve))
    for provider in (GeminiProvider(api_key="k", http_client=client, retry=None),
                     OllamaProvider(http_client=client, retry=None)):
        print((await provider.complete(Request("m", [Message.user("hi")]))).text)

asyncio.run(main())
vendor = ("google", "google.genai", "ollama", "httpx", "anthropic", "openai", "cohere")
print(json.dumps(sorted(m for m in vendor if m in sys.modules)))
"""
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.split() == ["ok", "ok", "[]"]
