"""`LoopResources`: resources that belong to one event loop, kept per loop and closed on it.

An `httpx2.AsyncClient` pool or a `redis.asyncio` client holds connections
bound to the event loop that opened them: used from another loop they fail
or hang. So a provider or a Redis backend keeps one per running loop
(`get`), weakly keyed (a loop that is garbage-collected takes its entries
with it), and `aclose` closes every loop's resources on their own loop:

    self._resources = LoopResources()
    client = self._resources.get("http", make_client)   # inside a coroutine
    await self._resources.aclose()                      # every loop's, each on its loop

The caller's loop's resources are closed in place. Those of another loop
that is still running (the sync twins' background loop, say) are closed
there, and waited for, so their sockets are gone when `aclose` returns. A
stopped loop's resources went with its transports; they are only dropped.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["LoopResources", "close_resource"]

T = TypeVar("T")

_log = logging.getLogger("llmkit")

CLOSE_TIMEOUT = 10.0
"""Seconds `aclose` waits for another loop to close its resources."""


async def close_resource(resource: Any) -> None:
    """Close `resource` with its `aclose()` or `close()` (awaited when it is a coroutine)."""
    closer = getattr(resource, "aclose", None) or getattr(resource, "close", None)
    if closer is None:
        return
    result = closer()
    if inspect.isawaitable(result):
        await result


class LoopResources:
    """Named resources, one of each per running event loop (see the module docstring)."""

    def __init__(self, what: str = "llmkit") -> None:
        """Args: what: the owner's name, for the debug log of a close that failed."""
        self.what = what
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, key: str, factory: Callable[[], T]) -> T:
        """The running loop's `key` resource, built with `factory()` on first use.

        Raises:
            RuntimeError: no event loop is running (call it from a coroutine).
        """
        slot = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        if key not in slot:
            slot[key] = factory()
        return slot[key]  # type: ignore[no-any-return]

    def __len__(self) -> int:
        """How many resources are open, across every loop."""
        return sum(len(slot) for slot in list(self._by_loop.values()))

    async def aclose(self) -> None:
        """Close every loop's resources, each on its own loop, and forget them all."""
        current = asyncio.get_running_loop()
        for loop, slot in list(self._by_loop.items()):
            resources = list(slot.values())
            slot.clear()
            for resource in resources:
                if loop is current:
                    await close_resource(resource)
                elif loop.is_running() and not loop.is_closed():
                    await self._close_on(loop, resource)
                # a stopped loop's resources went with its transports
        self._by_loop.clear()

    async def _close_on(self, loop: asyncio.AbstractEventLoop, resource: Any) -> None:
        done = asyncio.run_coroutine_threadsafe(close_resource(resource), loop)
        try:
            await asyncio.wait_for(asyncio.wrap_future(done), timeout=CLOSE_TIMEOUT)
        except (TimeoutError, OSError, RuntimeError) as exc:
            _log.debug("llmkit: closing a %s resource on another loop: %r", self.what, exc)
