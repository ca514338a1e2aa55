"""LoopResources: one resource per event loop, each closed on its own loop; the provider pools
and both Redis backends use it, so their `aclose` closes every loop's client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from llmkit._loops import LoopResources, close_resource


class Conn:
    """A stand-in for a loop-bound client: records the loop it was opened and closed on."""

    def __init__(self) -> None:
        self.opened_on = asyncio.get_running_loop()
        self.closed_on: asyncio.AbstractEventLoop | None = None

    async def aclose(self) -> None:
        self.closed_on = asyncio.get_running_loop()


@pytest.fixture
def other_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A second event loop running in a thread (as the sync twins' loop does)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def _on(loop: asyncio.AbstractEventLoop, resources: LoopResources, key: str = "c") -> Any:
    async def get() -> Any:
        return resources.get(key, Conn)

    return asyncio.run_coroutine_threadsafe(get(), loop).result(timeout=5)


async def test_one_resource_per_loop_and_key() -> None:
    resources = LoopResources()
    first = resources.get("c", Conn)
    assert resources.get("c", Conn) is first
    assert resources.get("d", Conn) is not first
    assert len(resources) == 2


async def test_aclose_closes_every_loops_resource_on_its_own_loop(
    other_loop: asyncio.AbstractEventLoop,
) -> None:
    resources = LoopResources()
    here = resources.get("c", Conn)
    there = _on(other_loop, resources)
    assert there.opened_on is other_loop
    await resources.aclose()
    assert here.closed_on is asyncio.get_running_loop()
    assert there.closed_on is other_loop  # closed there, and waited for
    assert len(resources) == 0
    assert resources.get("c", Conn) is not here  # a fresh one after closing


def test_a_stopped_loops_resource_is_dropped_not_closed_here() -> None:
    resources = LoopResources()
    loop = asyncio.new_event_loop()
    try:
        stale = loop.run_until_complete(_get(resources))
    finally:
        loop.close()
    asyncio.run(resources.aclose())
    assert stale.closed_on is None and len(resources) == 0


async def _get(resources: LoopResources) -> Any:
    return resources.get("c", Conn)


def test_get_outside_a_loop_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        LoopResources().get("c", Conn)


async def test_close_resource_takes_sync_and_async_closers() -> None:
    closed: list[str] = []

    class Sync:
        def close(self) -> None:
            closed.append("sync")

    await close_resource(Sync())
    await close_resource(object())  # nothing to close: no error
    conn = Conn()
    await close_resource(conn)
    assert closed == ["sync"] and conn.closed_on is asyncio.get_running_loop()


async def test_a_provider_closes_the_pools_of_every_loop(
    other_loop: asyncio.AbstractEventLoop,
) -> None:
    from llmkit.providers import OpenAIProvider

    provider = OpenAIProvider(api_key="sk-test")
    here = provider._loop_resource("probe", Conn)
    there = _on(other_loop, provider._per_loop, "probe")
    await provider.aclose()
    assert (here.closed_on, there.closed_on) == (asyncio.get_running_loop(), other_loop)


@pytest.mark.parametrize("backend", ["ratelimit", "budget"])
async def test_both_redis_backends_close_every_loops_client(
    backend: str, other_loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "ratelimit":
        from llmkit.ratelimit.redis import RedisBackend as Backend
    else:
        from llmkit.cost_redis import RedisBudgetBackend as Backend  # type: ignore[assignment]
    monkeypatch.setattr(Backend, "_connect", lambda self: Conn())
    redis = Backend("redis://127.0.0.1:1/0", key="loops")
    here = redis._redis()
    assert redis._redis() is here

    async def there_client() -> Any:
        return redis._redis()

    there = asyncio.run_coroutine_threadsafe(there_client(), other_loop).result(timeout=5)
    assert there is not here
    await redis.aclose()
    assert (here.closed_on, there.closed_on) == (asyncio.get_running_loop(), other_loop)
