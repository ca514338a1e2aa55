"""The Redis budget backend against a real redis-server: one budget shared by many "processes".

A fixture starts `redis-server` on a free loopback port; the tests are skipped
when the binary is absent, unless `LLMKIT_REQUIRE_REDIS=1` (as in `.ci/run`),
where its absence fails them.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from llmkit.cost import Budget
from llmkit.cost_redis import RedisBudgetBackend
from llmkit.errors import BudgetExceededError, ConfigurationError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("LLMKIT_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is required (LLMKIT_REQUIRE_REDIS=1) but not installed")
        pytest.skip("redis-server is not installed; install it to run the Redis budget tests")
    port = _free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def backend(redis_url: str) -> AsyncIterator[RedisBudgetBackend]:
    backend = RedisBudgetBackend(redis_url, key=f"test-{random.random()}")
    yield backend
    await backend.reset()
    await backend.aclose()


async def test_reserve_settle_and_totals(backend: RedisBudgetBackend) -> None:
    budget = Budget(1.0, backend=backend, warn_at=None)
    first = await budget.reserve(0.6)
    with pytest.raises(BudgetExceededError):
        await budget.reserve(0.5)
    await budget.settle(first, 0.25)
    assert await budget.spent() == pytest.approx(0.25)
    assert await budget.remaining() == pytest.approx(0.75)


async def test_many_processes_never_cross_one_budget(redis_url: str) -> None:
    key = f"shared-{random.random()}"
    # Each "process" has its own backend object and connection, on the same key.
    budgets = [
        Budget(1.0, backend=RedisBudgetBackend(redis_url, key=key), warn_at=None) for _ in range(4)
    ]
    rng = random.Random(3)
    refused = 0

    async def request(budget: Budget) -> None:
        nonlocal refused
        worst = rng.uniform(0.01, 0.1)
        try:
            reservation = await budget.reserve(worst)
        except BudgetExceededError:
            refused += 1
            return
        spent, held = await budget.backend.totals()
        assert spent + held <= 1_000_000_000  # the invariant, as Redis holds it
        await anyio.sleep(rng.uniform(0, 0.005))
        await budget.settle(reservation, worst * rng.uniform(0.3, 1.0))

    async with anyio.create_task_group() as group:
        for i in range(200):
            group.start_soon(request, budgets[i % 4])
    assert refused > 0
    assert await budgets[0].spent() <= 1.0
    assert await budgets[3].remaining() == pytest.approx(1.0 - await budgets[1].spent())
    for budget in budgets:
        assert isinstance(budget.backend, RedisBudgetBackend)
        await budget.backend.reset()
        await budget.backend.aclose()


async def test_a_crashed_holder_frees_its_hold_after_the_ttl(redis_url: str) -> None:
    backend = RedisBudgetBackend(redis_url, key=f"ttl-{random.random()}", reservation_ttl=0.2)
    budget = Budget(1.0, backend=backend)
    await budget.reserve(0.9)  # never settled: the process "crashed"
    with pytest.raises(BudgetExceededError):
        await budget.reserve(0.5)
    await anyio.sleep(0.3)
    await budget.reserve(0.5)
    await backend.reset()
    await backend.aclose()


async def test_an_unreachable_redis_is_a_clear_error() -> None:
    backend = RedisBudgetBackend(f"redis://127.0.0.1:{_free_port()}/0")
    with pytest.raises(ConfigurationError, match="check that Redis is running"):
        await Budget(1.0, backend=backend).reserve(0.1)


async def test_scripts_run_by_sha_and_are_sent_whole_after_a_script_flush(
    backend: RedisBudgetBackend, redis_url: str
) -> None:
    import redis.asyncio as redis_asyncio

    admin = redis_asyncio.Redis.from_url(redis_url)
    try:
        await admin.script_flush()  # as after a restart: the server knows no script
        await admin.config_resetstat()
        budget = Budget(1.0, backend=backend, warn_at=None)
        for _ in range(3):
            held = await budget.reserve(0.1)
            await budget.settle(held, 0.1)
        stats = await admin.info("commandstats")
        evals = stats.get("cmdstat_eval", {}).get("calls", 0)
        by_sha = stats.get("cmdstat_evalsha", {}).get("calls", 0)
        assert evals == 2  # reserve's and settle's scripts, each sent whole once
        assert by_sha == 6  # every call tried by SHA first (two of them answered NOSCRIPT)
        assert await budget.spent() == pytest.approx(0.3)
    finally:
        await admin.aclose()
