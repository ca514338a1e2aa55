from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest

from llmkit import _sync


def test_run_returns_and_raises() -> None:
    async def ok() -> int:
        await asyncio.sleep(0)
        return 42

    async def bad() -> int:
        raise KeyError("x")

    assert _sync.run(ok) == 42
    with pytest.raises(KeyError):
        _sync.run(bad)


def test_every_call_uses_one_long_lived_loop() -> None:
    async def current() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert _sync.run(current) is _sync.run(current) is _sync.loop()


def test_iterate_runs_the_whole_loop_as_one_task() -> None:
    async def numbers() -> AsyncIterator[tuple[int, object]]:
        for i in range(200):
            yield i, asyncio.current_task()

    items = list(_sync.iterate(numbers))
    assert [i for i, _ in items] == list(range(200))
    assert len({id(task) for _, task in items}) == 1


def test_iterate_propagates_errors_and_stops_early() -> None:
    finished = threading.Event()

    async def numbers() -> AsyncIterator[int]:
        try:
            for i in range(10_000):
                yield i
                await asyncio.sleep(0)
        finally:
            finished.set()

    for i in _sync.iterate(numbers):
        if i == 3:
            break
    assert finished.wait(5)

    async def broken() -> AsyncIterator[int]:
        yield 1
        raise ValueError("cut")

    with pytest.raises(ValueError, match="cut"):
        list(_sync.iterate(broken))


async def test_sync_twins_work_inside_a_running_loop() -> None:
    async def ok() -> str:
        return "fine"

    assert _sync.run(ok) == "fine"


def test_stopping_early_with_a_full_queue_leaves_the_shared_loop_free() -> None:
    async def many() -> AsyncIterator[int]:
        for i in range(500):
            yield i

    for _ in range(5):
        items = _sync.iterate(many)
        next(items)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # let the pump fill the queue and wait on it
            time.sleep(0.01)
            if _sync_queue_full(items):
                break
        items.close()

        async def ping() -> str:
            return "alive"

        future = asyncio.run_coroutine_threadsafe(ping(), _sync.loop())
        assert future.result(timeout=5) == "alive"


def _sync_queue_full(items: object) -> bool:
    frame = getattr(items, "gi_frame", None)
    queue_ = frame.f_locals.get("items") if frame is not None else None
    return bool(queue_ is not None and queue_.full())
