"""`DiskCache`: entries in one SQLite file, shared safely by every process that opens it.

SQLite serialises writers across processes (WAL journal, a busy timeout), so
any number of workers may read and write one file. Lookups are counted in
memory and added to the file's counters at most once a second (and on
`stats()`), so a hit costs one indexed read. Calls run on the event loop
thread: a point read or write on a local file takes tens of microseconds,
less than handing it to a worker thread would.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from llmkit.cache._base import CacheStats, Flights
from llmkit.errors import ConfigurationError

__all__ = ["DiskCache"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL, size INTEGER NOT NULL,
    stored REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('hits', 0), ('misses', 0);
"""
_FLUSH_EVERY = 1.0  # seconds between counter writes


class DiskCache:
    """A cache in a SQLite file (`path`), safe across processes.

    Example:
        client = DeepSeekClient(provider=..., cache=DiskCache("~/.cache/llmkit/responses.db"))
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ttl: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Args:
        path: the database file (created, with its folder, on first use).
        ttl: seconds an entry lives by default (None: until cleared).
        clock: Unix time (tests pass their own; processes sharing a file share the clock).
        """
        self.path = Path(path).expanduser()
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._s = _State()
        self._flights = Flights()
        # the counters reach the file when the cache is dropped or the process exits
        weakref.finalize(self, self._s.close, self._lock)

    def __repr__(self) -> str:
        return f"DiskCache({str(self.path)!r}, ttl={self.ttl})"

    def _db(self) -> sqlite3.Connection:
        if self._s.conn is None or self._s.pid != os.getpid():  # a forked child opens its own
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
            except (sqlite3.Error, OSError) as exc:
                raise ConfigurationError(
                    f"DiskCache cannot open {self.path} ({exc}); pass a writable path"
                ) from exc
            self._s.conn, self._s.pid = conn, os.getpid()
        return self._s.conn

    def get_nowait(self, key: str) -> bytes | None:
        """`get` without awaiting."""
        with self._lock:
            db = self._db()
            row = db.execute("SELECT value, expires FROM entries WHERE key = ?", (key,)).fetchone()
            if row is not None and row[1] is not None and row[1] <= self._clock():
                db.execute(
                    "DELETE FROM entries WHERE key = ? AND expires <= ?", (key, self._clock())
                )
                row = None
            if row is None:
                self._s.misses += 1
            else:
                self._s.hits += 1
            if time.monotonic() - self._s.flushed > _FLUSH_EVERY:
                self._flush(db)
        return None if row is None else bytes(row[0])

    async def get(self, key: str) -> bytes | None:
        """The value under `key`, or None."""
        return self.get_nowait(key)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value` (replacing an older one)."""
        life = self.ttl if ttl is None else ttl
        now = self._clock()
        with self._lock:
            self._db().execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)",
                (key, value, None if life is None else now + life, len(value), now),
            )

    def _flush(self, db: sqlite3.Connection) -> None:
        self._s.flush(db)

    async def clear(self) -> int:
        """Remove every entry and reset the counters."""
        with self._lock:
            db = self._db()
            count = int(db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
            db.execute("DELETE FROM entries")
            db.execute("UPDATE counters SET value = 0")
            self._s.hits = self._s.misses = 0
        return count

    async def prune(self) -> int:
        """Remove expired entries; returns how many."""
        with self._lock:
            cursor = self._db().execute("DELETE FROM entries WHERE expires <= ?", (self._clock(),))
        return cursor.rowcount

    async def stats(self) -> CacheStats:
        """Entries, bytes, hits and misses of every process that used this file."""
        with self._lock:
            db = self._db()
            self._flush(db)
            entries, size = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries WHERE "
                "expires IS NULL OR expires > ?",
                (self._clock(),),
            ).fetchone()
            counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
        return CacheStats(
            int(entries), int(size), int(counters.get("hits", 0)), int(counters.get("misses", 0)),
            backend="disk", where=str(self.path),
        )  # fmt: skip

    def single_flight(self, key: str) -> contextlib.AbstractAsyncContextManager[bool]:
        """Hold `key` while computing it (within this process)."""
        return self._flights.hold(key)

    def close(self) -> None:
        """Write the counters and close the file (it reopens on the next call)."""
        self._s.close(self._lock)


class _State:
    """The connection and the unwritten counters, apart from the cache so that a
    finaliser can write them when the cache object goes away."""

    def __init__(self) -> None:
        self.conn: sqlite3.Connection | None = None
        self.pid = 0
        self.hits = 0
        self.misses = 0
        self.flushed = time.monotonic()

    def flush(self, db: sqlite3.Connection) -> None:
        if self.hits or self.misses:
            db.execute(
                "UPDATE counters SET value = value + CASE name WHEN 'hits' THEN ? ELSE ? END",
                (self.hits, self.misses),
            )
            self.hits = self.misses = 0
        self.flushed = time.monotonic()

    def close(self, lock: threading.Lock) -> None:
        with lock:
            if self.conn is not None and self.pid == os.getpid():
                with contextlib.suppress(sqlite3.Error):
                    self.flush(self.conn)
                self.conn.close()
            self.conn = None
