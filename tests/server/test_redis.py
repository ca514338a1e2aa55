"""Scale-out: two `llmkit serve` processes sharing one real `redis-server` enforce one
rate limit and one budget per key, see the same minted keys, and a refused request
keeps neither a lease nor a budget hold (the lease and the hold are taken concurrently).

`redis-server` is started on loopback as in tests/test_ratelimit_redis.py (skipped
without the binary, failed when `LLMKIT_REQUIRE_REDIS` is set).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("starlette")

from llmkit.server.keys import period_label  # noqa: E402
from tests.server.harness import Upstream, free_port  # noqa: E402
from tests.test_ratelimit_redis import redis_url  # noqa: E402, F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
TEAM_KEY = "sk-team-shared-secret"
MASTER = "sk-master-shared-secret"


@contextlib.contextmanager
def serve(config: Path, env: dict[str, str]) -> Iterator[str]:
    """`python -m llmkit serve` on a free port; yields its URL; stopped (SIGTERM) after."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llmkit", "serve", "--config", str(config), "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/health/readiness", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                _, err = process.communicate(timeout=5)
                pytest.fail(f"llmkit serve did not start: {err[-2000:]}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class State:
    """A key's limit and budget as they stand in Redis (what the gateway's backends wrote)."""

    def __init__(self, url: str, name: str, period: str = "day") -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.limit = f"llmkit:ratelimit:{{gateway:{name}}}"
        self.budget = f"llmkit:budget:{{gateway:{name}:{period_label(period)[0]}}}"

    def inflight(self) -> int:
        """Leases held (requests under way, or refused ones not given back)."""
        return int(self.client.zcard(self.limit + ":inflight"))

    def held(self) -> int:
        """Budget holds not settled."""
        return int(self.client.hlen(self.budget + ":held"))

    def spent(self) -> int:
        """Nano-USD settled."""
        return int(self.client.get(self.budget + ":spent") or 0)

    def settled(self, seconds: float = 10) -> None:
        """Wait (bounded) until nothing is held: the replies' settles, which run after the
        replies are sent, have landed."""
        deadline = time.monotonic() + seconds
        while self.inflight() or self.held():
            if time.monotonic() > deadline:
                pytest.fail(
                    f"still held after {seconds} s: {self.inflight()} leases, {self.held()} holds"
                )
            time.sleep(0.01)

    def close(self) -> None:
        self.client.close()


def write_config(tmp: Path, redis: str, upstream: Upstream, name: str) -> Path:
    digest = hashlib.sha256(TEAM_KEY.encode()).hexdigest()
    path = tmp / "llmkit.yaml"
    path.write_text(
        f"""
providers:
  paid: {{type: openai, base_url: "{upstream.url}", api_key: "${{UP_KEY:-k}}", retry: {{max_attempts: 1}}}}
clients:
  free: {{provider: fake, family: deepseek}}
  priced: {{provider: paid, family: gpt4, options: {{api: chat}}}}
server:
  master_key: ${{TEST_MASTER}}
  redis_url: {redis}
  keys:
    {name}:
      key_sha256: {digest}
      rate_limit: {{requests_per_minute: 4}}
    {name}-budget:
      key: ${{TEST_BUDGET_KEY}}
      budget: {{limit_usd: 0.0003, period: day}}
    {name}-both:
      key: ${{TEST_BOTH_KEY}}
      rate_limit: {{requests_per_minute: 3, concurrency: 1}}
      budget: {{limit_usd: 0.0005, period: day}}
"""
    )
    return path


def test_two_replicas_share_limits_budgets_and_minted_keys(redis_url: str, tmp_path: Path) -> None:  # noqa: F811
    name = f"team{time.monotonic_ns()}"  # fresh Redis state for this run
    env = {"TEST_MASTER": MASTER, "TEST_BUDGET_KEY": "sk-budget-secret", "TEST_BOTH_KEY": "x"}
    with Upstream() as up:
        config = write_config(tmp_path, redis_url, up, name)
        with serve(config, env) as first, serve(config, env) as second:
            ready = httpx.get(first + "/health/readiness").json()
            assert ready["checks"]["redis"] == "ok"

            def ask(url: str, key: str, model: str = "free") -> int:
                reply = httpx.post(
                    url + "/v1/chat/completions",
                    headers={"authorization": f"Bearer {key}"},
                    json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
                    timeout=20,
                )
                return reply.status_code

            # 4 requests a minute for the key, whichever replica they reach
            statuses = [ask(url, TEAM_KEY) for url in (first, second, first, second, first, second)]
            assert statuses == [200, 200, 200, 200, 429, 429]

            # one budget: $0.000184 a reply; $0.0003 lets two through in all (not two per replica)
            spent = State(redis_url, f"{name}-budget")
            budget = []
            for url in (first, second, first, second):
                budget.append(ask(url, "sk-budget-secret", "priced"))
                spent.settled()  # a reply's cost is settled just after it is sent
            spent.close()
            assert budget == [200, 200, 429, 429], (budget, up.bodies)
            assert len(up.bodies) == 2

            # a key minted on one replica works on the other; revoked there, refused here
            master = {"authorization": f"Bearer {MASTER}"}
            minted = httpx.post(
                first + "/keys", headers=master, json={"name": f"{name}-minted", "models": ["free"]}
            )
            assert minted.status_code == 201
            token = minted.json()["key"]
            assert token.startswith("sk-llmkit-")
            assert ask(second, token) == 200
            assert ask(second, token, "priced") == 403
            assert httpx.delete(second + f"/keys/{name}-minted", headers=master).status_code == 200
            assert ask(first, token) == 401


def test_refused_requests_keep_no_lease_and_no_hold(redis_url: str, tmp_path: Path) -> None:  # noqa: F811
    """A key with a rate limit and a budget, both in Redis, over two replicas: the lease and
    the hold are asked for at once; whichever is refused, the other is given back before
    the 429 is sent (one request at a time: `concurrency: 1`)."""
    name = f"team{time.monotonic_ns()}"
    key = "sk-both-secret"
    env = {"TEST_MASTER": MASTER, "TEST_BUDGET_KEY": "sk-budget-secret", "TEST_BOTH_KEY": key}
    state = State(redis_url, f"{name}-both")

    def ask(url: str, **options: object) -> tuple[int, str | None]:
        reply = httpx.post(
            url + "/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "priced", "messages": [{"role": "user", "content": "hi"}], **options},
            timeout=20,
        )
        return reply.status_code, reply.json()["error"][
            "code"
        ] if reply.status_code != 200 else None

    with Upstream() as up:
        config = write_config(tmp_path, redis_url, up, name)
        with serve(config, env) as first, serve(config, env) as second:
            assert ask(first) == (200, None)  # 1 request of 3 this minute; $0.000184 spent
            state.settled()
            assert state.spent() == 184_000

            # the budget refuses ($0.02 worst case) while the lease was being taken: no lease kept
            assert ask(second, max_tokens=1000) == (429, "insufficient_quota")
            assert (state.inflight(), state.held()) == (0, 0)

            # so the next request fits the concurrency of 1 (the 3rd request this minute)
            assert ask(first) == (200, None)
            state.settled()
            assert state.spent() == 368_000

            # the rate limit refuses (4th this minute) while the hold was being taken: no hold kept
            assert ask(second) == (429, "rate_limit_exceeded")
            assert (state.inflight(), state.held()) == (0, 0)
            assert state.spent() == 368_000  # refused requests cost nothing
            assert len(up.bodies) == 2
    state.close()
