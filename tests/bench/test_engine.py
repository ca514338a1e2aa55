"""The bench engine on scripted providers and a fake clock: structure, order, errors, stop."""

from __future__ import annotations

import asyncio

import pytest

from llmkit.bench import run
from llmkit.bench._engine import host_timings, next_provider, schedule
from llmkit.bench._results import BenchResult, Sample
from llmkit.errors import ConfigurationError, RateLimitError, ServerError
from llmkit.testing import FakeProvider
from tests.bench._scripted import FakeClock, Scripted, Sleeper, VirtualTimeLoop

PROMPTS = ["p0", "p1", "p2"]


@pytest.mark.parametrize(
    ("providers", "n", "prompts", "expected"),
    [
        (1, 3, 2, [(0, 0), (0, 1), (0, 0)]),
        (2, 2, 5, [(0, 0), (1, 0), (1, 1), (0, 1)]),
        (3, 3, 1, [(0, 0), (1, 0), (2, 0), (1, 0), (2, 0), (0, 0), (2, 0), (0, 0), (1, 0)]),
    ],
)
def test_schedule_is_round_robin_rotated_each_round(
    providers: int, n: int, prompts: int, expected: list[tuple[int, int]]
) -> None:
    assert schedule(providers, n, prompts) == expected


async def test_providers_are_interleaved_request_by_request() -> None:
    clock, log = FakeClock(), []
    a = Scripted("a", clock, log=log)
    b = Scripted("b", clock, log=log)
    result = await run([a, b], PROMPTS, model="m", n=3, warmup=0, clock=clock)
    assert log == [("a", "p0"), ("b", "p0"), ("b", "p1"), ("a", "p1"), ("a", "p2"), ("b", "p2")]
    assert [s.provider for s in result.samples] == ["a", "b", "b", "a", "a", "b"]
    assert [s.index for s in result.samples] == list(range(6))


async def test_each_request_is_timed_on_the_clock() -> None:
    clock = FakeClock()
    result = await run(
        [Scripted("a", clock, ttft=0.5, gap=0.1, tokens=3)],
        PROMPTS,
        model="m",
        n=2,
        warmup=0,
        clock=clock,
    )
    sample = result["a"].samples[0]
    assert sample.ttft == pytest.approx(0.5)
    assert sample.inter_token == pytest.approx((0.1, 0.1))
    assert sample.total == pytest.approx(0.7)
    assert (sample.output_tokens, sample.tokens_source) == (30, "host")
    assert sample.tokens_per_second == pytest.approx(30 / 0.2)
    summary = result["a"]
    assert (summary.count, summary.errors, summary.output_tokens) == (2, 0, 60)
    assert summary.ttft is not None and summary.ttft.p50 == pytest.approx(0.5)


async def test_tokens_are_counted_when_the_host_reports_no_usage() -> None:
    clock = FakeClock()
    result = await run(
        [Scripted("a", clock, tokens=4, usage=False)],
        PROMPTS,
        model="m",
        n=1,
        warmup=0,
        clock=clock,
    )
    sample = result["a"].samples[0]
    assert (sample.output_tokens, sample.tokens_source) == (4, "counted")


async def test_warm_up_requests_are_sent_but_not_counted() -> None:
    clock = FakeClock()
    a, b = Scripted("a", clock), Scripted("b", clock)
    result = await run([a, b], PROMPTS, model="m", n=2, warmup=2, clock=clock)
    assert (a.calls, b.calls) == (4, 4)
    assert (result["a"].count, result["b"].count) == (2, 2)


async def test_errors_are_counted_by_type_and_left_out_of_the_latencies() -> None:
    clock = FakeClock()
    flaky = Scripted("a", clock, fail={0: RateLimitError("slow down"), 2: ServerError("boom")})
    result = await run([flaky], PROMPTS, model="m", n=4, warmup=0, clock=clock)
    summary = result["a"]
    assert (summary.count, summary.errors) == (4, 2)
    assert summary.error_types == {"RateLimitError": 1, "ServerError": 1}
    assert summary.ttft is not None and summary.ttft.count == 2
    failed = summary.samples[0]
    assert not failed.ok and failed.error == "slow down" and failed.ttft is None


async def test_an_unexpected_exception_is_a_failed_request_not_the_end_of_the_run() -> None:
    clock = FakeClock()
    buggy = Scripted("a", clock, fail={1: RuntimeError("a provider bug")})
    result = await run([buggy], PROMPTS, model="m", n=3, warmup=0, clock=clock)
    assert (result["a"].count, result["a"].errors) == (3, 1)
    assert result["a"].error_types == {"RuntimeError": 1}
    assert result["a"].samples[1].error == "a provider bug"


async def test_a_configuration_error_stops_the_run_with_its_fix() -> None:
    clock = FakeClock()
    keyless = Scripted("a", clock, fail={0: ConfigurationError("No API key for a: set A_KEY")})
    with pytest.raises(ConfigurationError, match="set A_KEY"):
        await run([keyless], PROMPTS, model="m", n=3, warmup=1, clock=clock)


async def test_retries_are_seen_as_extra_responses_and_headers_are_kept() -> None:
    clock = FakeClock()
    responses = [
        {"retry-after": "1", "set-cookie": "secret"},
        {"x-request-id": "r1", "Authorization": "Bearer sk-nope"},
    ]
    provider = Scripted("a", clock, responses=responses)
    result = await run([provider], PROMPTS, model="m", n=2, warmup=0, clock=clock)
    sample = result["a"].samples[0]
    assert sample.retries == 1
    assert sample.headers == ({"retry-after": "1"}, {"x-request-id": "r1"})
    assert result["a"].retries == 2
    assert "_observe_headers" not in vars(provider)  # the engine's watch is removed afterwards


async def test_concurrency_is_capped_per_provider() -> None:
    clock = FakeClock()
    a = Scripted("a", clock, real_delay=0.01)
    b = Scripted("b", clock, real_delay=0.01)
    await run([a, b], PROMPTS, model="m", n=6, concurrency=2, warmup=0, clock=clock)
    assert a.max_in_flight == 2 and b.max_in_flight == 2


async def test_cancelling_the_run_returns_what_was_measured() -> None:
    clock = FakeClock()
    provider = Scripted("a", clock, hang=[2])
    two_done = asyncio.Event()
    seen: list[Sample] = []

    def on_sample(sample: Sample) -> None:
        seen.append(sample)
        if len(seen) == 2:
            two_done.set()

    task = asyncio.create_task(
        run([provider], PROMPTS, model="m", n=5, warmup=0, on_sample=on_sample, clock=clock)
    )
    await two_done.wait()
    await asyncio.sleep(0)
    task.cancel()
    result = await task
    assert isinstance(result, BenchResult)
    assert result.interrupted
    assert result["a"].count == 2 and not task.cancelled()


async def test_setting_stop_ends_the_run_after_the_requests_in_flight() -> None:
    clock = FakeClock()
    stop = asyncio.Event()
    result = await run(
        [Scripted("a", clock)], PROMPTS, model="m", n=5, warmup=0, stop=stop,
        on_sample=lambda s: stop.set(), clock=clock,
    )  # fmt: skip
    assert result.interrupted and result["a"].count == 1


async def test_runs_on_llmkit_fake_provider() -> None:
    fake = FakeProvider(token_delay=0.0)
    result = await run({"fake": fake}, "short", model="demo-model", n=2, warmup=1)
    summary = result["fake"]
    assert (summary.count, summary.errors) == (2, 0)
    assert summary.samples[0].tokens_source == "host"
    assert result.prompts == "short"


def test_host_timings_from_groq_chunks_and_provider_data() -> None:
    raw = [
        {"choices": []},
        {"x_groq": {"usage": {"queue_time": 0.05, "prompt_time": 0.01, "completion_time": 1.5,
                              "total_time": 1.56, "prompt_tokens": 9}}},
    ]  # fmt: skip
    data = {"ollama": {"timings": {"eval_duration": 1.2, "note": "x"}}}
    assert host_timings(data, raw) == {
        "queue_time": 0.05,
        "prompt_time": 0.01,
        "completion_time": 1.5,
        "total_time": 1.56,
        "eval_duration": 1.2,
    }
    assert host_timings({}, [None, "text"]) == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"providers": []}, "at least one provider"),
        ({"model": None}, "No model for a"),
        ({"n": 0}, "at least 1"),
        ({"prompts": []}, "prompt set is empty"),
    ],
)
async def test_bad_settings_are_configuration_errors(
    kwargs: dict[str, object], message: str
) -> None:
    clock = FakeClock()
    settings: dict[str, object] = {
        "providers": [Scripted("a", clock)],
        "prompts": PROMPTS,
        "model": "m",
    }
    settings.update(kwargs)
    with pytest.raises(ConfigurationError, match=message):
        await run(**settings)  # type: ignore[arg-type]


async def test_two_providers_with_one_name_need_labels() -> None:
    clock = FakeClock()
    with pytest.raises(ConfigurationError, match="share a name"):
        await run([Scripted("a", clock), Scripted("a", clock)], PROMPTS, model="m")
    result = await run(
        {"x": Scripted("a", clock), "y": Scripted("a", clock)},
        PROMPTS,
        model="m",
        n=1,
        warmup=0,
        clock=clock,
    )
    assert [p.provider for p in result.providers] == ["x", "y"]


def test_each_provider_keeps_its_own_requests_in_flight_beside_a_slow_one() -> None:
    """A slow host with its slots full must not hold back a fast one (virtual time)."""
    starts: list[tuple[str, float, int]] = []
    fast = Sleeper("fast", starts, ttft=0.05, gap=0.025)  # 0.1 s a request
    slow = Sleeper("slow", starts, ttft=5.0, gap=2.5)  # 10 s a request
    loop = VirtualTimeLoop()
    try:
        result = loop.run_until_complete(
            run([fast, slow], PROMPTS, model="m", n=20, concurrency=4, warmup=0, clock=loop.time)
        )
    finally:
        loop.close()
    assert fast.max_in_flight == 4 and slow.max_in_flight == 4
    # Starts interleave in schedule order while both have free slots ...
    order = [("fast", "slow")[who] for who, _ in schedule(2, 20, len(PROMPTS))]
    assert [name for name, _, _ in starts[:8]] == order[:8]
    # ... and the fast host runs 4 at a time until done: 5 rounds of 0.1 s, not 10 s each.
    fast_starts = [(at, busy) for name, at, busy in starts if name == "fast"]
    assert [busy for _, busy in fast_starts] == [1, 2, 3, 4] * 5
    assert max(s.started + (s.total or 0) for s in result["fast"].samples) == pytest.approx(0.5)
    assert result.duration == pytest.approx(50.0)
    assert [s.index for s in result["fast"].samples] == sorted(
        s.index for s in result["fast"].samples
    )


def test_next_provider_is_the_earliest_scheduled_one_with_a_free_slot() -> None:
    assert next_provider([0, 1, 2], [0, 0, 0], 1) == 0
    assert next_provider([0, 1, 2], [1, 0, 0], 1) == 1
    assert next_provider([5, None, 3], [1, 0, 1], 2) == 2
    assert next_provider([0, None], [2, 0], 2) is None


async def test_a_client_class_runs_one_model_on_every_host() -> None:
    from llmkit.clients import DeepSeekClient

    hosts = {name: FakeProvider(name=name) for name in ("deepseek", "openrouter")}
    result = await run(hosts, ["hi"], client=DeepSeekClient, n=1, warmup=0)
    assert result.models == {
        "deepseek": "deepseek-v4-pro",
        "openrouter": "deepseek/deepseek-v4-pro",
    }
    assert [r.model for r in hosts["deepseek"].requests] == ["deepseek-v4-pro"]
    assert all(s.model for s in result.samples)
