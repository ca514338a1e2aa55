"""Gemini's batch mode on the wire: `models/{model}:batchGenerateContent`, batch
operations, inlined responses and result files.

Pure functions over JSON; no I/O. Each inlined request is exactly a live
`generateContent` body (`gemini_generate.to_params`), tagged with its
`custom_id` in `metadata`; results come back inlined in the finished operation
(`response.inlinedResponses`), or, for file jobs, as a JSONL file of
`{"key", "response" | "error"}` lines:
https://ai.google.dev/gemini-api/docs/batch-mode
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmkit.batches._types import BatchItemError, BatchState, BatchStatus, parse_time
from llmkit.errors import InvalidResponseError, LLMError
from llmkit.providers._codecs import gemini_generate
from llmkit.providers._codecs._batch_common import count
from llmkit.types import Request, Response

__all__ = [
    "STATES",
    "inlined_results",
    "parse_batch",
    "parse_batch_list",
    "parse_result",
    "result_file",
    "to_create_body",
]

# https://ai.google.dev/api/batch-mode#BatchState (JOB_STATE_* are the older spellings)
STATES: dict[str, BatchState] = {
    "PENDING": BatchState.QUEUED,
    "RUNNING": BatchState.RUNNING,
    "SUCCEEDED": BatchState.COMPLETED,
    "FAILED": BatchState.FAILED,
    "CANCELLED": BatchState.CANCELLED,
    "EXPIRED": BatchState.EXPIRED,
}

# google.rpc.Code → HTTP status, for a request's own error: https://google.aip.dev/193
_GRPC_HTTP = {3: 400, 4: 504, 5: 404, 7: 403, 8: 429, 9: 400, 13: 500, 14: 503, 16: 401}


def to_create_body(
    items: Sequence[tuple[str, Request]], *, display_name: str, provider: str = "gemini"
) -> dict[str, Any]:
    """`POST models/{model}:batchGenerateContent`'s body, every request inlined."""
    requests = [
        {
            "request": gemini_generate.to_params(request, provider=provider),
            "metadata": {"custom_id": custom_id},
        }
        for custom_id, request in items
    ]
    return {
        "batch": {
            "displayName": display_name,
            "inputConfig": {"requests": {"requests": requests}},
        }
    }


def parse_batch(body: Any, *, provider: str = "gemini") -> BatchStatus:
    """A `BatchStatus` from a batch operation (`{"name", "metadata": {...}, "done"}`) or a
    bare batch resource.

    Raises:
        InvalidResponseError: the body names no batch.
    """
    meta = body.get("metadata") if isinstance(body, Mapping) else None
    batch = meta if isinstance(meta, Mapping) and meta.get("state") else body
    name = (body.get("name") if isinstance(body, Mapping) else None) or (
        batch.get("name") if isinstance(batch, Mapping) else None
    )
    if not isinstance(batch, Mapping) or not isinstance(name, str):
        raise InvalidResponseError(
            f"Gemini sent something that is not a batch: {str(body)[:200]}", provider=provider
        )
    raw_state = str(batch.get("state") or "")
    word = raw_state.removeprefix("BATCH_STATE_").removeprefix("JOB_STATE_")
    state = STATES.get(word, BatchState.RUNNING)
    stats = batch.get("batchStats") or {}
    total = count(stats.get("requestCount"))
    succeeded = count(stats.get("successfulRequestCount"))
    failed = count(stats.get("failedRequestCount"))
    pending = count(stats.get("pendingRequestCount"))
    expired = cancelled = 0
    if state is BatchState.EXPIRED:
        expired = max(0, total - succeeded - failed) or pending
    elif state is BatchState.CANCELLED:
        cancelled = max(0, total - succeeded - failed) or pending
    created = parse_time(batch.get("createTime"))
    return BatchStatus(
        id=name,
        state=state,
        total=total,
        succeeded=succeeded,
        failed=failed,
        expired=expired,
        cancelled=cancelled,
        created_at=created,
        # Gemini documents a 48-hour target and reports no expiry time
        expires_at=None,
        ended_at=parse_time(batch.get("endTime")),
        host_state=raw_state or None,
        raw=body,
    )


def parse_batch_list(
    body: Any, *, provider: str = "gemini"
) -> tuple[list[BatchStatus], str | None]:
    """The batches of one `GET batches` page, and the next page's token."""
    items = (body.get("operations") or body.get("batches")) if isinstance(body, Mapping) else None
    statuses = [parse_batch(item, provider=provider) for item in items or ()]
    token = body.get("nextPageToken") if isinstance(body, Mapping) else None
    return statuses, (str(token) if token else None)


def _output(body: Mapping[str, Any]) -> Mapping[str, Any]:
    response = body.get("response")
    if isinstance(response, Mapping):
        return response
    meta = body.get("metadata")
    output = meta.get("output") if isinstance(meta, Mapping) else None
    return output if isinstance(output, Mapping) else {}


def inlined_results(body: Any) -> list[Mapping[str, Any]] | None:
    """The inlined responses of a finished operation, in request order (None: there are none)."""
    if not isinstance(body, Mapping):
        return None
    inlined = _output(body).get("inlinedResponses")
    if isinstance(inlined, Mapping):
        inlined = inlined.get("inlinedResponses")
    return list(inlined) if isinstance(inlined, list) else None


def result_file(body: Any) -> str | None:
    """The results file (`files/...`) of a finished file-output job, if it has one."""
    if not isinstance(body, Mapping):
        return None
    name = _output(body).get("responsesFile")
    return str(name) if name else None


def parse_result(
    item: Any, *, custom_id: str | None, provider: str = "gemini", model: str | None = None
) -> tuple[str, Response | LLMError]:
    """One inlined response or result-file line: its id and its reply or error.

    The id is the item's `metadata.custom_id` (or a file line's `key`), else
    `custom_id` (the request at the same position).

    Raises:
        InvalidResponseError: neither the item nor its position gives an id.
    """
    meta = item.get("metadata") if isinstance(item, Mapping) else None
    found = (meta.get("custom_id") if isinstance(meta, Mapping) else None) or (
        item.get("key") if isinstance(item, Mapping) else None
    )
    key = str(found) if found else custom_id
    if key is None or not isinstance(item, Mapping):
        raise InvalidResponseError(
            f"Gemini's batch result has no id: {str(item)[:200]}", provider=provider
        )
    where: dict[str, Any] = {"provider": provider, "model": model}
    if isinstance(item.get("response"), Mapping):
        try:
            return key, gemini_generate.parse_reply(item["response"], provider=provider)
        except LLMError as error:
            return key, error
    failure = item.get("error")
    if not isinstance(failure, Mapping):
        return key, BatchItemError(
            "Gemini's batch has no reply for this request", reason="missing", **where
        )
    code = failure.get("code")
    status = _GRPC_HTTP.get(code, 400) if isinstance(code, int) and code < 100 else code
    body = {"error": {**failure, "code": status}}
    return key, gemini_generate.error_from_body(
        status if isinstance(status, int) else 400, body, **where
    )
