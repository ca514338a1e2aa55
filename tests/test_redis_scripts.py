"""`llmkit._redis_scripts.run` against a real redis-server: calls pipelined a loop turn at a
time, each caller given its own reply or error, NOSCRIPT answered by sending the script
whole, and deferred calls riding with the next pipeline.

The server comes from `tests/test_cost_redis.py`'s fixture (skipped without the binary,
failed instead under `LLMKIT_REQUIRE_REDIS=1`). Pipelines are counted by a thin proxy
around the real client, on both ways a pipeline goes out (a pooled connection of its own,
or the client's `pipeline()`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmkit import _redis_scripts as scripts
from tests.test_cost_redis import redis_url  # noqa: F401  (the fixture)

ECHO = "return {KEYS[1], ARGV[1]}"
FAIL_ON_BAD = "if ARGV[1] == 'bad' then return redis.error_reply('ERR refused ' .. ARGV[1]) end return ARGV[1]"
SLOW = "local i = 0 while i < tonumber(ARGV[1]) do i = i + 1 end return ARGV[2]"


class Counting:
    """A `redis.asyncio.Redis` that records how many commands each pipeline sends: through
    the pool's connection (`pooled`, llmkit's own path) or the client's `pipeline()` (a
    client without a pool, as a cluster client is)."""

    def __init__(self, inner: Any, *, pooled: bool) -> None:
        self.inner = inner
        self.sizes: list[int] = []
        self.sent = asyncio.Event()
        if pooled:
            self.connection_pool = CountingPool(inner.connection_pool, self)

    def record(self, size: int) -> None:
        self.sizes.append(size)
        self.sent.set()

    def pipeline(self, transaction: bool = True) -> Any:
        pipe = self.inner.pipeline(transaction=transaction)
        execute = pipe.execute

        async def counted(raise_on_error: bool = True) -> Any:
            self.record(len(pipe.command_stack))
            return await execute(raise_on_error=raise_on_error)

        pipe.execute = counted
        return pipe


class CountingPool:
    """The client's pool, with each connection counting the commands it is sent."""

    def __init__(self, pool: Any, owner: Counting) -> None:
        self.pool = pool
        self.owner = owner

    async def get_connection(self) -> Any:
        import hiredis

        connection = await self.pool.get_connection()
        if not getattr(connection, "counted", False):
            send = connection.send_packed_command

            async def counted(command: Any, check_health: bool = True) -> None:
                reader = hiredis.Reader()
                reader.feed(command if isinstance(command, bytes) else b"".join(command))
                size = 0
                while reader.gets() is not False:
                    size += 1
                self.owner.record(size)
                await send(command, check_health=check_health)

            connection.send_packed_command = counted
            connection.counted = True
        return connection

    async def release(self, connection: Any) -> None:
        await self.pool.release(connection)


@pytest.fixture(params=["pooled", "pipeline"])
async def client(redis_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Counting]:  # noqa: F811
    """A counting client on a server that knows the scripts already (counts start at 0)."""
    import redis.asyncio as redis_asyncio

    if request.param == "pooled":
        pytest.importorskip("hiredis")  # to count the commands in what is sent
    inner = redis_asyncio.Redis.from_url(redis_url)
    for script in (ECHO, FAIL_ON_BAD, SLOW):
        await inner.script_load(script)
    yield Counting(inner, pooled=request.param == "pooled")
    await inner.aclose()


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    return value


async def test_calls_made_in_one_turn_share_one_pipeline_and_get_their_own_replies(
    client: Counting,
) -> None:
    replies = await asyncio.gather(
        *(scripts.run(client, ECHO, f"key-{i}", f"value-{i}") for i in range(20))
    )
    assert [_decoded(reply) for reply in replies] == [[f"key-{i}", f"value-{i}"] for i in range(20)]
    assert client.sizes == [20]


async def test_a_script_the_server_lost_is_sent_whole_for_every_caller(client: Counting) -> None:
    await client.inner.script_flush()  # as after a restart
    await client.inner.config_resetstat()
    client.sizes.clear()
    replies = await asyncio.gather(*(scripts.run(client, ECHO, "k", str(i)) for i in range(3)))
    assert [_decoded(reply)[1] for reply in replies] == ["0", "1", "2"]
    assert client.sizes == [3, 3]  # by SHA (all NOSCRIPT), then whole
    stats = await client.inner.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] == 3
    assert stats["cmdstat_eval"]["calls"] == 3
    client.sizes.clear()
    await scripts.run(client, ECHO, "k", "again")
    assert client.sizes == [1]  # stored again: by SHA only


async def test_an_error_reaches_only_the_caller_whose_script_failed(client: Counting) -> None:
    import redis

    outcomes = await asyncio.gather(
        scripts.run(client, FAIL_ON_BAD, "k", "good-1"),
        scripts.run(client, FAIL_ON_BAD, "k", "bad"),
        scripts.run(client, FAIL_ON_BAD, "k", "good-2"),
        return_exceptions=True,
    )
    assert _decoded(outcomes[0]) == "good-1"
    assert isinstance(outcomes[1], redis.ResponseError)
    assert "refused bad" in str(outcomes[1])
    assert _decoded(outcomes[2]) == "good-2"
    assert client.sizes == [3]


async def test_calls_arriving_while_a_pipeline_is_out_go_together_in_the_next(
    client: Counting,
) -> None:
    first = asyncio.ensure_future(scripts.run(client, SLOW, "k", 3_000_000, "first"))
    await client.sent.wait()  # the slow one is on its way
    later = [asyncio.ensure_future(scripts.run(client, ECHO, "k", str(i))) for i in range(5)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not any(task.done() for task in later)  # waiting for the slow pipeline
    assert _decoded(await first) == "first"
    assert [_decoded(await task)[1] for task in later] == ["0", "1", "2", "3", "4"]
    assert client.sizes == [1, 5]


async def test_a_cancelled_caller_leaves_the_others_their_replies(client: Counting) -> None:
    kept = asyncio.ensure_future(scripts.run(client, SLOW, "k", 2_000_000, "kept"))
    dropped = asyncio.ensure_future(scripts.run(client, SLOW, "k", 1, "dropped"))
    await client.sent.wait()
    dropped.cancel()
    assert _decoded(await kept) == "kept"
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert _decoded(await scripts.run(client, ECHO, "k", "next"))[1] == "next"


async def test_a_deferred_call_waits_for_the_next_pipeline(client: Counting) -> None:
    with scripts.deferred(60.0):
        waiting = asyncio.ensure_future(scripts.run(client, ECHO, "k", "deferred"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiting.done() and client.sizes == []  # held back, nothing sent
    urgent = await scripts.run(client, ECHO, "k", "urgent")
    assert _decoded(urgent)[1] == "urgent"
    assert _decoded(await waiting)[1] == "deferred"
    assert client.sizes == [2]  # it rode with the urgent one


async def test_a_deferred_call_alone_still_goes_out(client: Counting) -> None:
    with scripts.deferred(0.01):
        reply = await asyncio.wait_for(scripts.run(client, ECHO, "k", "alone"), timeout=10)
    assert _decoded(reply)[1] == "alone"
    assert client.sizes == [1]


async def test_an_unreachable_server_fails_every_caller_of_the_pipeline() -> None:
    import redis
    import redis.asyncio as redis_asyncio

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inner = redis_asyncio.Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        outcomes = await asyncio.gather(
            *(scripts.run(inner, ECHO, "k", str(i)) for i in range(3)), return_exceptions=True
        )
        assert all(isinstance(outcome, redis.ConnectionError) for outcome in outcomes)
    finally:
        await inner.aclose()


async def test_deferred_calls_arriving_during_a_pipeline_keep_waiting_after_it(
    client: Counting,
) -> None:
    slow = asyncio.ensure_future(scripts.run(client, SLOW, "k", 2_000_000, "slow"))
    await client.sent.wait()
    with scripts.deferred(60.0):
        waiting = asyncio.ensure_future(scripts.run(client, ECHO, "k", "deferred"))
    assert _decoded(await slow) == "slow"
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiting.done() and client.sizes == [1]  # not sent on its own after the slow one
    assert _decoded(await scripts.run(client, ECHO, "k", "urgent"))[1] == "urgent"
    assert _decoded(await waiting)[1] == "deferred"
    assert client.sizes == [1, 2]


async def test_a_client_nobody_holds_any_more_is_not_kept_alive(redis_url: str) -> None:  # noqa: F811
    import gc
    import weakref

    import redis.asyncio as redis_asyncio

    inner = redis_asyncio.Redis.from_url(redis_url)
    assert _decoded(await scripts.run(inner, ECHO, "k", "once"))[1] == "once"
    await inner.aclose()
    alive = weakref.ref(inner)
    del inner
    gc.collect()
    assert alive() is None  # the pipelining state does not pin it


async def test_a_connection_the_server_dropped_is_replaced_without_failing_the_call(
    redis_url: str,  # noqa: F811
) -> None:
    import redis.asyncio as redis_asyncio

    inner = redis_asyncio.Redis.from_url(redis_url)
    admin = redis_asyncio.Redis.from_url(redis_url)
    try:
        assert _decoded(await scripts.run(inner, ECHO, "k", "before"))[1] == "before"
        killed = await admin.client_kill_filter(_type="normal", skipme=True)
        assert killed >= 1  # the pipelines' connection among them (as after a restart)
        assert _decoded(await scripts.run(inner, ECHO, "k", "after"))[1] == "after"
    finally:
        await admin.aclose()
        await inner.aclose()
