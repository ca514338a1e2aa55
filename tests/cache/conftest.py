"""Cache fixtures: one test body runs on every backend (Redis on a real local server)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

try:  # a real redis-server on loopback, started once per module (skips without the binary)
    from tests.test_ratelimit_redis import redis_url
except pytest.skip.Exception:  # the redis package is missing

    @pytest.fixture(scope="module")
    def redis_url() -> str:
        pytest.skip("the redis package is not installed: pip install 'llmkit[redis]'")


@pytest.fixture(params=["memory", "disk", "redis"])
async def cache(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    from llmkit.cache import DiskCache, MemoryCache, RedisCache

    if request.param == "memory":
        yield MemoryCache(100)
    elif request.param == "disk":
        disk = DiskCache(tmp_path / "cache.db")
        yield disk
        disk.close()
    else:
        url = request.getfixturevalue("redis_url")
        redis = RedisCache(url, prefix=f"test:{uuid.uuid4().hex}:")
        yield redis
        await redis.clear()
        await redis.aclose()
