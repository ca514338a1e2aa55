"""`CohereProvider` end to end on cassettes (`cassettes/cohere/`) and MockTransports.

The `cohere` SDK sends through llmkit's `httpx2` client (bridged), so vcrpy's
`httpx2` patch replays the cassettes. Each cassette test also checks that what
was sent equals, as JSON, the request body the cassette holds.
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


def provider(sent: Sent) -> CohereProvider:
    return CohereProvider(api_key=KEY, http_client=sent.client(), retry=None)


@pytest.mark.vcr
async def test_plain_reply(vcr: Any) -> None:
    sent = Sent()
    request = Request(
        MODEL, [Message.user("What is the capital of France? One word.")], temperature=0
    )
    response = await provider(sent).complete(request)
    assert response.text == "Paris."
    assert response.finish_reason is FinishReason.STOP
    assert response.raw_finish_reason == "COMPLETE"
    assert response.usage == Usage(input_tokens=507, output_tokens=4)
    assert response.id == "5a6a3b1e-0c55-4f0e-9b0e-1a2b3c4d5e6f"
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_streaming(vcr: Any) -> None:
    sent = Sent()
    stream = provider(sent).stream(Request(MODEL, [Message.user("What is the capital of France?")]))
    texts = [event.text async for event in stream if event.text]
    assert texts == ["Paris", " is", " the", " capital", "."]
    assert stream.response.text == "Paris is the capital."
    assert stream.response.usage == Usage(input_tokens=503, output_tokens=7)
    assert stream.response.finish_reason is FinishReason.STOP
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_tool_call_round_trip(vcr: Any) -> None:
    sent = Sent()
    cohere = provider(sent)
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
async def test_streamed_tool_call(vcr: Any) -> None:
    sent = Sent()
    response = (
        await provider(sent)
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
async def test_reasoning(vcr: Any) -> None:
    sent = Sent()
    response = await provider(sent).stream(REASONING).collect()
    assert (response.reasoning, response.text) == ("17 * 3 = 51.", "17 \u00d7 3 = 51")
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_reasoning_complete(vcr: Any) -> None:
    sent = Sent()
    response = await provider(sent).complete(REASONING)
    assert (response.reasoning, response.text) == ("17 * 3 = 51.", "17 \u00d7 3 = 51")
    assert response.usage == Usage(input_tokens=520, output_tokens=45)
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_invalid_key(vcr: Any) -> None:
    sent = Sent()
    with pytest.raises(errors.AuthenticationError) as caught:
        await provider(sent).complete(Request(MODEL, [Message.user("hi")]))
    assert "invalid api token" in caught.value.message
    assert "CO_API_KEY" in caught.value.message
    assert KEY not in str(caught.value) or KEY == "test-key"
    assert caught.value.request_id == "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_rate_limited(vcr: Any) -> None:
    sent = Sent()
    stream = provider(sent).stream(Request(MODEL, [Message.user("hi")]))
    with pytest.raises(errors.RateLimitError) as caught:
        await stream.collect()
    assert caught.value.retry_after == 7.0
    assert caught.value.status_code == 429
    assert "Trial key" in caught.value.message
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_list_models(vcr: Any) -> None:
    models = await provider(Sent()).list_models()
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
    failure: type[Exception], cls: type[errors.LLMError]
) -> None:
    def fail(request: httpx2.Request) -> httpx2.Response:
        raise failure("boom", request=request)  # type: ignore[call-arg]

    cohere = CohereProvider(
        api_key="k",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fail)),
        retry=None,
    )
    with pytest.raises(cls):
        await cohere.complete(Request(MODEL, [Message.user("hi")]))
    with pytest.raises(cls):
        await cohere.stream(Request(MODEL, [Message.user("hi")])).collect()


async def test_non_json_reply_is_an_invalid_response() -> None:
    def serve(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, text="<html>maintenance</html>")

    cohere = CohereProvider(
        api_key="k",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)),
        retry=None,
    )
    with pytest.raises(errors.InvalidResponseError) as caught:
        await cohere.complete(Request(MODEL, [Message.user("hi")]))
    message = caught.value.message
    assert "(<html>maintenance</html>)" in message and "HTTP 200" in message
    assert "'<html>" not in message  # the excerpt, not a Python repr
    assert caught.value.body == "<html>maintenance</html>"
    assert caught.value.model == MODEL


async def test_sdk_retries_are_off_and_headers_observed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def serve(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return httpx2.Response(503, headers={"x-seen": "yes"}, json={"message": "overloaded"})

    cohere = CohereProvider(
        api_key="k",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)),
        retry=None,
    )
    seen: list[str] = []
    monkeypatch.setattr(cohere, "_observe_headers", lambda headers: seen.append(headers["x-seen"]))
    with pytest.raises(errors.OverloadedError):
        await cohere.complete(Request(MODEL, [Message.user("hi")]))
    assert calls == ["/v2/chat"]  # one attempt: the SDK did not retry on its own
    assert seen == ["yes"]
