"""The Redis rate-limit backend against a real `redis-server` started on loopback.

The server binary is found at `$LLMKIT_REDIS_SERVER` or as `redis-server` on PATH
(`apt-get install redis-server`); without it these tests skip, saying so, unless
`LLMKIT_REQUIRE_REDIS` is set (CI), in which case they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from llmkit.errors import ConfigurationError
from llmkit.ratelimit import RateLimit
from llmkit.ratelimit.redis import RedisBackend
from tests.test_ratelimit import max_in_any_window

pytest.importorskip(
    "redis", reason="the redis package is not installed: pip install 'llmkit[redis]'"
)

ROOT = Path(__file__).resolve().parents[1]
PERIOD = 0.5  # a short window keeps the tests fast; the rules do not depend on its length


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = os.environ.get("LLMKIT_REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        if os.environ.get("LLMKIT_REQUIRE_REDIS"):
            pytest.fail("LLMKIT_REQUIRE_REDIS is set but redis-server is not on PATH")
        pytest.skip(
            "redis-server not found: install it (apt-get install -y redis-server) "
            "or set LLMKIT_REDIS_SERVER to its path"
        )
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def shared(redis_url: str, key: str, **limits: float) -> RateLimit:
    return RateLimit(backend=RedisBackend(redis_url, key=key, period=PERIOD), **limits)  # type: ignore[arg-type]


async def test_many_clients_share_one_limit(redis_url: str) -> None:
    key = uuid.uuid4().hex
    limits = [shared(redis_url, key, requests_per_minute=10, max_concurrency=4) for _ in range(4)]
    stamps: list[tuple[float, float]] = []
    in_flight = 0
    most = 0

    async def caller(limit: RateLimit) -> None:
        nonlocal in_flight, most
        lease = await limit.acquire_amounts({"requests": 1})
        in_flight += 1
        most = max(most, in_flight)
        stamps.append((lease.acquired_at, 1))
        await anyio.sleep(0.01)
        in_flight -= 1
        await limit.release(lease)

    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(caller, limits[i % 4])
    assert len(stamps) == 40
    assert max_in_any_window(stamps, PERIOD) <= 10
    assert most <= 4
    assert max(t for t, _ in stamps) - min(t for t, _ in stamps) >= 3 * PERIOD  # it was paced


WORKER = textwrap.dedent(
    """
    import json, sys, anyio, redis.asyncio as aioredis
    from llmkit.ratelimit import RateLimit
    from llmkit.ratelimit.redis import RedisBackend

    url, key, period = sys.argv[1], sys.argv[2], float(sys.argv[3])

    async def main():
        limit = RateLimit(requests_per_minute=6, tokens_per_minute=600, max_concurrency=2,
                          backend=RedisBackend(url, key=key, period=period))
        probe = aioredis.Redis.from_url(url)
        out = []
        async def caller():
            lease = await limit.acquire_amounts({"requests": 1, "tokens": 100})
            concurrent = await probe.incr(key + ":probe")
            await anyio.sleep(0.02)
            await probe.decr(key + ":probe")
            await limit.release(lease)
            out.append([lease.acquired_at, concurrent])
        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(caller)
        await probe.aclose()
        print(json.dumps(out))

    anyio.run(main)
    """
)


def test_several_processes_share_one_limit(redis_url: str) -> None:
    key = uuid.uuid4().hex
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, key, str(PERIOD)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results += json.loads(out)
    assert len(results) == 24
    assert max_in_any_window([(t, 1) for t, _ in results], PERIOD) <= 6
    assert max_in_any_window([(t, 100) for t, _ in results], PERIOD) <= 600
    assert max(c for _, c in results) <= 2


async def test_settling_with_real_usage_frees_tokens(redis_url: str) -> None:
    limit = shared(redis_url, uuid.uuid4().hex, tokens_per_minute=100)
    lease = await limit.acquire_amounts({"tokens": 90})
    backend = limit.backend
    wait, _ = await backend.try_acquire("probe", {"tokens": 80})
    assert wait > 0
    await backend.release(lease.key, {"tokens": 10})
    wait, _ = await backend.try_acquire("probe", {"tokens": 80})
    assert wait == 0


async def test_headers_seen_by_one_process_pace_the_others(redis_url: str) -> None:
    key = uuid.uuid4().hex
    first, second = shared(redis_url, key), shared(redis_url, key)
    lease = await first.acquire_amounts({"requests": 1})
    first.observe_headers(
        {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "300ms"}
    )
    await first.release(lease)  # the provider releases right after reading the headers
    later = await second.acquire_amounts({"requests": 1})
    assert later.acquired_at - lease.acquired_at >= 0.29


async def test_a_pause_holds_every_process(redis_url: str) -> None:
    key = uuid.uuid4().hex
    first, second = shared(redis_url, key), shared(redis_url, key)
    before = await first.acquire_amounts({"requests": 1})
    await first.pause(0.3)
    after = await second.acquire_amounts({"requests": 1})
    assert after.acquired_at - before.acquired_at >= 0.29


async def test_a_crashed_holder_frees_its_slot_after_the_lease_ttl(redis_url: str) -> None:
    key = uuid.uuid4().hex
    crashed = RateLimit(
        max_concurrency=1, backend=RedisBackend(redis_url, key=key, lease_ttl=0.3, period=PERIOD)
    )
    other = shared(redis_url, key, max_concurrency=1)
    lost = await crashed.acquire_amounts({"requests": 1})  # never released
    with anyio.fail_after(5):
        got = await other.acquire_amounts({"requests": 1})
    assert got.acquired_at - lost.acquired_at >= 0.29


async def test_an_unreachable_redis_is_a_clear_error() -> None:
    limit = RateLimit(
        requests_per_minute=1, backend=RedisBackend(f"redis://127.0.0.1:{_free_port()}/0")
    )
    with pytest.raises(ConfigurationError, match="check that Redis is running"):
        await limit.acquire_amounts({"requests": 1})
