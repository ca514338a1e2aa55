"""Mistral's batch jobs on the wire: `POST /v1/batch/jobs` with inline requests.

Pure functions over JSON; no I/O. Each request's `body` is what a live call
sends (`openai_chat.to_params` in Mistral's dialect) less `model`, which the
job names once. A finished job read with `?inline=true` carries its results
in `outputs`, lines shaped as OpenAI's batch output (`openai_batch`); larger
jobs name an `output_file` / `error_file` of the same lines:
https://docs.mistral.ai/capabilities/batch/
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from llmkit.batches._types import BatchState, BatchStatus, parse_time
from llmkit.providers._codecs import openai_chat
from llmkit.providers._codecs._batch_common import count, job_object
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.types import Request

__all__ = ["STATES", "parse_batch", "parse_batch_list", "to_create_body"]

ENDPOINT = "/v1/chat/completions"

# https://docs.mistral.ai/api/#tag/batch (BatchJobStatus)
STATES: dict[str, BatchState] = {
    "QUEUED": BatchState.QUEUED,
    "RUNNING": BatchState.RUNNING,
    "SUCCESS": BatchState.COMPLETED,
    "FAILED": BatchState.FAILED,
    "TIMEOUT_EXCEEDED": BatchState.EXPIRED,
    "CANCELLATION_REQUESTED": BatchState.CANCELLING,
    "CANCELLED": BatchState.CANCELLED,
}


def to_create_body(
    items: Sequence[tuple[str, Request]], dialect: Dialect, *, timeout_hours: int = 24
) -> dict[str, Any]:
    """`POST /v1/batch/jobs`'s body: one model, every request inline.

    Raises:
        InvalidRequestError: a request the live codec refuses.
    """
    requests = []
    for custom_id, request in items:
        body = openai_chat.to_params(request, dialect)
        body.pop("model", None)
        requests.append({"custom_id": custom_id, "body": body})
    return {
        "endpoint": ENDPOINT,
        "model": items[0][1].model if items else None,
        "requests": requests,
        "timeout_hours": timeout_hours,
    }


def parse_batch(body: Any, *, provider: str = "mistral") -> BatchStatus:
    """A `BatchStatus` from a batch job object.

    Raises:
        InvalidResponseError: the body is not a batch job.
    """
    body = job_object(body, host="Mistral", what="a batch job", provider=provider)
    raw_state = str(body.get("status") or "")
    state = STATES.get(raw_state, BatchState.RUNNING)
    total = count(body.get("total_requests"))
    succeeded = count(body.get("succeeded_requests"))
    failed = count(body.get("failed_requests"))
    left = max(0, total - succeeded - failed)
    created = parse_time(body.get("created_at"))
    hours = body.get("timeout_hours")
    window = dt.timedelta(hours=hours if isinstance(hours, int | float) else 24)
    return BatchStatus(
        id=body["id"],
        state=state,
        total=total,
        succeeded=succeeded,
        failed=failed,
        expired=left if state is BatchState.EXPIRED else 0,
        cancelled=left if state is BatchState.CANCELLED else 0,
        created_at=created,
        expires_at=created + window if created is not None else None,
        ended_at=parse_time(body.get("completed_at")),
        host_state=raw_state or None,
        raw=body,
    )


def parse_batch_list(
    body: Any, *, provider: str = "mistral", page: int = 0, page_size: int = 100
) -> tuple[list[BatchStatus], int | None]:
    """The jobs of one `GET /v1/batch/jobs` page, and the next page number (None: last)."""
    data = body.get("data") if isinstance(body, Mapping) else None
    statuses = [parse_batch(item, provider=provider) for item in data or ()]
    total = count(body.get("total")) if isinstance(body, Mapping) else 0
    more = statuses and (page + 1) * page_size < total
    return statuses, (page + 1 if more else None)
