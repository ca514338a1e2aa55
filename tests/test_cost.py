"""Cost: cached tokens priced as cached, off-peak hours, long-context tiers, host cost wins, tracker."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from attrs import evolve

from llmkit.catalog import Prices, PriceTier, default_catalog
from llmkit.clients import ClaudeClient, DeepSeekClient
from llmkit.cost import CostTracker, price_response, price_usage, time_of_day_multiplier, worst_case
from llmkit.errors import ConfigurationError
from llmkit.providers._stream import ResponseStream
from llmkit.testing import FakeProvider
from llmkit.types import Cost, Request, Response, StreamEvent, Usage

M = 1_000_000
OPENAI_LIKE = Prices(input=2.0, cached_input=0.5, output=8.0)
ANTHROPIC_LIKE = Prices(input=3.0, cached_input=0.3, cache_write=3.75, output=15.0)
DEEPSEEK = default_catalog().find("deepseek", "deepseek-flash")
assert DEEPSEEK is not None and DEEPSEEK.prices is not None

# 2026-11-23 is a Monday.
PEAK = dt.datetime(2026, 11, 23, 2, 30, tzinfo=dt.UTC)  # 01:00-04:00 UTC window
GAP = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)  # between the two peak windows
EVENING = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)
SATURDAY = dt.datetime(2026, 11, 28, 2, 30, tzinfo=dt.UTC)
BEFORE_RULE = dt.datetime(2026, 8, 1, 20, 0, tzinfo=dt.UTC)


def test_cached_tokens_are_priced_as_cached() -> None:
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=800_000, output_tokens=0)
    cost = price_usage(usage, OPENAI_LIKE)
    assert cost is not None
    assert cost.input == pytest.approx(200_000 * 2.0 / M)
    assert cost.cached_input == pytest.approx(800_000 * 0.5 / M)
    assert cost.total == pytest.approx(0.4 + 0.4)  # not 2.0 (all at the fresh rate)


@pytest.mark.parametrize(
    "usage",
    [
        Usage(input_tokens=1_000, cached_input_tokens=400, output_tokens=10),
        Usage(input_tokens=1_000, cache_write_tokens=400, output_tokens=10),
    ],
)
def test_cached_tokens_without_a_cached_price_are_unknown_not_guessed(usage: Usage) -> None:
    prices = Prices(input=2.0, output=8.0)
    assert price_usage(usage, prices) is None
    tiered = Prices(input=2.0, output=8.0, tiers=(PriceTier(above_input_tokens=10, input=4.0),))
    assert price_usage(usage, tiered) is None


def test_no_cached_tokens_need_no_cached_price() -> None:
    usage = Usage(input_tokens=1_000, cached_input_tokens=0, output_tokens=10)
    cost = price_usage(usage, Prices(input=2.0, output=8.0))
    assert cost is not None and cost.total == pytest.approx((1_000 * 2.0 + 10 * 8.0) / M)


def test_cache_prices_come_from_a_source() -> None:
    catalog = default_catalog()
    haiku = catalog.find("anthropic", "claude-haiku-5-5")
    assert haiku is not None and haiku.prices is not None
    assert (haiku.prices.cached_input, haiku.prices.cache_write) == (0.01, 0.125)
    assert haiku.note is not None and "HOSTS.md" in haiku.note
    local = catalog.find("fake", "claude-haiku-5-5")
    assert local is not None and local.prices is not None and local.prices.cached_input == 0


def test_cache_writes_have_their_own_rate() -> None:
    usage = Usage(
        input_tokens=10_000,
        cached_input_tokens=2_000,
        cache_write_tokens=3_000,
        output_tokens=1_000,
    )
    cost = price_usage(usage, ANTHROPIC_LIKE)
    assert cost is not None
    assert cost.input == pytest.approx(5_000 * 3.0 / M)
    assert cost.cached_input == pytest.approx(2_000 * 0.3 / M)
    assert cost.cache_write == pytest.approx(3_000 * 3.75 / M)
    assert cost.output == pytest.approx(1_000 * 15.0 / M)
    assert cost.total == pytest.approx(
        cost.input + cost.cached_input + cost.cache_write + cost.output
    )
    assert cost.source == "catalog"


@pytest.mark.parametrize(
    ("usage", "prices"),
    [
        (Usage(input_tokens=10, output_tokens=5), None),
        (Usage(input_tokens=None, output_tokens=5), OPENAI_LIKE),
        (Usage(input_tokens=10, output_tokens=None), OPENAI_LIKE),
        (Usage(input_tokens=10, output_tokens=5), Prices(input=1.0)),
        (Usage(input_tokens=10, output_tokens=5), Prices()),
    ],
)
def test_unknown_is_none_never_a_guess(usage: Usage, prices: Prices | None) -> None:
    assert price_usage(usage, prices) is None


@pytest.mark.parametrize(
    ("when", "multiplier"),
    [(PEAK, 1.0), (GAP, 0.5), (EVENING, 0.5), (SATURDAY, 0.5), (BEFORE_RULE, 1.0)],
)
def test_deepseek_peak_and_off_peak(when: dt.datetime, multiplier: float) -> None:
    prices = DEEPSEEK.prices
    assert prices is not None
    assert time_of_day_multiplier(prices.time_of_day, when) == multiplier
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=0, output_tokens=1_000_000)
    cost = price_usage(usage, prices, when=when)
    assert cost is not None
    assert cost.total == pytest.approx((0.30 + 1.20) * multiplier)


def test_peak_window_edges() -> None:
    rule = DEEPSEEK.prices.time_of_day if DEEPSEEK.prices else None
    start = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
    end = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    assert time_of_day_multiplier(rule, start) == 1.0
    assert time_of_day_multiplier(rule, end - dt.timedelta(minutes=1)) == 1.0
    assert time_of_day_multiplier(rule, end) == 0.5


TIERED = Prices(
    input=1.25,
    cached_input=0.125,
    output=10.0,
    tiers=(PriceTier(above_input_tokens=200_000, input=2.5, output=15.0),),
)


def test_long_context_tier_prices_the_whole_request_higher() -> None:
    below = price_usage(Usage(input_tokens=200_000, output_tokens=1_000), TIERED)
    above = price_usage(Usage(input_tokens=200_001, output_tokens=1_000), TIERED)
    assert below is not None and above is not None
    assert below.total == pytest.approx((200_000 * 1.25 + 1_000 * 10.0) / M)
    assert above.total == pytest.approx((200_001 * 2.5 + 1_000 * 15.0) / M)


def test_a_tier_without_a_cached_rate_scales_it_like_input() -> None:
    usage = Usage(input_tokens=300_000, cached_input_tokens=100_000, output_tokens=0)
    cost = price_usage(usage, TIERED)
    assert cost is not None
    assert cost.cached_input == pytest.approx(100_000 * 0.25 / M)


def test_catalog_tiers_for_gpt_and_gemini() -> None:
    catalog = default_catalog()
    gpt = catalog.find("openai", "gpt-5.4")
    gemini = catalog.find("gemini", "gemini-2.5-pro")
    assert gpt is not None and gemini is not None
    big = Usage(input_tokens=300_000, output_tokens=0)
    gpt_cost = price_usage(big, gpt.prices)
    gemini_cost = price_usage(big, gemini.prices)
    assert gpt_cost is not None and gemini_cost is not None
    assert gpt_cost.total == pytest.approx(300_000 * 5.0 / M)
    assert gemini_cost.total == pytest.approx(300_000 * 2.5 / M)


def test_host_reported_cost_wins() -> None:
    host = Cost(total=0.0123, source="host")
    response = Response(text="x", usage=Usage(input_tokens=10, output_tokens=10), cost=host)
    assert price_response(response, OPENAI_LIKE).cost == host
    catalog = price_response(Response(usage=Usage(input_tokens=10, output_tokens=10)), OPENAI_LIKE)
    assert catalog.cost is not None and catalog.cost.source == "catalog"


def test_worst_case_bounds_a_request() -> None:
    assert worst_case(1_000, 500, OPENAI_LIKE) == pytest.approx((1_000 * 2.0 + 500 * 8.0) / M)
    assert worst_case(1_000, 500, ANTHROPIC_LIKE) == pytest.approx((1_000 * 3.75 + 500 * 15) / M)
    assert worst_case(300_000, 0, TIERED) == pytest.approx(300_000 * 2.5 / M)
    assert worst_case(1_000, None, OPENAI_LIKE) is None
    assert worst_case(1_000, 10, None) is None


async def test_clients_price_replies_from_the_catalog() -> None:
    scripted = Response(
        text="hi", usage=Usage(input_tokens=1_000, cached_input_tokens=400, output_tokens=100)
    )
    client = DeepSeekClient(provider=FakeProvider([scripted], name="deepseek"))
    reply = await client.generate("hello")
    assert reply.cost is not None and reply.cost.source == "catalog"
    full = (600 * 0.30 + 400 * 0.006 + 100 * 1.20) / M
    assert reply.cost.total in (pytest.approx(full), pytest.approx(full / 2))


async def test_a_host_cost_in_a_stream_wins() -> None:
    """The host reports the cost on its last event (OpenRouter's usage.cost); the catalog defers."""

    class HostCost(FakeProvider):
        def stream(self, request: Request) -> ResponseStream:
            inner = super().stream(request)

            async def events() -> AsyncIterator[StreamEvent]:
                async for event in inner:
                    if event.usage is not None:
                        event = evolve(event, cost=Cost(total=0.5, source="host"))
                    yield event

            return ResponseStream(events, provider=self.name)

    client = ClaudeClient(provider=HostCost(["hi there"], name="anthropic"))
    stream = client.stream("hello")
    await stream.collect()
    assert stream.response.cost == Cost(total=0.5, source="host")
    catalog_priced = (
        await ClaudeClient(provider=FakeProvider(name="anthropic")).stream("x").collect()
    )
    assert catalog_priced.cost is not None and catalog_priced.cost.source == "catalog"


def _response(provider: str, model: str, total: float | None) -> Response:
    cost = None if total is None else Cost(total=total)
    return Response(
        text="x",
        usage=Usage(input_tokens=1, output_tokens=2, cached_input_tokens=0),
        provider=provider,
        model=model,
        cost=cost,
    )


def test_tracker_totals_by_provider_model_and_client() -> None:
    tracker = CostTracker()
    tracker.record(_response("groq", "m1", 0.1), client="a")
    tracker.record(_response("groq", "m2", 0.2), client="b")
    tracker.record(_response("openrouter", "m1", 0.3), client="a")
    tracker.record(_response("openrouter", "m1", None), client="a")
    assert tracker.total == pytest.approx(0.6)
    assert tracker.unpriced == 1
    assert tracker.totals("provider") == pytest.approx({"groq": 0.3, "openrouter": 0.3})
    assert tracker.totals("model") == pytest.approx({"m1": 0.4, "m2": 0.2})
    assert tracker.totals("client") == pytest.approx({"a": 0.4, "b": 0.2})
    with pytest.raises(ConfigurationError):
        tracker.totals("colour")  # type: ignore[arg-type]


def test_tracker_exports_json_and_csv(tmp_path: Path) -> None:
    tracker = CostTracker()
    tracker.record(_response("groq", "m1", 0.25), client="a")
    tracker.record(_response("groq", "m1", None), client="a")
    document = json.loads(tracker.to_json())
    assert document["total_usd"] == pytest.approx(0.25)
    assert document["by_provider"] == {"groq": 0.25}
    assert len(document["records"]) == 2 and document["records"][0]["time"] > 0
    rows = list(csv.DictReader(io.StringIO(tracker.to_csv())))
    assert [r["cost"] for r in rows] == ["0.25", ""]
    assert rows[0]["provider"] == "groq" and rows[0]["output_tokens"] == "2"
    assert tracker.export(tmp_path / "c.csv").read_text().startswith("time,client,provider")
    assert json.loads(tracker.export(tmp_path / "c.json").read_text())["unpriced"] == 1


def test_tracker_is_thread_safe() -> None:
    tracker = CostTracker()

    def add() -> None:
        for _ in range(500):
            tracker.record(_response("p", "m", 0.001))

    threads = [threading.Thread(target=add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tracker.records) == 4000
    assert tracker.total == pytest.approx(4.0)


async def test_one_tracker_shared_by_clients() -> None:
    tracker = CostTracker()
    deepseek = DeepSeekClient(provider=FakeProvider(name="deepseek"), cost_tracker=tracker)
    claude = ClaudeClient(provider=FakeProvider(name="anthropic"), cost_tracker=tracker)
    await deepseek.generate("one")
    await claude.generate("two")
    assert set(tracker.totals("provider")) == {"deepseek", "anthropic"}
    assert set(tracker.totals("client")) == {"DeepSeekClient", "ClaudeClient"}
    assert tracker.unpriced == 0
