"""`OllamaProvider` end to end on cassettes (`cassettes/ollama/`) and MockTransports.

Each cassette test also checks that what llmkit sent equals, as JSON, the request
body the cassette holds, so the cassettes document llmkit's real requests.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from llmkit import errors
from llmkit.providers import OllamaProvider
from llmkit.providers.ollama import parse_host
from llmkit.types import FinishReason, Message, Request, ToolSpec, Usage

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
WEATHER_Q = "What's the weather in Paris?"


@pytest.fixture(autouse=True)
def _local_ollama(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)


class Sent:
    """A pooled-looking `httpx2` client that remembers the JSON bodies it sent."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    async def _record(self, request: httpx2.Request) -> None:
        self.bodies.append(json.loads(request.content) if request.content else None)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(event_hooks={"request": [self._record]})


def assert_sent_as_recorded(cassette: Any, sent: Sent) -> None:
    assert cassette.all_played, "the cassette has interactions the test did not use"
    recorded = [json.loads(r.body) if r.body else None for r in cassette.requests]
    assert sent.bodies == recorded


def provider(sent: Sent, **kwargs: Any) -> OllamaProvider:
    return OllamaProvider(http_client=sent.client(), retry=None, **kwargs)


@pytest.mark.vcr
async def test_plain_reply(vcr: Any) -> None:
    sent = Sent()
    request = Request(
        "llama3.2", [Message.user("What is the capital of France? One word.")], temperature=0
    )
    response = await provider(sent).complete(request)
    assert response.text == "Paris."
    assert response.finish_reason is FinishReason.STOP
    assert response.usage == Usage(input_tokens=31, output_tokens=9)
    assert response.model == "llama3.2"
    assert response.provider_data["ollama"]["timings"]["total_duration"] == pytest.approx(1.843)
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_streaming(vcr: Any) -> None:
    sent = Sent()
    stream = provider(sent).stream(
        Request("llama3.2", [Message.user("What is the capital of France?")])
    )
    texts = [event.text async for event in stream if event.text]
    assert texts == ["Paris", " is", " the", " capital", "."]
    assert stream.response.text == "Paris is the capital."
    assert stream.response.usage == Usage(input_tokens=31, output_tokens=6)
    assert stream.response.finish_reason is FinishReason.STOP
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_tool_call_round_trip(vcr: Any) -> None:
    sent = Sent()
    ollama = provider(sent)
    conversation = [Message.user(WEATHER_Q)]
    first = await ollama.complete(Request("llama3.2", conversation, tools=[WEATHER]))
    assert first.finish_reason is FinishReason.TOOL_CALLS
    (call,) = first.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert call.id  # minted: Ollama gives none
    conversation += [first.to_message(), Message.tool("Sunny, 22C", tool_call_id=call.id)]
    second = await ollama.complete(Request("llama3.2", conversation, tools=[WEATHER]))
    assert second.text == "It is sunny and 22°C in Paris."
    assert second.finish_reason is FinishReason.STOP
    # the tool result went back naming the function its (minted) id pointed at
    assert sent.bodies[1]["messages"][-1] == {
        "role": "tool",
        "content": "Sunny, 22C",
        "tool_name": "get_weather",
    }
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_streamed_tool_call(vcr: Any) -> None:
    sent = Sent()
    request = Request("llama3.2", [Message.user(WEATHER_Q)], tools=[WEATHER])
    response = await provider(sent).stream(request).collect()
    (call,) = response.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert_sent_as_recorded(vcr, sent)


REASONING = Request("qwen3:8b", [Message.user("What is 17 * 3?")], extra={"think": True})


@pytest.mark.vcr
async def test_reasoning(vcr: Any) -> None:
    sent = Sent()
    response = await provider(sent).stream(REASONING).collect()
    assert response.reasoning == "17 * 3 = 51."
    assert response.text == "17 \u00d7 3 = **51**"
    assert response.usage == Usage(input_tokens=16, output_tokens=40)
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_reasoning_complete(vcr: Any) -> None:
    sent = Sent()
    response = await provider(sent).complete(REASONING)
    assert (response.reasoning, response.text) == ("17 * 3 = 51.", "17 \u00d7 3 = **51**")
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_model_not_found(vcr: Any) -> None:
    sent = Sent()
    with pytest.raises(errors.ModelNotFoundError) as caught:
        await provider(sent).complete(Request("llama9", [Message.user("hi")]))
    assert "ollama pull llama9" in caught.value.message
    assert caught.value.status_code == 404
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_model_not_found_streaming(vcr: Any) -> None:
    sent = Sent()
    stream = provider(sent).stream(Request("llama9", [Message.user("hi")]))
    with pytest.raises(errors.ModelNotFoundError, match="ollama pull llama9"):
        await stream.collect()
    assert_sent_as_recorded(vcr, sent)


@pytest.mark.vcr
async def test_list_models(vcr: Any) -> None:
    models = await provider(Sent()).list_models()
    assert [m.id for m in models] == ["llama3.2:latest", "qwen3:8b"]
    assert all(m.provider == "ollama" for m in models)
    assert models[1].created == 1_793_556_000  # 2026-11-01T18:00:00Z
    assert vcr.all_played


# -- without cassettes --------------------------------------------------------------


def refusing(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)


@pytest.mark.parametrize("streaming", [False, True])
async def test_nothing_listening_says_how_to_start_ollama(streaming: bool) -> None:
    ollama = OllamaProvider(
        base_url="http://127.0.0.1:11434",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(refusing)),
        retry=None,
    )
    request = Request("llama3.2", [Message.user("hi")])
    with pytest.raises(errors.APIConnectionError) as caught:
        if streaming:
            await ollama.stream(request).collect()
        else:
            await ollama.complete(request)
    assert "ollama serve" in caught.value.message
    assert "http://127.0.0.1:11434" in caught.value.message
    assert caught.value.retryable


async def test_list_models_when_nothing_listens() -> None:
    ollama = OllamaProvider(
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(refusing)), retry=None
    )
    with pytest.raises(errors.APIConnectionError, match="ollama serve"):
        await ollama.list_models()


def test_ollama_host_sets_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:11500")
    assert OllamaProvider().base_url == "http://gpu-box:11500"
    assert OllamaProvider(base_url="http://other:1").base_url == "http://other:1"


def test_default_base_url_needs_no_key() -> None:
    ollama = OllamaProvider()
    assert ollama.base_url == "http://localhost:11434"
    assert not ollama.has_api_key


@pytest.mark.parametrize(
    ("value", "url"),
    [
        (None, "http://localhost:11434"),
        ("", "http://localhost:11434"),
        ("0.0.0.0", "http://0.0.0.0:11434"),
        ("localhost:8080", "http://localhost:8080"),
        ("http://gpu-box", "http://gpu-box"),
        ("https://ollama.example.com/", "https://ollama.example.com"),
        ("[::1]:9999", "http://[::1]:9999"),
        ("::1", "http://[::1]:11434"),
    ],
)
def test_parse_host(value: str | None, url: str) -> None:
    assert parse_host(value) == url


@pytest.mark.parametrize("status", [200, 404])
async def test_every_response_is_observed(status: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def serve(request: httpx2.Request) -> httpx2.Response:
        if status != 200:
            return httpx2.Response(status, headers={"x-seen": "yes"}, json={"error": "nope"})
        body = {"model": "m", "message": {"content": "hi"}, "done": True, "done_reason": "stop"}
        return httpx2.Response(200, headers={"x-seen": "yes"}, json=body)

    seen: list[str | None] = []
    ollama = OllamaProvider(
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)), retry=None
    )
    monkeypatch.setattr(ollama, "_observe_headers", lambda headers: seen.append(headers["x-seen"]))
    for run in (ollama.complete, lambda r: ollama.stream(r).collect()):
        try:
            await run(Request("m", [Message.user("hi")]))
        except errors.LLMError:
            assert status != 200
    assert seen == ["yes", "yes"]


async def test_api_key_is_sent_as_bearer_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []

    def serve(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers.get("authorization"))
        return httpx2.Response(200, json={"models": []})

    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-secret")
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(serve))
    await OllamaProvider(http_client=client).list_models()
    monkeypatch.delenv("OLLAMA_API_KEY")
    await OllamaProvider(http_client=client).list_models()
    assert seen == ["Bearer ollama-secret", None]


async def test_an_httpx_client_works_too() -> None:
    import httpx

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"message": {"content": "ok"}, "done": True})

    ollama = OllamaProvider(http_client=httpx.AsyncClient(transport=httpx.MockTransport(serve)))
    assert (await ollama.complete(Request("m", [Message.user("hi")]))).text == "ok"


PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>" + b"x" * 5000 + b"</body></html>"


@pytest.mark.parametrize("listing", [False, True])
async def test_a_reply_that_is_not_json_names_the_page_not_a_repr(listing: bool) -> None:
    def serve(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=PAGE)

    ollama = OllamaProvider(
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)), retry=None
    )
    with pytest.raises(errors.InvalidResponseError) as caught:
        if listing:
            await ollama.list_models()
        else:
            await ollama.complete(Request("llama3.2", [Message.user("hi")]))
    message = caught.value.message
    assert "(502 Bad Gateway)" in message and "HTTP 200" in message
    assert "b'" not in message and "<html>" not in message
    assert caught.value.body == PAGE.decode()
    assert caught.value.model == (None if listing else "llama3.2")


async def test_a_server_error_line_ends_the_stream_with_its_text_and_the_partial() -> None:
    lines = [
        {"model": "qwen3", "message": {"content": "Hel"}, "done": False},
        {"error": "model runner has unexpectedly stopped"},
    ]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    seen: list[httpx2.Request] = []

    def serve(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, content=body)

    ollama = OllamaProvider(
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)), retry=None
    )
    with pytest.raises(errors.StreamError, match="unexpectedly stopped") as caught:
        await ollama.stream(Request("qwen3", [Message.user("hi")])).collect()
    assert caught.value.partial is not None and caught.value.partial.text == "Hel"
    assert seen[0].headers["user-agent"].startswith("llmkit/")
    assert json.loads(seen[0].content)["stream"] is True
