from __future__ import annotations

import asyncio
import threading
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
