"""`FakeProvider`'s batch API: jobs that complete after a scripted delay, offline.

A fake job's replies are drawn from the fake's script when it is submitted
(so `fake.requests` shows every request, as for live calls) and kept until
`batch_delay` seconds of wall-clock time have passed; then the job reads
`completed`. Jobs live in a directory of JSON files when the fake has a
`batch_dir` (or `$LLMKIT_FAKE_BATCH_DIR` is set), so a second process, the
`llmkit batch` commands for one, collects a job the first submitted; without
one they live in the fake's memory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from llmkit import errors
from llmkit.batches._types import BatchJob, BatchState, BatchStatus
from llmkit.errors import ConfigurationError, LLMError, NotFoundError
from llmkit.types import Request, Response, from_dict, to_dict

__all__ = ["ENV_DELAY", "ENV_DIR", "FakeBatches", "batch_dir"]

ENV_DIR = "LLMKIT_FAKE_BATCH_DIR"
"""Where fake batch jobs are kept when a fake has no `batch_dir` of its own."""
ENV_DELAY = "LLMKIT_FAKE_BATCH_DELAY"
"""Seconds a fake batch job takes when the fake has no `batch_delay` of its own."""

Item = tuple[str, Request]


def batch_dir(provider: Any) -> Path | None:
    """The fake's job directory: its `batch_dir`, else `$LLMKIT_FAKE_BATCH_DIR`, else None."""
    given = getattr(provider, "batch_dir", None) or os.environ.get(ENV_DIR)
    return Path(given) if given else None


class FakeBatches:
    """The fake host's batch API (see the module docstring)."""

    def _load(self, provider: Any, job_id: str) -> dict[str, Any]:
        directory = batch_dir(provider)
        record: dict[str, Any] | None
        if directory is None:
            record = _memory(provider).get(job_id)
        else:
            path = directory / f"{_safe(job_id)}.json"
            record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        if record is None:
            where = (
                f"in {directory}"
                if directory
                else f"in this FakeProvider (set {ENV_DIR} to share jobs between processes)"
            )
            raise NotFoundError(
                f"no fake batch {job_id!r} {where}", provider=provider.name, status_code=404
            )
        return record

    def _save(self, provider: Any, record: dict[str, Any]) -> None:
        directory = batch_dir(provider)
        if directory is None:
            _memory(provider)[record["id"]] = record
            return
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{_safe(record['id'])}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        temporary.replace(path)

    async def submit(self, provider: Any, items: Sequence[Item]) -> BatchJob:
        now = time.time()
        results = []
        for custom_id, request in items:
            try:
                reply, _ = provider._next(request)
                results.append({"custom_id": custom_id, "response": to_dict(reply)})
            except LLMError as error:
                results.append({"custom_id": custom_id, "error": _error_data(error)})
        record = {
            "id": f"fakebatch_{secrets.token_hex(8)}",
            "provider": provider.name,
            "created": now,
            "ready_at": now + _delay(provider),
            "expires": now + 86_400,
            "cancelled": False,
            "custom_ids": [cid for cid, _ in items],
            "models": [r.model for _, r in items],
            "results": results,
        }
        self._save(provider, record)
        return BatchJob(
            id=record["id"],
            provider=provider.name,
            custom_ids=tuple(record["custom_ids"]),
            models=tuple(record["models"]),
            created_at=_time(now),
            expires_at=_time(record["expires"]),
            data={"fake_dir": str(batch_dir(provider))} if batch_dir(provider) else {},
        )

    async def status(self, provider: Any, job: BatchJob) -> BatchStatus:
        return _status(self._load(provider, job.id))

    async def results(
        self, provider: Any, job: BatchJob, status: BatchStatus
    ) -> AsyncIterator[tuple[str, Response | LLMError]]:
        record = self._load(provider, job.id)
        if record["cancelled"] and time.time() < record["ready_at"]:
            return
        for item in record["results"]:
            if "response" in item:
                yield item["custom_id"], from_dict(item["response"], Response)
            else:
                yield item["custom_id"], _error(item["error"], provider.name)

    async def cancel(self, provider: Any, job: BatchJob) -> BatchStatus:
        record = self._load(provider, job.id)
        if time.time() < record["ready_at"]:
            record["cancelled"] = True
            self._save(provider, record)
        return _status(record)

    async def list(self, provider: Any, limit: int) -> list[BatchStatus]:
        directory = batch_dir(provider)
        if directory is None:
            records = list(_memory(provider).values())
        else:
            records = (
                [json.loads(p.read_text(encoding="utf-8")) for p in directory.glob("*.json")]
                if directory.is_dir()
                else []
            )
        records.sort(key=lambda r: r["created"], reverse=True)
        return [_status(r) for r in records[:limit]]


def _delay(provider: Any) -> float:
    """The fake's `batch_delay`, else `$LLMKIT_FAKE_BATCH_DELAY` (seconds), else 0."""
    delay = getattr(provider, "batch_delay", 0.0) or os.environ.get(ENV_DELAY) or 0.0
    try:
        return max(0.0, float(delay))
    except ValueError:
        raise ConfigurationError(f"{ENV_DELAY}={delay!r}: seconds, e.g. 2.5") from None


def _status(record: dict[str, Any]) -> BatchStatus:
    now = time.time()
    total = len(record["custom_ids"])
    ready = now >= record["ready_at"]
    if record["cancelled"]:
        return BatchStatus(
            id=record["id"], state=BatchState.CANCELLED, total=total, cancelled=total,
            created_at=_time(record["created"]), expires_at=_time(record["expires"]),
            ended_at=_time(record["created"]), host_state="cancelled",
        )  # fmt: skip
    failed = sum(1 for r in record["results"] if "error" in r)
    return BatchStatus(
        id=record["id"],
        state=BatchState.COMPLETED if ready else BatchState.RUNNING,
        total=total,
        succeeded=total - failed if ready else 0,
        failed=failed if ready else 0,
        created_at=_time(record["created"]),
        expires_at=_time(record["expires"]),
        ended_at=_time(record["ready_at"]) if ready else None,
        host_state="completed" if ready else "running",
        raw=record,
    )


def _memory(provider: Any) -> dict[str, dict[str, Any]]:
    store: dict[str, dict[str, Any]] | None = getattr(provider, "_fake_batches", None)
    if store is None:
        store = {}
        provider._fake_batches = store
    return store


def _error_data(error: LLMError) -> dict[str, Any]:
    return {"class": type(error).__name__, "message": error.message, "status": error.status_code}


def _error(data: dict[str, Any], provider: str) -> LLMError:
    cls = getattr(errors, str(data.get("class")), None)
    if not (isinstance(cls, type) and issubclass(cls, LLMError)) or cls is ConfigurationError:
        cls = LLMError
    return cls(str(data.get("message")), provider=provider, status_code=data.get("status"))


def _time(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _safe(job_id: str) -> str:
    return "".join(c for c in job_id if c.isalnum() or c in "_-") or "job"
