"""Complete, stream and embed through each cache backend, against a counting fake host."""

from __future__ import annotations

from typing import Any

import anyio
import attrs
import pytest

from llmkit import errors
from llmkit.cache import MemoryCache, using
from llmkit.events import Hooks, using_hooks
from llmkit.types import Cost, Message, Request, StreamEvent, to_dict
from tests.cache._host import Host

REQUEST = Request(model="test-model", messages=[Message.user("What is 2+2?")])


def _events(items: list[StreamEvent]) -> list[Any]:
    return [to_dict(e) | {"raw": None} for e in items]


async def test_complete_hit_is_the_original_with_cached_and_zero_cost(cache: Any) -> None:
    host = Host()
    provider = host.provider(cache)
    first = await provider.complete(REQUEST)
    second = await provider.complete(REQUEST)
    assert len(host.chat) == 1
    assert not first.cached and second.cached
    assert second.cost == Cost(total=0.0, source="cache")
    assert second.usage == first.usage and second.usage.input_tokens == 11
    assert second == attrs.evolve(first, cached=True, cost=Cost(total=0.0, source="cache"))
    other = await provider.complete(attrs.evolve(REQUEST, temperature=0.5))
    assert not other.cached and len(host.chat) == 2  # another parameter, another key


async def test_per_call_bypass_and_ttl(cache: Any) -> None:
    host = Host()
    provider = host.provider(cache)
    with using(cache=False):
        await provider.complete(REQUEST)
        await provider.complete(REQUEST)
    assert len(host.chat) == 2
    with using(cache_ttl=0.3):
        await provider.complete(REQUEST)
    await anyio.sleep(0.6)
    assert not (await provider.complete(REQUEST)).cached  # expired after its own TTL
    assert (await provider.complete(REQUEST)).cached  # stored again, with the default TTL
    assert len(host.chat) == 4


async def test_stream_replays_every_event_exactly(cache: Any) -> None:
    host = Host()
    provider = host.provider(cache)
    live = provider.stream(REQUEST)
    first = [event async for event in live]
    replay = provider.stream(REQUEST)
    second = [event async for event in replay]
    assert len(host.chat) == 1
    assert _events(second) == _events(first)
    assert any(e.reasoning for e in second) and any(e.tool_call for e in second)
    assert second[-1].usage is not None and second[-1].usage.output_tokens == 9
    assert replay.response.cached and not live.response.cached
    assert replay.response.reasoning == "The user wants the weather."
    assert replay.response.tool_calls == live.response.tool_calls
    assert replay.response.tool_calls[0].arguments == {"city": "Paris"}
    assert replay.response == attrs.evolve(
        live.response, cached=True, cost=Cost(total=0.0, source="cache")
    )


async def test_failed_abandoned_and_error_replies_are_not_stored(cache: Any) -> None:
    host = Host()
    provider = host.provider(cache)
    host.cut_after = 4  # the body ends mid-reply: no finish, no [DONE]
    with pytest.raises(errors.LLMError):
        async for _ in provider.stream(REQUEST):
            pass
    host.cut_after = None
    stream = provider.stream(REQUEST)
    async for _ in stream:
        break  # the caller leaves early
    await stream.aclose()
    host.status = 400
    for _ in range(2):
        with pytest.raises(errors.InvalidRequestError):
            await provider.complete(REQUEST)
    host.status = 200
    whole = await provider.stream(REQUEST).collect()
    assert not whole.cached
    assert len(host.chat) == 5  # nothing above was served from the cache
    assert (await provider.stream(REQUEST).collect()).cached


async def test_concurrent_identical_requests_reach_the_host_once(cache: Any) -> None:
    host = Host(delay=0.05)
    provider = host.provider(cache)
    replies: list[Any] = []

    async def ask() -> None:
        replies.append(await provider.complete(REQUEST))

    async with anyio.create_task_group() as tasks:
        for _ in range(8):
            tasks.start_soon(ask)
    assert len(host.chat) == 1
    assert sum(r.cached for r in replies) == 7


async def test_embeddings_are_cached_per_input(cache: Any) -> None:
    host = Host()
    provider = host.provider(cache)
    first = await provider.embed(["alpha", "be"], model="emb")
    second = await provider.embed(["be", "gamma!", "alpha", "gamma!"], model="emb")
    assert host.embedded == [["alpha", "be"], ["gamma!"]]  # only the new text, once
    assert second.cached == 2
    assert second.vectors[0] == first.vectors[1] and second.vectors[2] == first.vectors[0]
    assert second.vectors[1] == second.vectors[3] == (6.0, 0.0, 0.5)
    again = await provider.embed(["be"], model="emb", dimensions=2)
    assert again.cached == 0  # other dimensions, other key


async def test_events_report_hits_misses_and_bytes(cache: Any) -> None:
    host = Host()
    provider = host.provider(cache)
    seen: list[tuple[str | None, int | None]] = []
    hooks = Hooks()
    hooks.on_cache(lambda event: seen.append((event.reason, event.size)))
    with using_hooks(hooks):
        await provider.complete(REQUEST)
        await provider.complete(REQUEST)
    reasons = [reason for reason, _ in seen]
    assert reasons == ["miss", "store", "hit"]
    assert seen[1][1] == seen[2][1] and (seen[2][1] or 0) > 100
    stats = await cache.stats()
    assert stats.entries == 1 and stats.hits >= 1 and stats.bytes == seen[1][1]
    assert await cache.clear() == 1
    assert (await cache.stats()).entries == 0


async def test_two_servers_of_one_kind_never_share_entries() -> None:
    cache = MemoryCache(10)
    one, two = Host(), Host()
    first = one.provider(cache)
    second = two.provider(cache)
    second.base_url = "http://other-host.test/v1"
    await first.complete(REQUEST)
    assert not (await second.complete(REQUEST)).cached
    assert (await first.complete(REQUEST)).cached
    assert len(one.chat) == len(two.chat) == 1


def test_the_same_host_on_another_api_is_keyed_apart() -> None:
    """`api="responses"` and `api="chat"` on one host answer in different shapes: never shared."""
    from llmkit.cache._through import _names
    from llmkit.providers import OpenAIProvider

    chat = OpenAIProvider(api_key="sk-test", api="chat")
    responses = OpenAIProvider(api_key="sk-test", api="responses")
    assert _names(chat)[1] != _names(responses)[1]
    assert _names(chat)[0] == _names(responses)[0] == "openai"
