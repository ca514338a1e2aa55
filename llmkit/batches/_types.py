"""The plain data of a host batch job: `BatchJob`, `BatchStatus`, `BatchState`, and the
error a request of a batch ends with when the host never answered it.

Pure values, no I/O. A `BatchJob` serialises to JSON (`to_json` / `from_json`)
so that a job submitted by one process is collected by another, a day later.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping
from typing import Any

import attrs
from attrs import frozen

from llmkit.errors import ConfigurationError, LLMError

__all__ = [
    "JOB_FORMAT",
    "BatchItemError",
    "BatchJob",
    "BatchNotReadyError",
    "BatchState",
    "BatchStatus",
    "iso",
    "parse_time",
]

JOB_FORMAT = 1
"""The version of `BatchJob.to_json`'s layout; `from_json` refuses a newer one."""


class BatchState(enum.StrEnum):
    """Where a batch job stands, the same words for every host."""

    QUEUED = "queued"
    """Accepted, validating or waiting for capacity."""
    RUNNING = "running"
    FINALIZING = "finalizing"
    """Every request answered; the host is writing the results."""
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    """Ended: the results can be read (some requests may have failed)."""
    FAILED = "failed"
    """The job as a whole failed (a bad input file, say): no results."""
    EXPIRED = "expired"
    """The host's window passed; requests it finished have results, the rest expired."""
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        """Whether the job has ended (nothing more will change)."""
        return self in _ENDED

    @property
    def has_results(self) -> bool:
        """Whether results may be read in this state."""
        return self in (BatchState.COMPLETED, BatchState.EXPIRED, BatchState.CANCELLED)


_ENDED = frozenset(
    {BatchState.COMPLETED, BatchState.FAILED, BatchState.EXPIRED, BatchState.CANCELLED}
)


class BatchItemError(LLMError):
    """One request of a batch that the host did not answer: expired, cancelled, or absent
    from the results. Requests the host answered with an error get that host's error class."""

    def __init__(self, message: str, *, reason: str, **where: Any) -> None:
        super().__init__(message, **where)
        self.reason = reason
        """`expired`, `cancelled`, `failed` (the whole job failed) or `missing`."""


class BatchNotReadyError(LLMError):
    """Results were asked for a batch job that has not ended yet, or waiting for one
    gave up at its timeout (`jobs`: the jobs to collect later)."""

    def __init__(self, message: str, *, jobs: tuple[BatchJob, ...] = (), **where: Any) -> None:
        super().__init__(message, **where)
        self.jobs = jobs
        """The jobs still running at the host (save `job.to_json()` to resume)."""


def parse_time(value: Any) -> dt.datetime | None:
    """A UTC datetime from an ISO 8601 string (with `Z` or an offset, nanoseconds cut) or
    Unix seconds; None for None, empty or unparseable values."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    text = str(value).strip()
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text), tz=dt.UTC)
    text = text.replace("Z", "+00:00")
    if "." in text:  # Python reads at most 6 fraction digits; Gemini sends 9
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def iso(value: dt.datetime | None) -> str | None:
    """`value` as ISO 8601 (None stays None)."""
    return value.isoformat() if value is not None else None


@frozen
class BatchStatus:
    """A batch job's state and request counts, as the host reported them."""

    id: str
    state: BatchState
    total: int = 0
    """Requests in the job (0 while the host has not counted them yet)."""
    succeeded: int = 0
    failed: int = 0
    expired: int = 0
    cancelled: int = 0
    created_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    """When the host's window closes (requests not finished by then expire)."""
    ended_at: dt.datetime | None = None
    host_state: str | None = None
    """The host's own word (`in_progress`, `BATCH_STATE_RUNNING`, `ended`, ...)."""
    raw: Any = attrs.field(default=None, eq=False, repr=False)

    @property
    def pending(self) -> int:
        """Requests not answered yet."""
        return max(0, self.total - self.succeeded - self.failed - self.expired - self.cancelled)

    @property
    def done(self) -> bool:
        """Whether the job has ended."""
        return self.state.done

    def describe(self) -> str:
        """One line for people: `running: 3/10 done (1 failed), expires 2026-...`."""
        finished = self.succeeded + self.failed + self.expired + self.cancelled
        parts = [f"{self.state}: {finished}/{self.total} done"]
        extra = [
            f"{n} {word}"
            for n, word in (
                (self.failed, "failed"),
                (self.expired, "expired"),
                (self.cancelled, "cancelled"),
            )
            if n
        ]
        if extra:
            parts.append(f"({', '.join(extra)})")
        if self.expires_at is not None and not self.done:
            parts.append(f"expires {self.expires_at:%Y-%m-%d %H:%M} UTC")
        return " ".join(parts)


@frozen
class BatchJob:
    """A batch submitted to a host: what is needed to poll it and collect its results.

    Plain data that round-trips through JSON, so another process (or another day)
    can pick it up: `BatchJob.from_json(job.to_json())`.
    """

    id: str
    """The host's id of the batch (`msgbatch_...`, `batch_...`, `batches/...`)."""
    provider: str
    """The provider's name (`anthropic`, `openai`, `fake`, ...)."""
    custom_ids: tuple[str, ...]
    """The requests' ids, in the order they were submitted (results come back in it)."""
    models: tuple[str, ...] = ()
    """Each request's model, aligned with `custom_ids` (prices the results)."""
    created_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    base_url: str | None = None
    """The API root it was submitted to (a job lives on one host and account)."""
    data: dict[str, Any] = attrs.field(factory=dict)
    """Host-specific fields: input and output file ids, the endpoint, the model."""

    def model_of(self, custom_id: str) -> str | None:
        """The model the request `custom_id` asked for."""
        if not self.models:
            return None
        if len(set(self.models)) == 1:
            return self.models[0]
        try:
            return self.models[self.custom_ids.index(custom_id)]
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-ready data."""
        return {
            "format": JOB_FORMAT,
            "id": self.id,
            "provider": self.provider,
            "custom_ids": list(self.custom_ids),
            "models": list(self.models),
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "base_url": self.base_url,
            "data": dict(self.data),
        }

    def to_json(self) -> str:
        """The job as a JSON document (`BatchJob.from_json` reads it back)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchJob:
        """A job from `to_dict`'s data.

        Raises:
            ConfigurationError: the data is not a batch job llmkit wrote.
        """
        if not isinstance(data, Mapping) or not data.get("id") or not data.get("provider"):
            raise ConfigurationError(
                "not a batch job: expected the JSON `BatchJob.to_json()` wrote "
                "(with `id`, `provider` and `custom_ids`)"
            )
        version = data.get("format", JOB_FORMAT)
        if not isinstance(version, int) or version > JOB_FORMAT:
            raise ConfigurationError(
                f"batch job format {version!r} is newer than this llmkit reads "
                f"({JOB_FORMAT}); upgrade llmkit"
            )
        ids = data.get("custom_ids") or []
        models = data.get("models") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ConfigurationError("batch job: `custom_ids` must be a list of strings")
        return cls(
            id=str(data["id"]),
            provider=str(data["provider"]),
            custom_ids=tuple(ids),
            models=tuple(str(m) for m in models),
            created_at=parse_time(data.get("created_at")),
            expires_at=parse_time(data.get("expires_at")),
            base_url=data.get("base_url"),
            data=dict(data.get("data") or {}),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> BatchJob:
        """A job from `to_json`'s text.

        Raises:
            ConfigurationError: the text is not JSON, or not a batch job.
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigurationError(f"not a batch job: the text is not JSON ({exc})") from None
        return cls.from_dict(data)
