"""Cache hits, misses and bytes reach the OpenTelemetry metrics once `llmkit.instrument()` is on."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

import llmkit
from llmkit.cache import MemoryCache
from llmkit.clients import DeepSeekClient
from llmkit.testing import FakeProvider
from tests.test_otel import Telemetry


async def test_lookups_and_bytes_are_counted() -> None:
    telemetry = Telemetry()
    llmkit.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        client = DeepSeekClient(provider=FakeProvider(name="deepseek"), cache=MemoryCache())
        for _ in range(3):
            await client.generate("hi")
    finally:
        llmkit.uninstrument()
    metrics = telemetry.metrics()
    lookups = {
        p.attributes["llmkit.cache.result"]: p.value
        for p in metrics["llmkit.cache.lookups"].data.data_points
    }
    assert lookups == {"miss": 1, "hit": 2}
    sizes = {
        p.attributes["llmkit.cache.result"]: p.value
        for p in metrics["llmkit.cache.bytes"].data.data_points
    }
    assert sizes["hit"] == 2 * sizes["store"] > 0
