"""`cache=` on a model client: keyed on the request as the family prepared it, the finished
reply stored, per-call `cache=False` / `cache_ttl=`, costs and budgets see a zero."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from llmkit.cache import MemoryCache, RedisCache, cached_complete
from llmkit.clients import DeepSeekClient
from llmkit.cost import CostTracker
from llmkit.errors import ConfigurationError
from llmkit.testing import FakeProvider
from llmkit.types import Message, Request, Response, to_dict


def _client(cache: Any, replies: tuple[Any, ...] = ()) -> tuple[DeepSeekClient, FakeProvider]:
    fake = FakeProvider(replies, name="deepseek")
    return DeepSeekClient(provider=fake, cache=cache, cost_tracker=CostTracker()), fake


async def test_generate_hit_costs_nothing_and_keeps_usage() -> None:
    client, fake = _client(MemoryCache())
    first = await client.generate("Explain SSE")
    second = await client.generate("Explain SSE")
    assert len(fake.requests) == 1
    assert second.cached and second.text == first.text and second.usage == first.usage
    assert first.cost is not None and first.cost.total > 0
    assert second.cost is not None and second.cost.total == 0.0
    tracker = client.cost_tracker
    assert tracker is not None
    assert tracker.total == pytest.approx(first.cost.total)
    await client.generate("Explain SSE", temperature=0.1)
    assert len(fake.requests) == 2  # another parameter is another request


async def test_per_call_bypass_and_ttl() -> None:
    now = [0.0]
    client, fake = _client(MemoryCache(clock=lambda: now[0]))
    await client.generate("hi", cache=False)
    assert not (await client.generate("hi", cache=False)).cached
    assert len(fake.requests) == 2
    await client.generate("hi", cache_ttl=10)
    now[0] = 5
    assert (await client.generate("hi")).cached
    now[0] = 11
    assert not (await client.generate("hi")).cached
    with pytest.raises(ConfigurationError, match="True or False"):
        await client.generate("hi", cache="yes")  # type: ignore[typeddict-item]


async def test_stream_replays_the_family_rewritten_events() -> None:
    reply = Response(text="<think>Two and two.</think>Four.")
    client, fake = _client(MemoryCache(), (reply, reply))
    live = client.stream("2+2?", model="deepseek-r1-distill-llama-70b")
    first = [to_dict(e) for e in [event async for event in live]]
    replay = client.stream("2+2?", model="deepseek-r1-distill-llama-70b")
    second = [to_dict(e) for e in [event async for event in replay]]
    assert len(fake.requests) == 1
    assert second == first
    assert replay.response.cached and replay.response.text == live.response.text
    assert replay.response.reasoning == live.response.reasoning
    bypass = client.stream("2+2?", model="deepseek-r1-distill-llama-70b", cache=False)
    assert not (await bypass.collect()).cached
    assert len(fake.requests) == 2


async def test_redis_single_flight_across_two_processes(redis_url: str) -> None:
    # two RedisCache objects share nothing in memory, as two processes would
    one = RedisCache(redis_url, prefix="flight:")
    two = RedisCache(redis_url, prefix="flight:")
    await one.clear()
    sent: list[int] = []
    request = Request(model="m", messages=[Message.user("same")])

    async def send() -> Response:
        sent.append(1)
        await anyio.sleep(0.2)
        return Response(text="once")

    results: list[Response] = []

    async def ask(cache: RedisCache) -> None:
        results.append(await cached_complete(cache, "p", request, send))

    async with anyio.create_task_group() as tasks:
        for cache in (one, two, one, two):
            tasks.start_soon(ask, cache)
    assert len(sent) == 1
    assert sorted(r.cached for r in results) == [False, True, True, True]
    await one.clear()
    await one.aclose()
    await two.aclose()


def test_a_spec_string_names_the_backend(tmp_path: Any) -> None:
    from llmkit.cache import DiskCache
    from llmkit.embeddings import EmbeddingClient
    from llmkit.providers import OpenAICompatibleProvider

    client, _ = _client(str(tmp_path / "c.db"))
    assert isinstance(client.cache, DiskCache) and client.cache.path == tmp_path / "c.db"
    provider = OpenAICompatibleProvider(base_url="http://h.test/v1", cache="memory:10")
    assert isinstance(provider.cache, MemoryCache) and provider.cache.max_entries == 10
    assert isinstance(EmbeddingClient(FakeProvider(), cache="memory").cache, MemoryCache)
