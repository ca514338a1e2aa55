"""llmkit.instrument(): GenAI spans and metrics, read back with the SDK's in-memory exporter
and reader, over FakeProvider and a real provider on a MockTransport."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

import llmkit
from llmkit import events, otel
from llmkit.clients import DeepSeekClient, GPT4Client
from llmkit.clients._base import ModelClient
from llmkit.errors import ServerError
from llmkit.providers import GroqProvider
from llmkit.retry import RetryPolicy
from llmkit.testing import FakeProvider

SECRET = "plain_SECRET_0123456789"


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def finished(self) -> list[Any]:
        return list(self.spans.get_finished_spans())

    def metrics(self) -> dict[str, Any]:
        data = self.reader.get_metrics_data()
        out: dict[str, Any] = {}
        if data is None:
            return out
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    out[metric.name] = metric
        return out


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    llmkit.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    try:
        yield t
    finally:
        llmkit.uninstrument()


def test_import_llmkit_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, llmkit; assert 'opentelemetry' not in sys.modules; "
        "llmkit.instrument; assert 'opentelemetry' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_nothing_is_wrapped_until_instrument_and_uninstrument_restores() -> None:
    emit, send, send_stream = events.emit, ModelClient._send, ModelClient._send_stream
    assert not otel.is_instrumented()
    llmkit.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
    assert otel.is_instrumented() and events.emit is not emit and ModelClient._send is not send
    llmkit.uninstrument()
    assert (events.emit, ModelClient._send, ModelClient._send_stream) == (emit, send, send_stream)
    llmkit.uninstrument()  # twice is harmless


async def test_one_client_span_per_call_with_genai_attributes(telemetry: Telemetry) -> None:
    client = DeepSeekClient(FakeProvider(name="deepseek"))
    reply = await client.generate("hello", max_tokens=50, temperature=0.3)
    [span] = telemetry.finished()
    assert span.name == "chat deepseek-flash"
    assert span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "deepseek"
    assert attrs["gen_ai.request.model"] == "deepseek-flash"
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.response.id"] == reply.id
    assert attrs["gen_ai.response.model"] == reply.model
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.input_tokens"] == reply.usage.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == reply.usage.output_tokens
    assert "error.type" not in attrs
    assert "gen_ai.input.messages" not in attrs and "gen_ai.output.messages" not in attrs


async def test_metrics_with_bucket_advice(telemetry: Telemetry) -> None:
    client = DeepSeekClient(FakeProvider(name="deepseek"))
    reply = await client.generate("hello")
    metrics = telemetry.metrics()
    assert "gen_ai.client.operation.time_to_first_chunk" not in metrics  # not streamed
    duration = metrics["gen_ai.client.operation.duration"]
    assert duration.unit == "s"
    [point] = duration.data.data_points
    assert point.count == 1
    assert tuple(point.explicit_bounds) == otel.DURATION_BUCKETS
    assert point.attributes["gen_ai.provider.name"] == "deepseek"
    tokens = metrics["gen_ai.client.token.usage"]
    assert tokens.unit == "{token}"
    by_type = {p.attributes["gen_ai.token.type"]: p for p in tokens.data.data_points}
    assert by_type["input"].sum == reply.usage.input_tokens
    assert by_type["output"].sum == reply.usage.output_tokens
    assert tuple(by_type["input"].explicit_bounds) == otel.TOKEN_BUCKETS


async def test_streamed_call_records_time_to_first_chunk(telemetry: Telemetry) -> None:
    client = DeepSeekClient(FakeProvider(name="deepseek"))
    stream = client.stream("hello there")
    text = "".join([event.text async for event in stream])
    assert text
    [span] = telemetry.finished()
    assert span.attributes["gen_ai.usage.output_tokens"] == stream.response.usage.output_tokens
    first = telemetry.metrics()["gen_ai.client.operation.time_to_first_chunk"]
    assert first.unit == "s"
    [point] = first.data.data_points
    assert point.count == 1 and tuple(point.explicit_bounds) == otel.DURATION_BUCKETS


async def test_content_only_when_asked() -> None:
    t = Telemetry()
    llmkit.instrument(
        tracer_provider=t.tracer_provider, meter_provider=t.meter_provider, include_content=True
    )
    try:
        client = DeepSeekClient(FakeProvider(["Paris."], name="deepseek"), system="be brief")
        await client.generate("Capital of France?")
    finally:
        llmkit.uninstrument()
    [span] = t.finished()
    messages = json.loads(span.attributes["gen_ai.input.messages"])
    assert messages == [
        {"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]}
    ]
    assert json.loads(span.attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "be brief"}
    ]
    output = json.loads(span.attributes["gen_ai.output.messages"])
    assert output[0]["parts"] == [{"type": "text", "content": "Paris."}]
    assert output[0]["finish_reason"] == "stop"


async def test_fallback_is_an_event_and_a_link_on_the_span_that_takes_over(
    telemetry: Telemetry,
) -> None:
    primary = FakeProvider(
        name="deepseek", errors={1: ServerError("upstream 503", status_code=503)}
    )
    backup = FakeProvider(name="openrouter")
    client = DeepSeekClient(primary, fallbacks=[backup])
    await client.generate("hello")
    failed, served = telemetry.finished()
    assert failed.attributes["gen_ai.provider.name"] == "deepseek"
    assert failed.attributes["error.type"] == "ServerError"
    assert failed.status.status_code is StatusCode.ERROR
    assert served.attributes["gen_ai.provider.name"] == "openrouter"
    assert served.status.status_code is not StatusCode.ERROR
    [event] = [e for e in served.events if e.name == "llmkit.fallback"]
    assert event.attributes["llmkit.fallback.from_provider"] == "deepseek"
    assert event.attributes["error.type"] == "ServerError"
    assert [link.context.span_id for link in served.links] == [failed.context.span_id]
    durations = telemetry.metrics()["gen_ai.client.operation.duration"].data.data_points
    assert {p.attributes.get("error.type") for p in durations} == {"ServerError", None}


def groq_host(answers: list[httpx2.Response], seen: list[httpx2.Request]) -> httpx2.AsyncClient:
    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


def completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-42",
        "object": "chat.completion",
        "model": "openai/gpt-oss-120b",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "4", "reasoning": "2+2"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 84, "completion_tokens": 41, "total_tokens": 125},
    }


async def test_real_provider_span_has_server_address_retries_and_never_the_key(
    telemetry: Telemetry,
) -> None:
    seen: list[httpx2.Request] = []
    answers = [
        httpx2.Response(
            429,
            json={
                "error": {
                    "message": "Rate limit reached",
                    "type": "tokens",
                    "code": "rate_limit_exceeded",
                }
            },
            headers={"retry-after": "0"},
        ),
        httpx2.Response(200, json=completion()),
    ]
    provider = GroqProvider(
        api_key=SECRET,
        http_client=groq_host(answers, seen),
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
    )
    reply = await GPT4Client(provider).generate("What is 2+2?")
    assert reply.text == "4" and len(seen) == 2
    [span] = telemetry.finished()
    attrs = dict(span.attributes)
    assert attrs["server.address"] == "api.groq.com"
    assert attrs["server.port"] == 443
    assert attrs["gen_ai.provider.name"] == "groq"
    assert attrs["gen_ai.request.model"] == "openai/gpt-oss-120b"
    assert attrs["gen_ai.response.id"] == "chatcmpl-42"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (84, 41)
    [retry] = [e for e in span.events if e.name == "llmkit.retry"]
    assert retry.attributes["llmkit.retry.attempt"] == 1
    assert retry.attributes["error.type"] == "RateLimitError"
    point = telemetry.metrics()["gen_ai.client.operation.duration"].data.data_points[0]
    assert point.attributes["server.address"] == "api.groq.com"
    everything = span.to_json() + telemetry.reader.get_metrics_data().to_json()
    assert SECRET not in everything


async def test_a_failing_call_has_error_type_and_a_redacted_description(
    telemetry: Telemetry,
) -> None:
    seen: list[httpx2.Request] = []
    body = {"error": {"message": f"Invalid API Key {SECRET}", "type": "invalid_request_error"}}
    provider = GroqProvider(
        api_key=SECRET,
        http_client=groq_host([httpx2.Response(401, json=body)], seen),
        retry=None,
    )
    with pytest.raises(llmkit.AuthenticationError):
        await GPT4Client(provider).generate("hi")
    [span] = telemetry.finished()
    assert span.attributes["error.type"] == "AuthenticationError"
    assert span.status.status_code is StatusCode.ERROR
    assert SECRET not in span.to_json()


def test_instrument_without_the_extra_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_otel(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("opentelemetry"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_otel)
    for module in [m for m in sys.modules if m.startswith("opentelemetry")]:
        monkeypatch.delitem(sys.modules, module)
    with pytest.raises(llmkit.ConfigurationError, match=r"llmkit\[otel\]"):
        llmkit.instrument()
    assert not otel.is_instrumented()


async def test_a_stream_closed_early_ends_its_span_as_abandoned(telemetry: Telemetry) -> None:
    import gc

    client = DeepSeekClient(FakeProvider(name="deepseek"))
    stream = client.stream("a prompt long enough for several chunks")
    async for _ in stream:
        break
    await stream.aclose()
    del stream
    gc.collect()
    [span] = telemetry.finished()
    assert span.attributes["error.type"] == "abandoned"
    assert not otel._state.open  # type: ignore[union-attr]


async def test_telemetry_failures_never_break_a_call(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(TracerProvider):
        def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
            class Tracer:
                def start_span(self, *args: Any, **kwargs: Any) -> Any:
                    raise RuntimeError("exporter down")

            return Tracer()

    llmkit.instrument(tracer_provider=Broken(), meter_provider=MeterProvider())
    try:
        reply = await DeepSeekClient(FakeProvider(name="deepseek")).generate("hi")
    finally:
        llmkit.uninstrument()
    assert reply.text
    assert "could not record a request event" in caplog.text


async def test_request_attributes_are_what_the_family_sends(telemetry: Telemetry) -> None:
    from llmkit.clients import QwenClient

    fake = FakeProvider(name="openai-compatible")
    await QwenClient(fake, model="Qwen/Qwen3-32B", thinking=False).generate("hi")
    [span] = telemetry.finished()
    sent = fake.requests[0]
    assert sent.temperature == 0.7  # the model card's, added by the family's rewrite
    assert span.attributes["gen_ai.request.temperature"] == sent.temperature
    assert span.attributes["gen_ai.request.top_p"] == sent.top_p
