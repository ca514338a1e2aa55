"""OpenTelemetry through a real uvicorn: one SERVER span per request, continuing the caller's
trace, with the gateway's attributes, and the llmkit CLIENT span of its upstream call as child."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("opentelemetry.instrumentation.asgi")
pytest.importorskip("starlette")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind

import llmkit
from tests.server.harness import Gateway, Upstream

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
KEYED = """
providers:
  up: {{type: openai_compatible, base_url: "{url}", api_key: "${{UP_KEY:-up-secret}}", retry: {{max_attempts: 1}}}}
clients:
  coder: {{provider: up, family: deepseek, model: up-model}}
server:
  keys:
    team-a: {{key: "sk-team-a-value"}}
"""


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmkit.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        llmkit.uninstrument()


def _chat(gateway: Gateway, *, stream: bool = False, model: str = "coder") -> httpx.Response:
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream},
        headers={
            "authorization": "Bearer sk-team-a-value",
            "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
            "x-request-id": "req-trace-1",
        },
        timeout=20,
    )


@pytest.mark.parametrize("stream", [False, True], ids=["call", "stream"])
def test_a_request_is_a_server_span_continuing_the_callers_trace_with_its_llmkit_call_inside(
    spans: InMemorySpanExporter, tmp_path: Path, stream: bool
) -> None:
    with Upstream() as up, Gateway(KEYED.format(url=up.url), tmp=tmp_path) as gw:
        assert gw.gateway.traced
        reply = _chat(gw, stream=stream)
        assert reply.status_code == 200, reply.text
    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind == SpanKind.SERVER]
    (client,) = [s for s in finished if s.kind == SpanKind.CLIENT]
    assert f"{server.context.trace_id:032x}" == TRACE_ID
    assert server.parent is not None and f"{server.parent.span_id:016x}" == PARENT_ID
    attributes = dict(server.attributes or {})
    assert attributes["llmkit.gateway.key"] == "team-a"
    assert attributes["llmkit.gateway.request_id"] == "req-trace-1"
    assert attributes["gen_ai.request.model"] == "coder"
    assert attributes["llmkit.gateway.provider"] == "openai-compatible"  # as in the metrics
    assert "sk-team-a-value" not in str(attributes)
    assert client.name == "chat up-model"
    assert client.parent is not None and client.parent.span_id == server.context.span_id


@pytest.mark.parametrize("stream", [False, True], ids=["call", "stream"])
def test_a_provider_route_has_its_client_span_too(
    spans: InMemorySpanExporter, tmp_path: Path, stream: bool
) -> None:
    # `up/up-model` calls the provider without a model client: the gateway announces it
    with Upstream() as up, Gateway(KEYED.format(url=up.url), tmp=tmp_path) as gw:
        reply = _chat(gw, stream=stream, model="up/up-model")
        assert reply.status_code == 200, reply.text
    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind == SpanKind.SERVER]
    (client,) = [s for s in finished if s.kind == SpanKind.CLIENT]
    assert client.name == "chat up-model"
    assert client.parent is not None and client.parent.span_id == server.context.span_id
    attributes = dict(client.attributes or {})
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["gen_ai.usage.input_tokens"] == 11  # the upstream's usage
    assert attributes["gen_ai.usage.output_tokens"] == 7
    assert "error.type" not in attributes


def test_a_failed_provider_route_says_why_on_its_client_span(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    def refuse(body: object) -> tuple[int, dict[str, object], dict[str, str]]:
        return 400, {"error": {"message": "bad request", "type": "invalid_request_error"}}, {}

    with Upstream(refuse) as up, Gateway(KEYED.format(url=up.url), tmp=tmp_path) as gw:
        assert _chat(gw, model="up/up-model").status_code == 400
    finished = spans.get_finished_spans()
    (client,) = [s for s in finished if s.kind == SpanKind.CLIENT]
    assert dict(client.attributes or {})["error.type"] == "InvalidRequestError"


def test_a_refused_request_says_why_on_its_span_and_health_is_not_traced(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    with Upstream() as up, Gateway(KEYED.format(url=up.url), tmp=tmp_path) as gw:
        assert _chat(gw, model="nowhere/none").status_code in (400, 404)
        assert httpx.get(gw.url + "/health/liveness", timeout=10).status_code == 200
    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind == SpanKind.SERVER]
    assert "error.type" in dict(server.attributes or {})
    assert not [s for s in finished if s.kind == SpanKind.CLIENT]  # no upstream call was made


def test_without_instrumentation_there_is_no_middleware(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(KEYED.format(url=up.url), tmp=tmp_path) as gw:
        assert not gw.gateway.traced
        assert _chat(gw).status_code == 200


def test_serve_otel_instruments_every_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmkit import otel
    from llmkit.cli import serve

    monkeypatch.setenv(serve._OTEL_ENV, "1")  # what `llmkit serve --otel --workers N` sets
    monkeypatch.delenv("LLMKIT_CONFIG", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no llmkit.yaml here: llmkit's own names
    try:
        app = serve._worker_app()
        assert otel.is_instrumented()
        assert app.state.gateway.traced
    finally:
        llmkit.uninstrument()
