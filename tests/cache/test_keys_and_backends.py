"""Cache keys (stable across runs and Python versions) and the backends' own rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from llmkit.cache import DiskCache, MemoryCache, embedding_keys, open_cache, request_key
from llmkit.cache._key import canonical, canonical_request
from llmkit.errors import ConfigurationError
from llmkit.types import Message, Request, ToolSpec

ROOT = Path(__file__).resolve().parents[2]

REQUEST = Request(
    model="gpt-5.6",
    messages=[Message.system("Be brief."), Message.user("Héllo ✓")],
    temperature=0.7,
    max_tokens=64,
    tools=[ToolSpec("get_weather", "Weather", {"type": "object", "properties": {"city": {}}})],
    response_format={"type": "json_object"},
    seed=7,
)
# The canonical text of REQUEST and its SHA-256, written down once: if either changes,
# every cache in the field stops hitting, so a change must bump `_key.VERSION` on purpose.
CANONICAL = (
    "llmkit-cache/1|complete|6:openai|7:gpt-5.6|msystem9:Be brief.|muser7:H\u00e9llo \u2713"
    '|temperature=0.7|max_tokens=64|seed=7|tools=[{"description":"Weather","name":'
    '"get_weather","parameters":{"properties":{"city":{}},"type":"object"}}]'
    '|response_format={"type":"json_object"}'
)
KEY = "llmkit:complete:1b99dc5c66c362b5201fdf7e8ff781a7aade13283b40313e1f74bc78a17236c0"


def test_key_is_the_sha256_of_the_canonical_request() -> None:
    import hashlib

    assert canonical_request("openai", REQUEST) == CANONICAL
    assert hashlib.sha256(CANONICAL.encode()).hexdigest() == KEY.removeprefix("llmkit:complete:")
    assert request_key("openai", REQUEST) == KEY


def test_other_shapes_are_keyed_by_their_whole_plain_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llmkit.cache import _key

    monkeypatch.setattr(_key, "_FAST", False)
    text = canonical_request("openai", REQUEST)
    assert text.startswith("llmkit-cache/1|complete|6:openai|plain={") and '"seed":7' in text
    assert request_key("openai", REQUEST) != KEY


def test_key_is_the_same_in_another_process_with_another_hash_seed() -> None:
    code = textwrap.dedent(
        """
        from tests.cache.test_keys_and_backends import REQUEST
        from llmkit.cache import request_key
        print(request_key("openai", REQUEST))
        """
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    assert out.stdout.strip() == request_key("openai", REQUEST)


def test_key_changes_with_what_is_sent_and_never_holds_secrets() -> None:
    base = request_key("openai", REQUEST)
    assert request_key("groq", REQUEST) != base
    assert request_key("openai", REQUEST, kind="stream") != base
    from attrs import evolve

    assert request_key("openai", evolve(REQUEST, temperature=0.70000001)) != base
    assert request_key("openai", evolve(REQUEST, extra={"user": "u1"})) != base
    assert "Héllo" not in base and len(base) < 100
    assert canonical({"b": b"\x00\xff"}) == (
        b'{"b":{"sha256":"' + __import__("hashlib").sha256(b"\x00\xff").hexdigest().encode()
        + b'"}}'
    )  # fmt: skip


def test_embedding_keys_one_per_input() -> None:
    keys = embedding_keys("openai", ["a", "b", "a"], model="m", kind=None, dimensions=None)
    assert keys[0] == keys[2] != keys[1]
    assert keys != embedding_keys(
        "openai", ["a", "b", "a"], model="m", kind="query", dimensions=None
    )


async def test_memory_cache_evicts_the_least_recently_used_and_expires() -> None:
    now = [0.0]
    cache = MemoryCache(2, ttl=10, clock=lambda: now[0])
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    assert await cache.get("a") == b"1"  # a is now the most recent
    await cache.set("c", b"3")
    assert await cache.get("b") is None and await cache.get("c") == b"3"
    now[0] = 11
    assert await cache.get("a") is None
    stats = await cache.stats()
    assert (stats.entries, stats.hits, stats.misses) == (1, 2, 2)
    with pytest.raises(ConfigurationError):
        MemoryCache(0)


_WRITER = textwrap.dedent(
    """
    import asyncio, json, sys
    from llmkit.cache import DiskCache, cached_complete
    from llmkit.types import Message, Request, Response, Usage

    async def main(path, start, count):
        cache = DiskCache(path)
        sent = []
        async def send(i):
            sent.append(i)
            return Response(text=f"reply {i}", usage=Usage(input_tokens=i, output_tokens=1))
        cached = 0
        for i in range(start, start + count):
            request = Request(model="m", messages=[Message.user(f"q{i % 40}")])
            reply = await cached_complete(cache, "p", request, lambda i=i: send(i % 40))
            assert reply.text == f"reply {i % 40}", reply.text
            cached += reply.cached
        cache.close()
        print(json.dumps({"sent": len(sent), "cached": cached}))

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    """
)


def test_disk_cache_is_shared_by_two_processes_writing_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(start), "200"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for start in (0, 200)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    # 40 distinct questions, 200 asks each: at most one send per question per process
    # (the two may race on the same question), every other ask served by the file
    assert all(r["sent"] + r["cached"] == 200 and r["sent"] <= 40 for r in results)
    third = subprocess.run(
        [sys.executable, "-c", _WRITER, str(path), "0", "40"], cwd=ROOT, capture_output=True,
        text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(third.stdout) == {"sent": 0, "cached": 40}
    stats = anyio.run(DiskCache(path).stats)
    assert stats.entries == 40 and stats.hits >= 40 + 320


async def test_disk_cache_expiry_clear_and_a_bad_path(tmp_path: Path) -> None:
    now = [1000.0]
    cache = DiskCache(tmp_path / "sub" / "c.db", ttl=5, clock=lambda: now[0])
    await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    now[0] += 5
    assert await cache.get("k") is None
    await cache.set("k", b"v", ttl=60)
    assert await cache.clear() == 1
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError, match="writable path"):
        await DiskCache(tmp_path / "file" / "c.db").get("k")


def test_open_cache_from_a_string(tmp_path: Path) -> None:
    assert isinstance(open_cache("memory:5"), MemoryCache)
    assert isinstance(open_cache(str(tmp_path / "x.db")), DiskCache)
    assert type(open_cache("redis://localhost:6379/0")).__name__ == "RedisCache"
    assert "secret" not in repr(open_cache("redis://:secret@localhost:6379/0"))
