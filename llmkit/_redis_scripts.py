"""Lua scripts on Redis: by their SHA-1, and pipelined a loop turn at a time.

`run(client, script, key, *args)` sends `EVALSHA`; a server that does not know the
script yet (new, restarted or flushed) answers `NOSCRIPT`, and the script is sent
whole with `EVAL`, which also stores it for the next time. The rate-limit and
budget backends run a script on every request, so this saves sending a few
hundred bytes of Lua, and Redis compiling them, per request.

Calls are not sent one by one: every call made on the same client during one turn
of the event loop goes out in one pipeline (one connection, one write, one read),
and while a pipeline is on its way the calls that arrive wait for it and then go
together in the next one. A gateway request's lease and budget hold are one round
trip, and 256 concurrent streams' settles a handful of pipelines instead of 512
commands each taking a pooled connection (redis-py spends ~0.12 ms of CPU per
command alone, ~0.02 ms per command in a pipeline of hundreds: measured). Inside
`deferred(seconds)` a call nobody waits for right away (a settle after the reply)
may wait up to `seconds` to ride with the next pipeline instead of making its own.

The pipelines go out on one connection from the client's pool, kept for them, packed
by hiredis (in C) when it is installed and read with redis-py's `read_response`:
checking a connection out and building a redis-py `Pipeline` cost as much again as the
commands. A client without a pool of that kind (a cluster client) is sent its
pipelines through its own `pipeline()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hashlib
import weakref
from collections.abc import Iterator
from typing import Any

__all__ = ["deferred", "redis_error", "run"]

_SHAS: dict[str, str] = {}
_DEFER: contextvars.ContextVar[float] = contextvars.ContextVar("llmkit_redis_defer", default=0.0)


async def run(client: Any, script: str, key: str, *args: Any) -> Any:
    """`script` on one key, by its SHA-1 (then whole, if the server lacks it), in the
    next pipeline to `client`.

    Raises:
        redis.RedisError: what the server or the connection answered.
    """
    sha = _SHAS.get(script)
    if sha is None:
        sha = _SHAS[script] = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
    loop = asyncio.get_running_loop()
    call = _Call(sha, script, key, args, loop.create_future())
    _batcher(client, loop).submit(call, _DEFER.get())
    return await call.future


@functools.cache
def redis_error() -> type[Exception]:
    """`redis.RedisError`, looked up once: what the backends turn into llmkit errors."""
    from llmkit._imports import require

    error: type[Exception] = require("redis", extra="redis").RedisError
    return error


@contextlib.contextmanager
def deferred(seconds: float) -> Iterator[None]:
    """Let the scripts run inside wait up to `seconds` for the next pipeline (for work
    whose caller does not wait on it, such as settling after the reply is sent)."""
    token = _DEFER.set(seconds)
    try:
        yield
    finally:
        _DEFER.reset(token)


class _Call:
    __slots__ = ("args", "future", "key", "script", "sha")

    def __init__(
        self, sha: str, script: str, key: str, args: tuple[Any, ...], future: asyncio.Future[Any]
    ) -> None:
        self.sha, self.script, self.key, self.args, self.future = sha, script, key, args, future


_BATCHERS: weakref.WeakKeyDictionary[Any, dict[asyncio.AbstractEventLoop, _Batcher]] = (
    weakref.WeakKeyDictionary()
)


def _batcher(client: Any, loop: asyncio.AbstractEventLoop) -> _Batcher:
    by_loop = _BATCHERS.get(client)
    if by_loop is None:
        by_loop = _BATCHERS[client] = {}
    found = by_loop.get(loop)
    if found is None:
        for closed in [other for other in by_loop if other.is_closed()]:
            del by_loop[closed]
        found = by_loop[loop] = _Batcher(client, loop)
    return found


class _Batcher:
    """The calls waiting for one client on one event loop, and the one pipeline in flight."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.client = weakref.ref(client)  # `_BATCHERS` holds this: a strong one would keep
        self.loop = loop  # the client (its key there) alive for good
        self.waiting: list[_Call] = []
        self.urgent = False
        """Whether a caller waiting now wants its reply as soon as possible."""
        self.due: float | None = None
        """When the oldest deferred call must go at the latest (None: none is deferred)."""
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        """The pipeline under way, or about to start; it sends what waits when it ends."""
        self.connection: Any = None
        """The pooled connection this batcher's pipelines go through (one at a time), taken
        from the client's pool once and kept: checking one out per pipeline costs as much
        as the commands themselves."""

    def submit(self, call: _Call, defer: float) -> None:
        self.waiting.append(call)
        if defer <= 0:
            self.urgent = True
            if self.task is None:
                self._start()
            return
        due = self.loop.time() + defer
        if self.due is None or due < self.due:
            self.due = due
            if self.task is None:  # else the pipeline under way sets the timer as it ends
                self._arm()

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        assert self.due is not None
        self.timer = self.loop.call_at(self.due, self._start)

    def _start(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.task is None and self.waiting:
            # a task, so the pipeline starts next turn: the calls made this turn go with it
            self.task = self.loop.create_task(self._send())

    async def pipeline(self, calls: list[tuple[_Call, bool]]) -> list[Any]:
        """Send `calls` together, then read their replies, on this batcher's connection
        (packed by hiredis's C packer when installed). A connection that fails is dropped,
        and the pipeline sent once more on a new one if no reply had arrived yet (the server
        went away, restarted, or closed an idle connection), as redis-py's own retry does."""
        client = self.client()  # alive: the callers waiting on this pipeline hold it
        pool = getattr(client, "connection_pool", None)
        if pool is None or not hasattr(pool, "get_connection"):
            return await _client_pipeline(client, calls)
        commands = [_command(call, by_sha) for call, by_sha in calls]
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = await pool.get_connection()
            connection, replies = self.connection, []
            try:
                await connection.send_packed_command(
                    _pack(connection, commands), check_health=False
                )
                for _ in calls:
                    replies.append(await _read(connection))
                return replies
            except BaseException as exc:
                self.connection = None  # replies may be half read: never use it again
                await connection.disconnect(nowait=True)
                await pool.release(connection)
                if replies or attempt == 2 or not _dropped(exc):
                    raise
        raise AssertionError("unreachable")

    async def _send(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                self.urgent, self.due = False, None
                await _execute(self, batch)
                if not self.urgent:  # only deferred calls came meanwhile: they can wait
                    break
        finally:
            self.task = None
            if self.waiting and not self.loop.is_closed():
                if self.urgent or self.due is None:
                    self._start()
                else:
                    self._arm()


async def _execute(batcher: _Batcher, batch: list[_Call]) -> None:
    """Send `batch` in one pipeline, then whole any script the server did not know;
    each caller gets its own reply or error."""
    from redis.exceptions import NoScriptError

    try:
        results = await batcher.pipeline([(call, True) for call in batch])
        unknown = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if unknown:
            again = await batcher.pipeline([(batch[i], False) for i in unknown])
            for i, result in zip(unknown, again, strict=True):
                results[i] = result
    except BaseException as exc:  # the connection failed, or the loop is shutting down
        for call in batch:
            if not call.future.done():
                if isinstance(exc, Exception):
                    call.future.set_exception(exc)
                else:
                    call.future.cancel()
        if not isinstance(exc, Exception):
            raise
        return
    for call, result in zip(batch, results, strict=True):
        if call.future.done():  # its caller was cancelled: nobody to tell
            continue
        if isinstance(result, Exception):
            call.future.set_exception(result)
        else:
            call.future.set_result(result)


def _command(call: _Call, by_sha: bool) -> tuple[Any, ...]:
    if by_sha:
        return ("EVALSHA", call.sha, 1, call.key, *call.args)
    return ("EVAL", call.script, 1, call.key, *call.args)


async def _read(connection: Any) -> Any:
    """One reply; an error reply is returned (it belongs to its caller), not raised."""
    from redis.exceptions import ResponseError

    try:
        return await connection.read_response()
    except ResponseError as error:
        return error


async def _client_pipeline(client: Any, calls: list[tuple[_Call, bool]]) -> list[Any]:
    """The calls through the client's own `pipeline()` (a cluster client, say)."""
    async with client.pipeline(transaction=False) as pipe:
        for call, by_sha in calls:
            pipe.execute_command(*_command(call, by_sha))
        return list(await pipe.execute(raise_on_error=False))


def _pack(connection: Any, commands: list[tuple[Any, ...]]) -> Any:
    """The commands in Redis's wire format: by hiredis's C packer when it is installed
    (the `redis` extra has it; ~10x redis-py's Python one), else by the connection."""
    packer = _hiredis_packer()
    if packer is None:
        return connection.pack_commands(commands)
    return b"".join(map(packer, commands))


@functools.cache
def _hiredis_packer() -> Any:
    try:
        from hiredis import pack_command
    except ImportError:
        return None
    return pack_command


def _dropped(exc: BaseException) -> bool:
    """Whether `exc` says the connection was lost (worth one more try on a new one)."""
    from redis.exceptions import ConnectionError, TimeoutError

    return isinstance(exc, ConnectionError | TimeoutError | OSError)
