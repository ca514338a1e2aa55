"""Minted keys: created, listed and revoked by the master key at `/keys`.

A minted key is `sk-llmkit-` and 32 random bytes (url-safe); only its SHA-256
digest is stored, with its name, allow-list, limits, budget and metadata. The
store is Redis with `server.redis_url` (every replica sees a key as soon as it is
minted, and stops accepting it as soon as it is revoked), else SQLite at
`server.key_store`, else this process's memory (lost on restart; say so).
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from llmkit.server.keys import ApiKey, digest
from llmkit.server.wire import WireError

if TYPE_CHECKING:
    from llmkit._config_schema import ServerConfig

__all__ = ["KeyStore", "open_store"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_FIELDS = {"name", "models", "budget", "rate_limit", "metadata"}


class _Backend(Protocol):
    async def put(self, name: str, key_digest: str, record: str) -> bool: ...
    async def by_digest(self, key_digest: str) -> str | None: ...
    async def by_name(self, name: str) -> str | None: ...
    async def delete(self, name: str) -> bool: ...
    async def all(self) -> list[str]: ...
    async def aclose(self) -> None: ...


class KeyStore:
    """Minted keys over one backend; `find` caches built keys (revocation is checked each time)."""

    def __init__(self, backend: _Backend, redis_url: str | None, redis_client: Any = None) -> None:
        self.backend = backend
        self.redis_url = redis_url
        self.redis_client = redis_client
        self._built: dict[str, ApiKey] = {}

    async def mint(self, body: Any, *, configured: list[str]) -> tuple[dict[str, Any], str]:
        """A new key from `{name, models?, budget?, rate_limit?, metadata?}`; returns its
        description and the key itself (shown once, never stored)."""
        record = _check(body)
        if record["name"] in configured:
            raise WireError("a key of that name is configured in server.keys", "name")
        token = "sk-llmkit-" + secrets.token_urlsafe(32)
        record["created"] = int(time.time())
        if not await self.backend.put(record["name"], digest(token), json.dumps(record)):
            raise WireError("a minted key of that name exists; revoke it first", "name")
        return record, token

    async def find(self, key_digest: str) -> ApiKey | None:
        """The minted key with this digest, if it exists (and was not revoked)."""
        raw = await self.backend.by_digest(key_digest)
        if raw is None:
            self._built.pop(key_digest, None)
            return None
        key = self._built.get(key_digest)
        if key is None:
            record = json.loads(raw)
            key = ApiKey.build(
                record["name"],
                models=record.get("models"),
                rate_limit=record.get("rate_limit"),
                budget=record.get("budget"),
                metadata=record.get("metadata"),
                redis_url=self.redis_url,
                redis_client=self.redis_client,
            )
            self._built[key_digest] = key
        return key

    async def describe(self, name: str) -> dict[str, Any] | None:
        """A minted key's settings (never the key)."""
        raw = await self.backend.by_name(name)
        return None if raw is None else dict(json.loads(raw))

    async def list(self) -> list[dict[str, Any]]:
        """Every minted key's settings."""
        return sorted(
            (json.loads(raw) for raw in await self.backend.all()), key=lambda r: r["name"]
        )

    async def revoke(self, name: str) -> bool:
        """Delete the key called `name`; False when there is none."""
        return await self.backend.delete(name)

    async def aclose(self) -> None:
        """Close the backend's connections."""
        await self.backend.aclose()


def _check(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise WireError("expected a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise WireError(
            f"unknown field '{unknown[0]}' (known: {', '.join(sorted(_FIELDS))})", unknown[0]
        )
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise WireError("required: letters, digits, '.', '_' or '-' (at most 64)", "name")
    from llmkit._config_schema import ServerKeyConfig, structure

    settings = {k: v for k, v in body.items() if k != "name"}
    _, problems = structure({"server": {"keys": {name: {**settings, "key_sha256": "0" * 64}}}})
    if problems:
        path, message = problems[0]
        raise WireError(message, path.removeprefix(f"server.keys.{name}.") or None)
    _ = ServerKeyConfig
    return {"name": name, **settings}


# -- backends ----------------------------------------------------------------------------


class MemoryBackend:
    """This process only; minted keys are lost on restart."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[str, str]] = {}

    async def put(self, name: str, key_digest: str, record: str) -> bool:
        if name in self.records:
            return False
        self.records[name] = (key_digest, record)
        return True

    async def by_digest(self, key_digest: str) -> str | None:
        for stored, record in self.records.values():
            if secrets.compare_digest(stored, key_digest):
                return record
        return None

    async def by_name(self, name: str) -> str | None:
        found = self.records.get(name)
        return None if found is None else found[1]

    async def delete(self, name: str) -> bool:
        return self.records.pop(name, None) is not None

    async def all(self) -> list[str]:
        return [record for _, record in self.records.values()]

    async def aclose(self) -> None:
        return None


class SQLiteBackend:
    """A SQLite file; several workers on one machine share it."""

    def __init__(self, path: str) -> None:
        self.path = path
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS keys (name TEXT PRIMARY KEY, digest TEXT UNIQUE, record TEXT)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    async def _run(self, sql: str, *args: Any) -> list[Any]:
        def work() -> list[Any]:
            db = self._connect()
            try:
                with db:
                    cursor = db.execute(sql, args)
                    return [cursor.rowcount, *cursor.fetchall()]
            finally:
                db.close()

        return await anyio.to_thread.run_sync(work)

    async def put(self, name: str, key_digest: str, record: str) -> bool:
        try:
            await self._run("INSERT INTO keys VALUES (?, ?, ?)", name, key_digest, record)
        except sqlite3.IntegrityError:
            return False
        return True

    async def by_digest(self, key_digest: str) -> str | None:
        rows = await self._run("SELECT record FROM keys WHERE digest = ?", key_digest)
        return rows[1][0] if len(rows) > 1 else None

    async def by_name(self, name: str) -> str | None:
        rows = await self._run("SELECT record FROM keys WHERE name = ?", name)
        return rows[1][0] if len(rows) > 1 else None

    async def delete(self, name: str) -> bool:
        rows = await self._run("DELETE FROM keys WHERE name = ?", name)
        return bool(rows[0] > 0)

    async def all(self) -> list[str]:
        rows = await self._run("SELECT record FROM keys")
        return [row[0] for row in rows[1:]]

    async def aclose(self) -> None:
        return None


class RedisBackend:
    """Redis: `llmkit:gateway:key:<digest>` → record, `llmkit:gateway:name:<name>` → digest."""

    def __init__(self, client: Any) -> None:
        self._client = client  # the gateway's, closed by the gateway

    def _redis(self) -> Any:
        return self._client

    async def put(self, name: str, key_digest: str, record: str) -> bool:
        redis = self._redis()
        if not await redis.set(f"llmkit:gateway:name:{name}", key_digest, nx=True):
            return False
        await redis.set(f"llmkit:gateway:key:{key_digest}", record)
        return True

    async def by_digest(self, key_digest: str) -> str | None:
        value = await self._redis().get(f"llmkit:gateway:key:{key_digest}")
        return None if value is None else _text(value)

    async def by_name(self, name: str) -> str | None:
        found = await self._redis().get(f"llmkit:gateway:name:{name}")
        return None if found is None else await self.by_digest(_text(found))

    async def delete(self, name: str) -> bool:
        redis = self._redis()
        found = await redis.getdel(f"llmkit:gateway:name:{name}")
        if found is None:
            return False
        await redis.delete(f"llmkit:gateway:key:{_text(found)}")
        return True

    async def all(self) -> list[str]:
        redis = self._redis()
        records = []
        async for name_key in redis.scan_iter(match="llmkit:gateway:name:*"):
            found = await redis.get(name_key)
            if found is not None and (record := await self.by_digest(_text(found))) is not None:
                records.append(record)
        return records

    async def aclose(self) -> None:
        return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def open_store(settings: ServerConfig, redis_url: str | None, redis_client: Any = None) -> KeyStore:
    """The store the settings name: Redis, else SQLite at `key_store`, else memory."""
    backend: _Backend
    if redis_url and redis_client is not None:
        backend = RedisBackend(redis_client)
    elif settings.key_store:
        backend = SQLiteBackend(settings.key_store)
    else:
        backend = MemoryBackend()
    return KeyStore(backend, redis_url, redis_client)
