"""Rate limits: pure arithmetic, header parsing, and hundreds of callers on a fake clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import anyio
import anyio.lowlevel
import pytest

from llmkit.errors import ConfigurationError
from llmkit.ratelimit import RateLimit, estimate_tokens
from llmkit.ratelimit.buckets import LimiterState, Window
from llmkit.ratelimit.headers import QuotaSnapshot, parse_duration, parse_rate_limit_headers
from llmkit.types import Message, Request, Usage


class FakeClock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


def limited(clock: FakeClock, **kwargs: object) -> RateLimit:
    return RateLimit(clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def max_in_any_window(events: list[tuple[float, float]], period: float = 60.0) -> float:
    """The largest total of `(time, amount)` events inside any half-open window of `period`."""
    events = sorted(events)
    best = 0.0
    for i, (start, _) in enumerate(events):
        total = sum(a for t, a in events[i:] if t < start + period)
        best = max(best, total)
    return best


# -- pure arithmetic ----------------------------------------------------------


def test_window_waits_until_the_oldest_entry_leaves() -> None:
    window = Window(3, period=60)
    for t in (0, 10, 20):
        assert window.wait(1, t) == 0
        window.take(f"k{t}", 1, t)
    assert window.wait(1, 30) == 30  # the entry at 0 leaves at 60
    assert window.wait(2, 30) == 40  # needs the one at 10 gone too
    assert window.wait(1, 60) == 0


def test_window_settle_frees_capacity_early() -> None:
    window = Window(1000)
    window.take("a", 900, 0)
    assert window.wait(500, 1) > 0
    window.settle("a", 100)  # the reply used far fewer tokens than reserved
    assert window.wait(500, 1) == 0


def test_window_caps_a_request_bigger_than_the_limit() -> None:
    window = Window(100)
    window.take("a", 10, 0)
    assert window.wait(5000, 1) == 59  # waits for an empty window, not forever
    assert window.wait(5000, 60) == 0


@pytest.mark.parametrize("seed", range(20))
def test_window_never_exceeds_its_limit_under_random_operations(seed: int) -> None:
    rng = random.Random(seed)
    window = Window(50, period=10)
    now = 0.0
    taken: list[tuple[float, float]] = []
    for i in range(300):
        now += rng.choice([0, 0, 0.1, 0.5, 1, 3])
        amount = rng.choice([1, 2, 5, 20, 80])
        if window.wait(amount, now) == 0:
            window.take(str(i), amount, now)
            taken.append((now, min(amount, 50)))
    assert taken
    assert max_in_any_window(taken, period=10) <= 50


def test_state_combines_pause_quota_window_and_concurrency() -> None:
    state = LimiterState(requests_per_minute=10, max_concurrency=1)
    assert state.wait({"requests": 1}, 0) == 0
    state.take("a", {"requests": 1}, 0)
    assert state.wait({"requests": 1}, 0) == float("inf")  # concurrency full
    state.release("a")
    state.pause(5, 0)
    assert state.wait({"requests": 1}, 1) == 4
    state.observe([QuotaSnapshot("requests", 0, 30)], 1)
    assert state.wait({"requests": 1}, 6) == 25  # the host says none left until 31
    assert state.wait({"requests": 1}, 31) == 0


# -- headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("2m59.56s", 179.56),
        ("7.66s", 7.66),
        ("12ms", 0.012),
        ("1h2m3s", 3723.0),
        ("0s", 0.0),
        ("1.5", 1.5),
        ("", None),
        ("soon", None),
        ("5 minutes", None),
        ("-3s", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    result = parse_duration(text)
    assert result == (None if seconds is None else pytest.approx(seconds))


def test_openai_style_headers() -> None:
    headers = {
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-limit-tokens": "2000000",
        "x-ratelimit-remaining-tokens": "1999990",
        "x-ratelimit-reset-tokens": "0s",
    }
    snaps = parse_rate_limit_headers(headers, now=0, provider="openai")
    assert snaps == (
        QuotaSnapshot("requests", 9999, pytest.approx(0.006), 10000),  # type: ignore[arg-type]
        QuotaSnapshot("tokens", 1999990, 0.0, 2000000),
    )


def test_groq_request_limit_is_per_day() -> None:
    headers = {
        "x-ratelimit-limit-requests": "14400",
        "x-ratelimit-remaining-requests": "14370",
        "x-ratelimit-reset-requests": "2m59.56s",
        "x-ratelimit-limit-tokens": "18000",
        "x-ratelimit-remaining-tokens": "17997",
        "x-ratelimit-reset-tokens": "7.66s",
    }
    requests, tokens = parse_rate_limit_headers(headers, now=0, provider="groq")
    assert requests.window == 86400
    assert requests.reset_after == pytest.approx(179.56)
    assert tokens.window is None
    assert tokens.reset_after == pytest.approx(7.66)


def test_anthropic_headers_with_rfc3339_resets() -> None:
    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-11-22T12:00:01Z",
        "anthropic-ratelimit-input-tokens-remaining": "30000",
        "anthropic-ratelimit-input-tokens-reset": "2026-11-22T12:00:30+00:00",
        "anthropic-ratelimit-output-tokens-remaining": "8000",
        "anthropic-ratelimit-output-tokens-reset": "not a time",
    }
    snaps = {s.dimension: s for s in parse_rate_limit_headers(headers, now=now.timestamp())}
    assert snaps["requests"].reset_after == 1.0
    assert snaps["requests"].limit == 50
    assert snaps["input_tokens"].reset_after == 30.0
    assert snaps["output_tokens"].reset_after is None
    assert "tokens" not in snaps


def test_no_or_garbage_headers_give_nothing() -> None:
    assert parse_rate_limit_headers({}, now=0) == ()
    assert parse_rate_limit_headers({"x-ratelimit-remaining-requests": "lots"}, now=0) == ()


# -- the async driver on a fake clock -----------------------------------------


async def test_hundreds_of_callers_never_exceed_the_limits_and_go_in_order() -> None:
    clock = FakeClock()
    limit = limited(clock, requests_per_minute=40, tokens_per_minute=3000, max_concurrency=7)
    rng = random.Random(7)
    admitted: list[int] = []
    requests: list[tuple[float, float]] = []
    tokens: list[tuple[float, float]] = []
    in_flight = 0
    most_in_flight = 0

    async def caller(i: int, estimate: int) -> None:
        nonlocal in_flight, most_in_flight
        lease = await limit.acquire_amounts({"requests": 1, "tokens": estimate})
        admitted.append(i)
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await clock.sleep(rng.choice([0, 0.5, 2, 5]))
        used = rng.randint(1, estimate)  # the reply used no more than reserved
        in_flight -= 1
        requests.append((lease.acquired_at, 1))
        tokens.append((lease.acquired_at, used))
        await limit.release(lease, Usage(input_tokens=used, output_tokens=0))

    async with anyio.create_task_group() as tg:
        for i in range(300):
            tg.start_soon(caller, i, rng.choice([10, 50, 200, 900]))

    assert admitted == list(range(300))  # first come, first served; nobody starved
    assert max_in_any_window(requests) <= 40
    assert max_in_any_window(tokens) <= 3000
    assert most_in_flight <= 7
    assert clock.now > 300 / 40 * 60 * 0.9  # it really was paced


async def test_a_big_request_is_not_overtaken_by_small_ones() -> None:
    clock = FakeClock()
    limit = limited(clock, tokens_per_minute=1000)
    order: list[str] = []
    first = await limit.acquire_amounts({"tokens": 900})

    async def caller(name: str, amount: int) -> None:
        await limit.acquire_amounts({"tokens": amount})
        order.append(name)

    async with anyio.create_task_group() as tg:
        tg.start_soon(caller, "big", 1000)
        await anyio.lowlevel.checkpoint()
        for i in range(20):
            tg.start_soon(caller, f"small{i}", 10)
    assert order[0] == "big"
    assert first.acquired_at == 0


async def test_concurrency_cap_waits_for_a_release() -> None:
    clock = FakeClock()
    limit = limited(clock, max_concurrency=2)
    a = await limit.acquire_amounts({"requests": 1})
    await limit.acquire_amounts({"requests": 1})
    got: list[str] = []

    async def third() -> None:
        await limit.acquire_amounts({"requests": 1})
        got.append("third")

    async with anyio.create_task_group() as tg:
        tg.start_soon(third)
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        assert got == []
        await limit.release(a)
    assert got == ["third"]


async def test_headers_resync_pace_before_the_429() -> None:
    clock = FakeClock()
    limit = limited(clock, requests_per_minute=1000)
    limit.observe_headers(
        {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2m59.56s"},
        provider="groq",
    )
    lease = await limit.acquire_amounts({"requests": 1})
    assert lease.acquired_at == pytest.approx(179.56)


async def test_remaining_tokens_hold_back_a_request_that_does_not_fit() -> None:
    clock = FakeClock()
    limit = limited(clock)  # no local limits: the host's numbers alone pace
    limit.observe_headers(
        {"x-ratelimit-remaining-tokens": "100", "x-ratelimit-reset-tokens": "20s"}
    )
    small = await limit.acquire_amounts({"tokens": 60})
    assert small.acquired_at == 0
    big = await limit.acquire_amounts({"tokens": 60})  # only 40 left now
    assert big.acquired_at == pytest.approx(20)


async def test_anthropic_reset_time_paces() -> None:
    clock = FakeClock()
    limit = limited(clock)
    reset = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    limit.observe_headers(
        {"anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": reset}
    )
    lease = await limit.acquire_amounts({"requests": 1})
    assert lease.acquired_at == pytest.approx(30, abs=2)


async def test_a_pause_holds_everyone() -> None:
    clock = FakeClock()
    limit = limited(clock, requests_per_minute=100)
    await limit.pause(12)
    leases = [await limit.acquire_amounts({"requests": 1}) for _ in range(3)]
    assert all(lease.acquired_at >= 12 for lease in leases)


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    clock = FakeClock()
    limit = limited(clock, max_concurrency=1)
    held = await limit.acquire_amounts({"requests": 1})
    with anyio.move_on_after(0.05):
        await limit.acquire_amounts({"requests": 1})
    await limit.release(held)
    again = await limit.acquire_amounts({"requests": 1})
    assert again is not None


def test_estimate_counts_input_and_max_output() -> None:
    request = Request("m", [Message.system("x" * 40), Message.user("y" * 400)], max_tokens=300)
    input_tokens, output_tokens = estimate_tokens(request)
    assert 110 <= input_tokens <= 130
    assert output_tokens == 300
    assert estimate_tokens(Request("m", [Message.user("hi")]), default_output=77)[1] == 77


@pytest.mark.parametrize("bad", [{"requests_per_minute": 0}, {"tokens_per_minute": -5}])
def test_limits_must_be_positive(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError, match="positive"):
        RateLimit(**bad)  # type: ignore[arg-type]
