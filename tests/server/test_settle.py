"""Settling a key's limits and budget off the reply's path, over a real uvicorn and a real
`redis-server`: a plain reply and a stream's end are sent before the settle in Redis runs,
the settle still lands, a failed one is logged by the key's name, and shutdown waits for
the ones still under way. Keys in memory settle before the reply, in the request itself.

Settles are held back by a gate (a patched `ApiKey.settle` that waits for the test), so
the order is certain rather than timed; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("starlette")
pytest.importorskip("redis")

from llmkit.server import app as app_module
from llmkit.server.keys import ApiKey
from tests.server.harness import Gateway, Upstream
from tests.server.test_redis import State
from tests.test_ratelimit_redis import redis_url  # noqa: F401  (the fixture)

KEY = "sk-settle-secret"
COST = 184_000  # nano-USD: 11 x $4/M + 7 x $20/M, the upstream's usage at gpt4's prices


def config(upstream: Upstream, name: str, redis: str | None) -> str:
    server = f"  redis_url: {redis}\n" if redis else ""
    return f"""
providers:
  paid: {{type: openai, base_url: "{upstream.url}", api_key: "${{UP_KEY:-k}}", retry: {{max_attempts: 1}}}}
clients:
  priced: {{provider: paid, family: gpt4, options: {{api: chat}}}}
server:
{server}  drain_seconds: 10
  keys:
    {name}:
      key: ${{SETTLE_KEY}}
      rate_limit: {{requests_per_minute: 100, concurrency: 5}}
      budget: {{limit_usd: 1, period: day}}
"""


class Gate:
    """`ApiKey.settle`, held until `open()`: `entered` when a settle starts, `finished` when
    the real one is done."""

    def __init__(self, fail: bool = False) -> None:
        self.entered = threading.Event()
        self.finished = threading.Event()
        self.released = threading.Event()
        self.fail = fail

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = ApiKey.settle
        gate = self

        async def settle(key: ApiKey, grant: Any, usage: Any, cost: float | None) -> None:
            gate.entered.set()
            await asyncio.to_thread(gate.released.wait, 20)  # bounded
            if gate.fail:
                raise ConnectionError(f"Redis went away (key {key.name})")
            await real(key, grant, usage, cost)
            gate.finished.set()

        monkeypatch.setattr(ApiKey, "settle", settle)

    def open(self) -> None:
        self.released.set()


def wait_for(condition: Any, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.fixture
def name() -> str:
    return f"settle{time.monotonic_ns()}"  # fresh Redis state for each test


@pytest.fixture
def state(redis_url: str, name: str) -> Iterator[State]:  # noqa: F811
    state = State(redis_url, name)
    yield state
    state.close()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    """Every key's settle held until `gate.open()`."""
    held = Gate()
    held.install(monkeypatch)
    return held


def served(upstream: Upstream, name: str, redis: str | None, tmp: Path) -> Gateway:
    """The gateway over `upstream` with the priced key `name` (limits in `redis`, or memory)."""
    return Gateway(config(upstream, name, redis), tmp=tmp, env={"SETTLE_KEY": KEY})


def post(gw: Gateway, **body: Any) -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {KEY}"},
        json={"model": "priced", "messages": [{"role": "user", "content": "hi"}], **body},
        timeout=20,
    )


def test_plain_reply_is_sent_before_its_settle(
    redis_url: str,  # noqa: F811
    name: str,
    state: State,
    tmp_path: Path,
    gate: Gate,
) -> None:
    with Upstream() as up, served(up, name, redis_url, tmp_path) as gw:
        reply = post(gw)  # answered while the settle is held back
        assert reply.status_code == 200
        assert reply.json()["choices"][0]["message"]["content"] == "Hello from upstream"
        assert not gate.finished.is_set()
        assert (state.inflight(), state.held(), state.spent()) == (1, 1, 0)
        assert len(gw.gateway.pending) == 1
        gate.open()
        state.settled()  # the lease and the hold are given back, the real cost counted
        assert state.spent() == COST
        wait_for(lambda: not gw.gateway.pending, "the settle task to leave `pending`")


def test_stream_ends_before_its_settle(
    redis_url: str,  # noqa: F811
    name: str,
    state: State,
    tmp_path: Path,
    gate: Gate,
) -> None:
    with Upstream() as up, served(up, name, redis_url, tmp_path) as gw:
        with httpx.stream(
            "POST", gw.url + "/v1/chat/completions", headers={"authorization": f"Bearer {KEY}"},
            json={"model": "priced", "stream": True, "stream_options": {"include_usage": True},
                  "messages": [{"role": "user", "content": "hi"}]},
            timeout=20,
        ) as reply:  # fmt: skip
            body = reply.read().decode()  # the whole body, up to the end of the response
        assert reply.status_code == 200
        assert body.rstrip().endswith("data: [DONE]")
        assert not gate.finished.is_set()
        assert state.spent() == 0 and state.held() == 1
        gate.open()
        state.settled()
        assert state.spent() == COST


def test_a_failed_settle_is_logged_by_name_and_the_reply_stands(
    redis_url: str,  # noqa: F811
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = Gate(fail=True)
    gate.install(monkeypatch)
    gate.open()
    caplog.set_level(logging.WARNING, logger="llmkit.server")
    with Upstream() as up, served(up, name, redis_url, tmp_path) as gw:
        assert post(gw).status_code == 200
        wait_for(lambda: not gw.gateway.pending, "the failed settle to end")
    logged = [r.getMessage() for r in caplog.records if "settling key" in r.getMessage()]
    assert logged and name in logged[0] and "ConnectionError" in logged[0]
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_shutdown_waits_for_pending_settles(
    redis_url: str,  # noqa: F811
    name: str,
    state: State,
    tmp_path: Path,
    gate: Gate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draining = threading.Event()
    real_drain = app_module.drain

    async def drain(pending: Any, seconds: float, **options: Any) -> None:
        draining.set()
        await real_drain(pending, seconds, **options)

    monkeypatch.setattr(app_module, "drain", drain)
    with Upstream() as up:
        gw = served(up, name, redis_url, tmp_path).__enter__()
        assert post(gw).status_code == 200
        assert post(gw, stream=True).status_code == 200
        wait_for(lambda: len(gw.gateway.pending) == 2, "both settles to be pending")
        stopping = threading.Thread(target=gw.__exit__, args=(None, None, None))
        stopping.start()
        wait_for(draining.is_set, "the shutdown to reach the settles")
        assert state.spent() == 0 and not gate.finished.is_set()
        gate.open()  # the settles may run now, during shutdown, before Redis is closed
        stopping.join(timeout=20)
        assert not stopping.is_alive()
        assert gate.finished.is_set() and not gw.gateway.pending
        assert (state.inflight(), state.held(), state.spent()) == (0, 0, 2 * COST)


def test_a_stream_cut_by_its_client_still_settles_what_was_generated(
    redis_url: str,  # noqa: F811
    name: str,
    state: State,
    tmp_path: Path,
) -> None:
    up = Upstream(chunk_delay=0.01)  # 400 chunks: cut after a few
    with up, served(up, name, redis_url, tmp_path) as gw:
        body = {"model": "priced", "stream": True, "max_tokens": 2000,
                "messages": [{"role": "user", "content": "long"}]}  # fmt: skip
        with httpx.stream(
            "POST", gw.url + "/v1/chat/completions", headers={"authorization": f"Bearer {KEY}"},
            json=body, timeout=20,
        ) as reply:  # fmt: skip
            lines = reply.iter_lines()
            got = [next(lines) for _ in range(6)]
            assert any("content" in line for line in got)
        wait_for(lambda: up.disconnects == 1, "the upstream stream to be closed")
        state.settled()  # the lease and the $0.04 worst-case hold are given back
        # charged for the prompt and the text generated so far, not for the worst case
        assert 0 < state.spent() < 2000 * 20_000
        wait_for(lambda: not gw.gateway.pending, "the settle task to end")


def test_shutdown_settles_the_streams_it_cuts(
    redis_url: str,  # noqa: F811
    name: str,
    state: State,
    tmp_path: Path,
) -> None:
    """A stream still running when the graceful shutdown's time is up (the harness gives
    uvicorn 2 s) is cancelled; its settle starts as it closes, and shutdown waits for it."""
    up = Upstream(chunk_delay=0.05)  # 400 chunks: 20 s, far longer than the shutdown allows
    with up:
        gw = served(up, name, redis_url, tmp_path).__enter__()
        started = threading.Event()

        def listen() -> None:
            body = {
                "model": "priced",
                "stream": True,
                "messages": [{"role": "user", "content": "long"}],
            }
            with contextlib.suppress(httpx.HTTPError), httpx.stream(
                "POST", gw.url + "/v1/chat/completions", json=body, timeout=30,
                headers={"authorization": f"Bearer {KEY}"},
            ) as reply:  # fmt: skip
                for line in reply.iter_lines():
                    if "content" in line:
                        started.set()

        client = threading.Thread(target=listen, daemon=True)
        client.start()
        wait_for(started.is_set, "the stream to start")
        assert state.inflight() == 1 and state.spent() == 0
        gw.__exit__(None, None, None)  # waits 2 s for the stream, cancels it, then drains
        assert not gw.thread.is_alive()
        state.settled()
        assert state.spent() > 0  # the prompt and the text sent before the cut
        client.join(timeout=10)


def test_memory_keys_settle_before_the_reply(name: str, tmp_path: Path) -> None:
    with Upstream() as up, served(up, name, None, tmp_path) as gw:
        for body in ({}, {"stream": True}):
            assert post(gw, **body).status_code == 200
        assert not gw.gateway.pending  # nothing left to run after the replies
        (key,) = gw.gateway.keys.values()
        budget, _ = key.budget()
        assert budget is not None
        assert asyncio.run(budget.spent()) == pytest.approx(2 * COST / 1e9)
        assert asyncio.run(budget.remaining()) == pytest.approx(1 - 2 * COST / 1e9)  # no hold
        assert key.rate_limit is not None
        assert not key.rate_limit.backend.state.in_flight  # type: ignore[attr-defined]
