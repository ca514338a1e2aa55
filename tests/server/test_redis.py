"""Scale-out: two `llmkit serve` processes sharing one real `redis-server` enforce one
rate limit and one budget per key, and see the same minted keys.

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
"""
    )
    return path


def test_two_replicas_share_limits_budgets_and_minted_keys(redis_url: str, tmp_path: Path) -> None:  # noqa: F811
    name = f"team{time.monotonic_ns()}"  # fresh Redis state for this run
    env = {"TEST_MASTER": MASTER, "TEST_BUDGET_KEY": "sk-budget-secret"}
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
            budget = [
                ask(url, "sk-budget-secret", "priced") for url in (first, second, first, second)
            ]
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
