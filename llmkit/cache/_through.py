"""Calls through a cache: complete, stream and embed, with per-call settings and events.

`cached_complete` and `cached_stream` serve a stored reply, or send and
store the new one; `embed_cached` does the same per input. What is stored:
a reply's plain data (`llmkit.types.to_dict`, without `raw`), and for a
stream every event as well, so a hit replays the same events in the same
order (text, reasoning, tool-call deltas, the final usage). A stream is
stored only once it ended cleanly: a stream that failed or that the caller
left early is not, and errors never are. Concurrent identical requests wait
for the first (`Cache.single_flight`).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from llmkit import events
from llmkit.cache._key import embedding_keys, request_key
from llmkit.errors import ConfigurationError
from llmkit.providers._stream import ResponseStream
from llmkit.types import (
    Cost,
    Embeddings,
    Request,
    Response,
    StreamEvent,
    Usage,
    from_dict,
    to_dict,
)

if TYPE_CHECKING:
    from llmkit.cache._base import Cache

__all__ = [
    "cached_complete",
    "cached_stream",
    "call_with_settings",
    "embed_cached",
    "settings",
    "stream_with_settings",
    "using",
]

T = TypeVar("T")

ZERO = Cost(total=0.0, source="cache")
"""The cost of a reply served from the cache."""

_settings: contextvars.ContextVar[tuple[bool, float | None]] = contextvars.ContextVar(
    "llmkit_cache", default=(True, None)
)


def settings() -> tuple[bool, float | None]:
    """This call's cache settings: `(enabled, ttl)` (ttl None: the cache's default)."""
    return _settings.get()


@contextlib.contextmanager
def using(*, cache: bool = True, cache_ttl: float | None = None) -> Iterator[None]:
    """Within the block, calls bypass the cache (`cache=False`) or store for `cache_ttl` s."""
    token = _settings.set((cache, cache_ttl))
    try:
        yield
    finally:
        _settings.reset(token)


def _split(options: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[bool, float | None]]:
    rest = {k: v for k, v in options.items() if k not in ("cache", "cache_ttl")}
    enabled = options.get("cache", True)
    if not isinstance(enabled, bool):
        raise ConfigurationError(
            f"cache={enabled!r} per call: True or False (the backend is the client's `cache=`)"
        )
    return rest, (enabled, options.get("cache_ttl"))


async def call_with_settings(call: Callable[..., Awaitable[T]], prompt: Any, options: Any) -> T:
    """`call(prompt, **options)` with the call's `cache=` / `cache_ttl=` in effect."""
    rest, chosen = _split(options)
    token = _settings.set(chosen)
    try:
        return await call(prompt, **rest)
    finally:
        _settings.reset(token)


def stream_with_settings(
    call: Callable[..., ResponseStream], prompt: Any, options: Any
) -> ResponseStream:
    """`call(prompt, **options)`'s stream, each step run with the call's cache settings."""
    rest, chosen = _split(options)
    inner = call(prompt, **rest)

    async def steps() -> AsyncIterator[StreamEvent]:
        try:
            while True:
                token = _settings.set(chosen)
                try:
                    event = await anext(inner, None)
                finally:
                    _settings.reset(token)
                if event is None:
                    return
                yield event
        finally:
            await inner.aclose()

    return ResponseStream(
        steps, provider=None, finish=lambda timed: attrs.evolve(inner.response, latency=timed.latency),
        fold=False,
    )  # fmt: skip


def _names(provider: Any) -> tuple[str, str]:
    """(the name events report, the name keys hash) of a provider or a provider's name.

    A provider object is keyed with its `base_url` too, so two servers of one kind
    (two OpenAI-compatible servers, two Azure resources) never share entries; the URL
    only enters the hash, never an event or a log.
    """
    if isinstance(provider, str):
        return provider, provider
    name = str(provider.name)
    where = getattr(provider, "base_url", None)
    keyed = f"{name} {where}" if where else name
    api = getattr(provider, "api", None)  # one host, two APIs (chat, responses): two entries
    return name, f"{keyed} api={api}" if isinstance(api, str) and api != "chat" else keyed


def _dump(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _event_data(event: StreamEvent) -> dict[str, Any]:
    data: dict[str, Any] = to_dict(event)
    data.pop("raw", None)
    return {k: v for k, v in data.items() if v not in (None, "", {})}


def _hit(stored: Response) -> Response:
    """A stored reply as a hit: `cached`, zero cost; usage and latency as the first time."""
    return attrs.evolve(stored, cached=True, cost=ZERO)


async def cached_complete(
    cache: Cache, provider: Any, request: Request, send: Callable[[], Awaitable[Response]]
) -> Response:
    """`send()`'s reply to `request`, from `cache` when it holds one (then `cached=True`).

    `provider` is the provider (keyed with its `base_url`) or a name.
    """
    enabled, ttl = _settings.get()
    if not enabled:
        return await send()
    provider, keyed = _names(provider)
    key = request_key(keyed, request)
    recall = getattr(cache, "recall", None)  # MemoryCache: the hit, already decoded
    if recall is not None and (found := recall(key)) is not None:
        events.caching("hit", provider=provider, model=request.model, size=found[1])
        return found[0]  # type: ignore[no-any-return]
    data = await cache.get(key)
    if data is None:
        async with cache.single_flight(key) as waited:
            if waited:
                data = await cache.get(key)
            if data is None:
                events.caching("miss", provider=provider, model=request.model, size=None)
                response = await send()
                blob = _dump({"response": to_dict(response)})
                await cache.set(key, blob, ttl)
                if recall is not None:
                    cache.remember(key, _hit(response))  # type: ignore[attr-defined]
                events.caching("store", provider=provider, model=request.model, size=len(blob))
                return response
    events.caching("hit", provider=provider, model=request.model, size=len(data))
    return _hit(from_dict(json.loads(data)["response"], Response))


def cached_stream(
    cache: Cache, provider: Any, request: Request, stream: ResponseStream
) -> ResponseStream:
    """`stream`, or the events of the same stream stored earlier, replayed in order."""
    enabled, ttl = _settings.get()
    if not enabled:
        return stream
    provider, keyed = _names(provider)
    key = request_key(keyed, request, kind="stream")
    result: list[Response] = []

    async def replay() -> AsyncIterator[StreamEvent]:
        data = await cache.get(key)
        if data is None:
            async with cache.single_flight(key) as waited:
                if waited:
                    data = await cache.get(key)
                if data is None:
                    events.caching("miss", provider=provider, model=request.model, size=None)
                    recorded: list[dict[str, Any]] = []
                    try:
                        async for event in stream:
                            recorded.append(_event_data(event))
                            yield event
                    finally:
                        await stream.aclose()
                    response = stream.response  # only a stream that ended cleanly gets here
                    result.append(response)
                    blob = _dump({"response": to_dict(response), "events": recorded})
                    await cache.set(key, blob, ttl)
                    events.caching("store", provider=provider, model=request.model, size=len(blob))
                    return
        await stream.aclose()  # never started: nothing was sent
        events.caching("hit", provider=provider, model=request.model, size=len(data))
        entry = json.loads(data)
        result.append(_hit(from_dict(entry["response"], Response)))
        for item in entry["events"]:
            yield from_dict(item, StreamEvent)

    return ResponseStream(replay, provider=provider, finish=lambda _: result[-1], fold=False)


async def embed_cached(
    cache: Cache,
    provider: Any,
    texts: Sequence[str],
    *,
    model: str,
    kind: str | None,
    dimensions: int | None,
    send: Callable[[list[str]], Awaitable[Embeddings]],
) -> Embeddings:
    """Vectors for `texts`: stored ones from `cache`, the rest from `send` (then stored)."""
    enabled, ttl = _settings.get()
    if not enabled:
        return await send(list(texts))
    provider, keyed = _names(provider)
    keys = embedding_keys(keyed, texts, model=model, kind=kind, dimensions=dimensions)
    vectors: list[Any] = [None] * len(texts)
    named = model
    hits = 0
    for index, key in enumerate(keys):
        data = await cache.get(key)
        if data is not None:
            entry = json.loads(data)
            vectors[index], named = entry["v"], entry.get("m") or named
            hits += 1
            events.caching("hit", provider=provider, model=model, size=len(data))
    missing = list(dict.fromkeys(t for t, v in zip(texts, vectors, strict=True) if v is None))
    usage = Usage(input_tokens=0)
    if missing:
        events.caching("miss", provider=provider, model=model, size=None)
        fresh = await send(missing)
        usage, named = fresh.usage, fresh.model or named
        by_text = dict(zip(missing, fresh.vectors, strict=True))
        stored: set[str] = set()
        for index, (text, key) in enumerate(zip(texts, keys, strict=True)):
            if vectors[index] is None:
                vectors[index] = by_text[text]
                if key not in stored:
                    stored.add(key)
                    blob = _dump({"v": list(by_text[text]), "m": fresh.model})
                    await cache.set(key, blob, ttl)
                    events.caching("store", provider=provider, model=model, size=len(blob))
    return Embeddings(vectors, model=named, provider=provider, usage=usage, cached=hits)
