"""`generate_batch`, `client.generate_batch`, splitting, polling and the fake host's jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from llmkit.batches import (
    BatchItemError,
    BatchJob,
    BatchLimits,
    BatchNotReadyError,
    BatchState,
    Poll,
    generate_batch,
    limits_for,
    split,
)
from llmkit.batches._types import parse_time
from llmkit.budget import Budget
from llmkit.clients import ClaudeClient, MixtralClient
from llmkit.cost import CostTracker
from llmkit.errors import BudgetExceededError, ConfigurationError, RateLimitError
from llmkit.providers import OpenRouterProvider
from llmkit.testing import FakeProvider
from llmkit.types import Message, Request, Response, Role


def req(text: str, model: str = "m") -> Request:
    return Request(model=model, messages=(Message.user(text),))


# -- plain data ----------------------------------------------------------------------


def test_job_round_trips_through_json() -> None:
    job = BatchJob(
        id="msgbatch_1", provider="anthropic", custom_ids=("a", "b"), models=("x", "y"),
        created_at=dt.datetime(2026, 8, 19, 14, 44, tzinfo=dt.UTC), data={"betas": ["b1"]},
    )  # fmt: skip
    assert BatchJob.from_json(job.to_json()) == job
    assert job.model_of("b") == "y" and job.model_of("zz") is None


@pytest.mark.parametrize(
    "text", ["", "[]", '{"id": "x"}', '{"id": "x", "provider": "p", "format": 99}', "nope"]
)
def test_bad_job_json_is_a_clear_error(text: str) -> None:
    with pytest.raises(ConfigurationError, match="batch job"):
        BatchJob.from_json(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "2026-08-19T14:34:12.267870162Z",
            dt.datetime(2026, 8, 19, 14, 34, 12, 267870, tzinfo=dt.UTC),
        ),
        (
            "2026-08-19T14:44:51.493319+00:00",
            dt.datetime(2026, 8, 19, 14, 44, 51, 493319, tzinfo=dt.UTC),
        ),
        (1787150474, dt.datetime(2026, 8, 19, 14, 41, 14, tzinfo=dt.UTC)),
        (None, None),
        ("garbage", None),
    ],
)
def test_parse_time(value: Any, expected: dt.datetime | None) -> None:
    assert parse_time(value) == expected


# -- splitting ---------------------------------------------------------------------


def test_split_by_model_and_count() -> None:
    limits = BatchLimits("x", max_requests=2, one_model=True)
    items = [(str(i), req(str(i), model="a" if i % 2 else "b")) for i in range(5)]
    parts = split(items, limits)
    assert [[cid for cid, _ in p] for p in parts] == [["0", "2"], ["4"], ["1", "3"]]
    assert all(len({r.model for _, r in p}) == 1 for p in parts)


def test_split_by_bytes() -> None:
    limits = BatchLimits("x", max_bytes=1000)
    items = [(str(i), req("x" * 300)) for i in range(6)]
    parts = split(items, limits)
    assert len(parts) > 1 and sum(len(p) for p in parts) == 6
    assert [cid for p in parts for cid, _ in p] == [str(i) for i in range(6)]


def test_host_limits_come_from_the_catalog() -> None:
    anthropic = limits_for("anthropic")
    assert anthropic is not None and anthropic.discount == 0.5 and not anthropic.one_model
    assert limits_for("openai").one_model  # type: ignore[union-attr]
    assert limits_for("openrouter") is None


def test_poll_backs_off_to_its_cap() -> None:
    delays = Poll(interval=10, factor=2, max_interval=35).delays()
    assert [next(delays) for _ in range(4)] == [10, 20, 35, 35]
    with pytest.raises(ConfigurationError):
        Poll.coerce(-1)


# -- the runner on the fake host -------------------------------------------------------


async def test_results_in_input_order_with_errors_in_their_slots() -> None:
    fake = FakeProvider(["one", RateLimitError("slow down"), "three"])
    results = await generate_batch(fake, [req("a"), req("b"), req("c")], poll=0)
    assert isinstance(results[0], Response) and results[0].text == "one"
    assert isinstance(results[1], RateLimitError)
    assert isinstance(results[2], Response) and results[2].text == "three"
    assert [r.messages[-1].content for r in fake.requests] == ["a", "b", "c"]


async def test_work_over_the_limit_is_split_and_reassembled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llmkit.batches import _runner

    monkeypatch.setattr(_runner, "limits_for", lambda name: BatchLimits(name, max_requests=2))
    fake = FakeProvider([f"r{i}" for i in range(5)])
    jobs: list[BatchJob] = []
    results = await generate_batch(
        fake, [req(str(i)) for i in range(5)], poll=0, on_submit=jobs.append
    )
    assert len(jobs) == 3
    assert [r.text for r in results if isinstance(r, Response)] == [f"r{i}" for i in range(5)]


async def test_a_part_the_host_refuses_lands_in_each_of_its_slots(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llmkit.batches import _runner

    monkeypatch.setattr(_runner, "limits_for", lambda name: BatchLimits(name, max_requests=2))
    fake = FakeProvider()
    real_submit = fake.submit_batch
    calls = 0

    async def flaky(requests: Any) -> BatchJob:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RateLimitError("batch queue full", provider="fake")
        return await real_submit(requests)

    fake.submit_batch = flaky  # type: ignore[method-assign]
    results = await generate_batch(fake, [req(str(i)) for i in range(4)], poll=0)
    assert [type(r).__name__ for r in results] == [
        "Response",
        "Response",
        "RateLimitError",
        "RateLimitError",
    ]


async def test_polling_waits_with_backoff_and_reports_progress() -> None:
    fake = FakeProvider(batch_delay=3600)  # ends after an hour of wall clock
    waits: list[float] = []
    runs: list[Any] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:  # "an hour later"
            store = fake._fake_batches  # type: ignore[attr-defined]
            for record in store.values():
                record["ready_at"] = 0

    results = await _runner_with_sleep(fake, sleep, runs)
    assert waits == [1.0, 2.0, 4.0]
    assert [r.done for r in runs] == [False, False, False, True]
    assert runs[-1].finished == 2 and runs[0].finished == 0
    assert all(isinstance(r, Response) for r in results)


async def _runner_with_sleep(fake: FakeProvider, sleep: Any, runs: list[Any]) -> list[Any]:
    return await generate_batch(
        fake,
        [req("a"), req("b")],
        poll=Poll(interval=1, factor=2),
        on_progress=runs.append,
        sleep=sleep,
    )


async def test_waiting_gives_up_at_the_timeout_with_the_jobs_to_resume() -> None:
    fake = FakeProvider(batch_delay=3600)

    async def sleep(seconds: float) -> None:
        return None

    with pytest.raises(BatchNotReadyError) as caught:
        await generate_batch(fake, [req("a")], poll=Poll(interval=5, timeout=4), sleep=sleep)
    jobs = caught.value.jobs
    assert len(jobs) == 1 and (await fake.batch_status(jobs[0])).state is BatchState.RUNNING


async def test_cancelled_fake_job_answers_nothing() -> None:
    fake = FakeProvider(["x"], batch_delay=3600)
    job = await fake.submit_batch([req("a")])
    status = await fake.cancel_batch(job)
    assert status.state is BatchState.CANCELLED
    results = await fake.batch_results(job)
    assert isinstance(results["0"], BatchItemError) and results["0"].reason == "cancelled"
    listed = await fake.list_batches()
    assert [s.id for s in listed] == [job.id]


async def test_host_without_a_batch_api_says_so() -> None:
    with pytest.raises(ConfigurationError, match="no batch API"):
        await generate_batch(OpenRouterProvider(api_key="k"), [req("a")])


# -- through a client ------------------------------------------------------------------


async def test_client_batch_applies_the_familys_rewrites() -> None:
    fake = FakeProvider(name="fake")
    client = MixtralClient(provider=fake, system="Be brief.")
    results = await client.generate_batch(["one", "two"], poll=0)
    assert len(results) == 2 and all(isinstance(r, Response) for r in results)
    sent = fake.requests[0]
    live = FakeProvider()
    await MixtralClient(provider=live, system="Be brief.").generate("one")
    assert sent.messages == live.requests[0].messages  # the same prepare as a live call
    assert sent.messages[0].role in (Role.SYSTEM, Role.USER)


async def test_client_batch_is_priced_at_the_batch_price_and_tracked() -> None:
    fake = FakeProvider(["4", "Jupiter"], name="anthropic")
    tracker = CostTracker()
    client = ClaudeClient(provider=fake, cost_tracker=tracker)
    live_client = ClaudeClient(provider=FakeProvider(["4"], name="anthropic"))
    live = await live_client.generate("What is 2+2?")
    results = await client.generate_batch(["What is 2+2?", "Largest planet?"], poll=0)
    first = results[0]
    assert isinstance(first, Response) and first.cost is not None and live.cost is not None
    assert live.cost.total > 0
    assert first.cost.total == pytest.approx(live.cost.total * 0.5)
    assert len(tracker.records) == 2


async def test_budget_reserves_the_whole_batch_and_refuses_like_a_live_call() -> None:
    fake = FakeProvider(name="anthropic")
    client = ClaudeClient(provider=fake, budget=Budget(limit_usd=0.0001), max_tokens=4000)
    with pytest.raises(BudgetExceededError):
        await client.generate_batch(["a long question"] * 20, poll=0)
    assert fake.requests == []  # refused before anything was submitted


async def test_budget_settles_at_what_the_batch_cost() -> None:
    fake = FakeProvider(name="anthropic")
    budget = Budget(limit_usd=10.0)
    client = ClaudeClient(provider=fake, budget=budget, max_tokens=100)
    results = await client.generate_batch(["a", "b"], poll=0)
    spent = sum(r.cost.total for r in results if isinstance(r, Response) and r.cost)
    assert spent > 0
    assert await budget.spent() == pytest.approx(spent, rel=1e-3)


async def test_client_batch_refuses_output() -> None:
    client = ClaudeClient(provider=FakeProvider())
    with pytest.raises(ConfigurationError, match="output="):
        await client.generate_batch(["a"], output=dict)


def test_client_batch_sync_twin() -> None:
    client = ClaudeClient(provider=FakeProvider(["x"]))
    results = client.generate_batch_sync(["a"], poll=0)
    assert isinstance(results[0], Response) and results[0].text == "x"


def test_a_job_from_another_provider_is_refused_before_any_call(tmp_path: Any) -> None:
    from llmkit.batches import BatchJob
    from llmkit.errors import ConfigurationError
    from llmkit.testing import FakeProvider
    from llmkit.types import Message, Request

    request = Request(model="claude-haiku-4-5", messages=(Message.user("hi"),))
    job = FakeProvider(batch_dir=str(tmp_path)).submit_batch_sync([request])
    other = FakeProvider(name="anthropic", batch_dir=str(tmp_path))  # same files, other host
    moved = BatchJob.from_json(job.to_json())
    for call in (other.batch_status_sync, other.batch_results_sync, other.cancel_batch_sync):
        with pytest.raises(
            ConfigurationError, match=f"{job.id} was submitted to fake, not anthropic"
        ):
            call(moved)
    assert other.batch_status_sync(job.id).id == job.id  # a bare id is taken on trust


def test_the_blocking_results_iterator_yields_every_request_in_order(tmp_path: Any) -> None:
    from llmkit.testing import FakeProvider
    from llmkit.types import Message, Request, Response

    fake = FakeProvider(batch_dir=str(tmp_path))
    asks = {cid: Request(model="claude-haiku-4-5", messages=(Message.user(cid),)) for cid in "cab"}
    job = fake.submit_batch_sync(asks)
    seen = list(fake.iter_batch_results_sync(job))
    assert [cid for cid, _ in seen] == ["c", "a", "b"]
    assert all(isinstance(r, Response) and r.text.endswith(f"You said: {cid}") for cid, r in seen)
