"""The one bridge from blocking calls into llmkit's async code.

One long-lived event loop runs on a daemon thread; every `*_sync` twin hands
its coroutine to it, so pooled connections always see the same loop, and the
twins work even when the caller's own thread already runs an event loop
(Jupyter). `iterate` runs a whole `async for` as *one* task on that loop and
hands items over through a queue: one `run` per item would split the
iteration across tasks and break cancel scopes.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _get_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="llmkit-sync-loop", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def loop() -> asyncio.AbstractEventLoop:
    """The event loop the `*_sync` twins run on."""
    return _get_loop()


def run(func: Callable[[], Awaitable[T]]) -> T:
    """Run `func()` on llmkit's background loop and wait for its result."""

    async def _main() -> T:
        return await func()

    future = asyncio.run_coroutine_threadsafe(_main(), _get_loop())
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        raise


_DONE = object()


def iterate(make: Callable[[], AsyncIterator[T]]) -> Iterator[T]:
    """Iterate `make()` on llmkit's background loop, yielding each item to the caller."""
    items: queue.Queue[Any] = queue.Queue(maxsize=64)
    stop = threading.Event()

    async def _hand_over(entry: tuple[bool, Any]) -> bool:
        """Queue `entry` for the caller without ever blocking the shared loop.

        False once the caller has stopped reading: nobody will take it, so waiting
        (or a blocking `put`) would hang every other `*_sync` call in the process.
        """
        while not stop.is_set():
            try:
                items.put_nowait(entry)
                return True
            except queue.Full:
                await asyncio.sleep(0.001)
        return False

    async def _pump() -> None:
        iterator = make()
        try:
            async for item in iterator:
                if not await _hand_over((True, item)):
                    return
            await _hand_over((True, _DONE))
        except BaseException as exc:  # handed to the caller's thread and raised there
            if not stop.is_set():
                await _hand_over((False, exc))
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    future = asyncio.run_coroutine_threadsafe(_pump(), _get_loop())
    try:
        while True:
            ok, item = items.get()
            if not ok:
                raise item
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        if not future.done():
            future.cancel()
