"""A response cache for providers, clients and embeddings: memory, SQLite or Redis.

    from llmkit.cache import DiskCache
    client = DeepSeekClient(provider=DeepSeekProvider(), cache=DiskCache("responses.db"))
    provider.cache = MemoryCache(max_entries=10_000)      # or on the provider itself

The key is a hash of the canonical request as sent (`llmkit.cache._key`);
a hit returns the original reply with `cached=True` and zero cost; streams
replay event by event; embeddings are cached per input. Per call,
`client.generate(..., cache=False)` bypasses and `cache_ttl=` overrides the
default time to live (`llmkit.cache.using(...)` does the same for a block).
Backends: `MemoryCache` (this process), `DiskCache` (one SQLite file, any
number of processes), `RedisCache` (every process and machine; needs
`llmkit[redis]`). Nothing here is imported by `import llmkit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmkit.cache._base import Cache, CacheStats
from llmkit.cache._key import embedding_keys, request_key
from llmkit.cache._through import (
    cached_complete,
    cached_stream,
    call_with_settings,
    embed_cached,
    settings,
    stream_with_settings,
    using,
)
from llmkit.cache.disk import DiskCache
from llmkit.cache.memory import MemoryCache

if TYPE_CHECKING:
    from llmkit.cache.redis import RedisCache

__all__ = [
    "Cache",
    "CacheStats",
    "DiskCache",
    "MemoryCache",
    "RedisCache",
    "cached_complete",
    "cached_stream",
    "call_with_settings",
    "embed_cached",
    "embedding_keys",
    "open_cache",
    "request_key",
    "settings",
    "stream_with_settings",
    "using",
]


def __getattr__(name: str) -> object:
    if name == "RedisCache":  # its module is light, but keep `redis` out until it is asked for
        from llmkit.cache.redis import RedisCache

        return RedisCache
    raise AttributeError(f"module 'llmkit.cache' has no attribute {name!r}")


def open_cache(spec: str, *, ttl: float | None = None) -> Cache:
    """A cache from a string: `memory`, `memory:5000`, a file path, `sqlite:///path`, or a
    `redis://` URL (what `llmkit cache` and configuration files take)."""
    from llmkit.cache.redis import RedisCache

    if spec == "memory" or spec.startswith("memory:"):
        size = spec.partition(":")[2]
        return MemoryCache(int(size) if size else 1024, ttl=ttl)
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisCache(spec, ttl=ttl)
    return DiskCache(spec.removeprefix("sqlite:///"), ttl=ttl)  # `~` is expanded
