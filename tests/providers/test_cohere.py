"""`CohereProvider` end to end on cassettes (`cassettes/cohere/`) and MockTransports.

Every cassette test runs through both senders: llmkit's own (`httpx2`) and the
`cohere` SDK (bridged onto llmkit's `httpx2` client), so vcrpy's `httpx2` patch
replays the same cassette for both. Each also checks that what was sent equals,
as JSON, the request body the cassette holds.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx2
import pytest

from llmkit import errors
from llmkit.providers import CohereProvider
from llmkit.types import FinishReason, Message, Request, ToolSpec, Usage

KEY = os.getenv("CO_API_KEY", "test-key")
MODEL = "command-a-03-2025"
WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
WEATHER_Q = "What's the weather in Paris?"


class Sent:
    """An `httpx2` client that remembers the JSON bodies it sent."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    async def _record(self, request: httpx2.Request) -> None:
        await request.aread()
        self.bodies.append(json.loads(request.content) if request.content else None)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(event_hooks={"request": [self._record]})


def assert_sent_as_recorded(cassette: Any, sent: Sent) -> None:
    assert cassette.all_played, "the cassette has interactions the test did not use"
    assert sent.bodies == [json.loads(r.body) if r.body else None for r in cassette.requests]


SENDERS = ["httpx2", "sdk"]


@pytest.fixture(params=SENDERS)
def sender(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    """One cassette per test, whichever sender replays it."""
    return str(request.node.originalname)


def provider(sent: Sent, sender: str) -> CohereProvider:
    return CohereProvider(api_key=KEY, http_client=sent.client(), retry=None, sender=sender)


@pytest.mark.vcr
async def test_plain_reply(vcr: Any, sender: str) -> None:
    sent = Sent()
    request = Request(
        MODEL, [Message.user("What is the capital of France? One word.")], temperature=0
    )
    response = await provider(sent, sender).complete(request)
    assert response.text == "Paris."
    assert response.finish_reason is FinishReason.STOP
    assert response.raw_finish_reason == "COMPLETE"
    assert response.usage == Usage(input_tokens=507, output_tokens=4)
    assert response.id == "5a6a3b1e-0c55-4f0e-9b0e-1a2b3c4d5e6f"
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_streaming(vcr: Any, sender: str) -> None:
    sent = Sent()
    stream = provider(sent, sender).stream(
        Request(MODEL, [Message.user("What is the capital of France?")])
    )
    texts = [event.text async for event in stream if event.text]
    assert texts == ["Paris", " is", " the", " capital", "."]
    assert stream.response.text == "Paris is the capital."
    assert stream.response.usage == Usage(input_tokens=503, output_tokens=7)
    assert stream.response.finish_reason is FinishReason.STOP
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_tool_call_round_trip(vcr: Any, sender: str) -> None:
    sent = Sent()
    cohere = provider(sent, sender)
    conversation = [Message.user(WEATHER_Q)]
    first = await cohere.complete(Request(MODEL, conversation, tools=[WEATHER]))
    assert first.finish_reason is FinishReason.TOOL_CALLS
    (call,) = first.tool_calls
    assert (call.id, call.name, call.arguments) == (
        "get_weather_4x7k2m9q1v8n",
        "get_weather",
        {"city": "Paris"},
    )
    assert first.provider_data["cohere"]["tool_plan"] == "I will look up the weather in Paris."
    conversation += [first.to_message(), Message.tool("Sunny, 22C", tool_call_id=call.id)]
    second = await cohere.complete(Request(MODEL, conversation, tools=[WEATHER]))
    assert second.text == "It is sunny and 22C in Paris."
    assert second.finish_reason is FinishReason.STOP
    assert_sent_as_recorded(vcr, sent)  # the tool plan and the result's call id went back


@pytest.mark.vcr
async def test_streamed_tool_call(vcr: Any, sender: str) -> None:
    sent = Sent()
    response = (
        await provider(sent, sender)
        .stream(Request(MODEL, [Message.user(WEATHER_Q)], tools=[WEATHER]))
        .collect()
    )
    (call,) = response.tool_calls
    assert (call.id, call.name, call.arguments) == (
        "get_weather_4x7k2m9q1v8n",
        "get_weather",
        {"city": "Paris"},
    )
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert response.provider_data["cohere"]["tool_plan"] == "I will look up the weather in Paris."
    assert_sent_as_recorded(vcr, sent)


REASONING = Request(
    "command-a-reasoning-08-2025",
    [Message.user("What is 17 * 3?")],
    extra={"thinking": {"type": "enabled", "token_budget": 1024}},
)


@pytest.mark.vcr
async def test_reasoning(vcr: Any, sender: str) -> None:
    sent = Sent()
    response = await provider(sent, sender).stream(REASONING).collect()
    assert (response.reasoning, response.text) == ("17 * 3 = 51.", "17 \u00d7 3 = 51")
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_reasoning_complete(vcr: Any, sender: str) -> None:
    sent = Sent()
    response = await provider(sent, sender).complete(REASONING)
    assert (response.reasoning, response.text) == ("17 * 3 = 51.", "17 \u00d7 3 = 51")
    assert response.usage == Usage(input_tokens=520, output_tokens=45)
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_invalid_key(vcr: Any, sender: str) -> None:
    sent = Sent()
    with pytest.raises(errors.AuthenticationError) as caught:
        await provider(sent, sender).complete(Request(MODEL, [Message.user("hi")]))
    assert "invalid api token" in caught.value.message
    assert "CO_API_KEY" in caught.value.message
    assert KEY not in str(caught.value) or KEY == "test-key"
    assert caught.value.request_id == "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_rate_limited(vcr: Any, sender: str) -> None:
    sent = Sent()
    stream = provider(sent, sender).stream(Request(MODEL, [Message.user("hi")]))
    with pytest.raises(errors.RateLimitError) as caught:
        await stream.collect()
    assert caught.value.retry_after == 7.0
    assert caught.value.status_code == 429
    assert "Trial key" in caught.value.message
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_list_models(vcr: Any, sender: str) -> None:
    models = await provider(Sent(), sender).list_models()
    assert [(m.id, m.context_window) for m in models] == [
        ("command-a-03-2025", 256000),
        ("command-a-reasoning-08-2025", 256000),
        ("command-r7b-12-2024", 128000),
    ]
    assert vcr.all_played


# -- without cassettes --------------------------------------------------------------


def test_key_from_co_api_key_then_cohere_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.setenv("COHERE_API_KEY", "from-cohere-api-key")
    assert CohereProvider().api_key() == "from-cohere-api-key"
    monkeypatch.setenv("CO_API_KEY", "from-co-api-key")
    assert CohereProvider().api_key() == "from-co-api-key"
    assert CohereProvider(api_key="given").api_key() == "given"


async def test_missing_key_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    cohere = CohereProvider(retry=None)
    assert not cohere.has_api_key
    with pytest.raises(errors.ConfigurationError, match="CO_API_KEY"):
        await cohere.complete(Request(MODEL, [Message.user("hi")]))


@pytest.mark.parametrize(
    ("failure", "cls"),
    [
        (httpx2.ConnectError, errors.APIConnectionError),
        (httpx2.ReadTimeout, errors.APITimeoutError),
    ],
)
async def test_transport_failures_become_llmkit_errors(
    failure: type[Exception], cls: type[errors.LLMError], sender: str
) -> None:
    def fail(request: httpx2.Request) -> httpx2.Response:
        raise failure("boom", request=request)  # type: ignore[call-arg]

    cohere = CohereProvider(
        api_key="k",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fail)),
        retry=None,
        sender=sender,
    )
    with pytest.raises(cls):
        await cohere.complete(Request(MODEL, [Message.user("hi")]))
    with pytest.raises(cls):
        await cohere.stream(Request(MODEL, [Message.user("hi")])).collect()


async def test_non_json_reply_is_an_invalid_response(sender: str) -> None:
    def serve(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, text="<html>maintenance</html>")

    cohere = CohereProvider(
        api_key="k",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)),
        retry=None,
        sender=sender,
    )
    with pytest.raises(errors.InvalidResponseError) as caught:
        await cohere.complete(Request(MODEL, [Message.user("hi")]))
    message = caught.value.message
    assert "(<html>maintenance</html>)" in message and "HTTP 200" in message
    assert "'<html>" not in message  # the excerpt, not a Python repr
    assert caught.value.body == "<html>maintenance</html>"
    assert caught.value.model == MODEL


async def test_one_attempt_and_error_headers_observed(
    monkeypatch: pytest.MonkeyPatch, sender: str
) -> None:
    calls: list[str] = []

    def serve(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return httpx2.Response(503, headers={"x-seen": "yes"}, json={"message": "overloaded"})

    cohere = CohereProvider(
        api_key="k",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)),
        retry=None,
        sender=sender,
    )
    seen: list[str] = []
    monkeypatch.setattr(cohere, "_observe_headers", lambda headers: seen.append(headers["x-seen"]))
    with pytest.raises(errors.OverloadedError):
        await cohere.complete(Request(MODEL, [Message.user("hi")]))
    assert calls == ["/v2/chat"]  # one attempt: the SDK (when it sends) did not retry on its own
    assert seen == ["yes"]


async def test_llmkit_sends_itself_by_default_with_cohere_headers() -> None:
    seen: list[httpx2.Request] = []

    def serve(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(
            200,
            json={
                "id": "c1",
                "finish_reason": "COMPLETE",
                "message": {"role": "assistant", "content": [{"type": "text", "text": "hi"}]},
            },
        )

    cohere = CohereProvider(
        api_key="secret-key",
        base_url="https://cohere.example/root",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)),
        retry=None,
    )
    assert cohere.sender == "httpx2"
    reply = await cohere.complete(Request(MODEL, [Message.user("hi")], temperature=0.5))
    assert reply.text == "hi" and reply.id == "c1"
    (request,) = seen
    assert str(request.url) == "https://cohere.example/root/v2/chat"
    assert request.headers["authorization"] == "Bearer secret-key"
    assert request.headers["user-agent"].startswith("llmkit/")
    assert "fern" not in " ".join(request.headers.keys()).lower()  # not the SDK's headers
    body = json.loads(request.content)
    assert body == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.5,
        "stream": False,
    }
    assert "secret-key" not in repr(cohere)


async def test_the_direct_sender_takes_an_httpx_client_too() -> None:
    import httpx

    def serve(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/chat"
        events = [
            {"type": "message-start", "id": "s1"},
            {"type": "content-delta", "delta": {"message": {"content": {"text": "Bon"}}}},
            {"type": "content-delta", "delta": {"message": {"content": {"text": "jour"}}}},
            {"type": "message-end", "delta": {"finish_reason": "COMPLETE"}},
        ]
        body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as client:
        cohere = CohereProvider(api_key="k", http_client=client, retry=None)
        reply = await cohere.stream(Request(MODEL, [Message.user("hi")])).collect()
        await cohere.aclose()
        assert not client.is_closed
    assert reply.text == "Bonjour"
    assert reply.finish_reason is FinishReason.STOP


def test_the_default_sender_imports_no_sdk() -> None:
    import subprocess
    import sys

    code = """
import asyncio, json, sys
import httpx2
from llmkit.providers import CohereProvider
from llmkit.types import Message, Request

def serve(request):
    return httpx2.Response(200, json={"finish_reason": "COMPLETE",
        "message": {"content": [{"type": "text", "text": "ok"}]}})

async def main():
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(serve))
    provider = CohereProvider(api_key="k", http_client=client, retry=None)
    print((await provider.complete(Request("m", [Message.user("hi")]))).text)

asyncio.run(main())
print(json.dumps(sorted(m for m in ("cohere", "httpx") if m in sys.modules)))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert out == ["ok", "[]"]


def test_sdk_sender_needs_the_sdk_and_an_unknown_sender_is_refused() -> None:
    assert CohereProvider(api_key="k", sender="sdk").sender == "sdk"
    with pytest.raises(errors.ConfigurationError, match="sender"):
        CohereProvider(api_key="k", sender="carrier-pigeon")  # type: ignore[arg-type]
