"""Anthropic's Message Batches on the wire: the create body, batch objects, result lines.

Pure functions over JSON; no I/O. Each request's `params` is exactly what a
live call sends (`anthropic_messages.to_params`); results are JSONL lines
`{"custom_id", "result": {"type": succeeded|errored|canceled|expired, ...}}`:
https://docs.anthropic.com/en/api/creating-message-batches ;
https://docs.anthropic.com/en/api/retrieving-message-batch-results
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmkit.batches._types import BatchItemError, BatchState, BatchStatus, parse_time
from llmkit.errors import InvalidResponseError, LLMError
from llmkit.providers._codecs import anthropic_messages
from llmkit.providers._codecs._batch_common import count, job_object
from llmkit.types import Request, Response

__all__ = ["parse_batch", "parse_batch_list", "parse_result_line", "to_create_body"]


def to_create_body(
    items: Sequence[tuple[str, Request]], *, provider: str = "anthropic"
) -> tuple[dict[str, Any], list[str]]:
    """`POST /v1/messages/batches`'s body, and the `anthropic-beta` names its requests ask for
    (sent once, as the header, for the whole batch)."""
    requests = []
    betas: list[str] = []
    for custom_id, request in items:
        params = anthropic_messages.to_params(request, provider=provider)
        for name in anthropic_messages.pop_betas(params):
            if name not in betas:
                betas.append(name)
        requests.append({"custom_id": custom_id, "params": params})
    return {"requests": requests}, betas


def parse_batch(body: Any, *, provider: str = "anthropic") -> BatchStatus:
    """A `BatchStatus` from a `message_batch` object.

    `processing_status` is `in_progress`, `canceling` or `ended`; an ended batch
    that was cancelled reads `cancelled`, one with expired requests `expired`.

    Raises:
        InvalidResponseError: the body is not a message batch.
    """
    body = job_object(body, host="Anthropic", what="a message batch", provider=provider)
    raw_state = str(body.get("processing_status") or "")
    counts = body.get("request_counts") or {}
    succeeded, errored, canceled, expired, processing = (
        count(counts.get(k)) for k in ("succeeded", "errored", "canceled", "expired", "processing")
    )
    if raw_state == "ended":
        if body.get("cancel_initiated_at"):
            state = BatchState.CANCELLED
        elif expired:
            state = BatchState.EXPIRED
        else:
            state = BatchState.COMPLETED
    elif raw_state == "canceling":
        state = BatchState.CANCELLING
    else:
        state = BatchState.RUNNING
    return BatchStatus(
        id=body["id"],
        state=state,
        total=succeeded + errored + canceled + expired + processing,
        succeeded=succeeded,
        failed=errored,
        expired=expired,
        cancelled=canceled,
        created_at=parse_time(body.get("created_at")),
        expires_at=parse_time(body.get("expires_at")),
        ended_at=parse_time(body.get("ended_at")),
        host_state=raw_state or None,
        raw=body,
    )


def parse_batch_list(
    body: Any, *, provider: str = "anthropic"
) -> tuple[list[BatchStatus], str | None]:
    """The batches of one `GET /v1/messages/batches` page, and the next page's `after_id`."""
    data = body.get("data") if isinstance(body, Mapping) else None
    statuses = [parse_batch(item, provider=provider) for item in data or ()]
    more = isinstance(body, Mapping) and body.get("has_more") and body.get("last_id")
    return statuses, (str(body["last_id"]) if more else None)


def parse_result_line(
    line: Any, *, provider: str = "anthropic", model: str | None = None
) -> tuple[str, Response | LLMError]:
    """One result line: its `custom_id` and the reply (parsed as a live one) or the error.

    Raises:
        InvalidResponseError: the line has no `custom_id` or no `result`.
    """
    if not isinstance(line, Mapping) or not isinstance(line.get("custom_id"), str):
        raise InvalidResponseError(
            f"Anthropic's batch result line has no custom_id: {str(line)[:200]}",
            provider=provider,
        )
    custom_id = line["custom_id"]
    result = line.get("result")
    kind = result.get("type") if isinstance(result, Mapping) else None
    where: dict[str, Any] = {"provider": provider, "model": model}
    if kind == "succeeded" and isinstance(result, Mapping):
        message = result.get("message")
        try:
            if not isinstance(message, Mapping):
                raise InvalidResponseError(
                    f"Anthropic's batch result for {custom_id!r} has no message",
                    provider=provider,
                )
            return custom_id, anthropic_messages.parse_reply(message, provider=provider)
        except LLMError as error:
            return custom_id, error
    if kind == "errored" and isinstance(result, Mapping):
        # `error` is an error body as a live call gets it: {"type": "error", "error": {...}}
        return custom_id, anthropic_messages.error_from_body(None, result.get("error"), **where)
    if kind in ("canceled", "expired"):
        reason = "cancelled" if kind == "canceled" else "expired"
        message = (
            "the batch was cancelled before this request ran"
            if reason == "cancelled"
            else "the batch's 24-hour window closed before this request ran; submit it again"
        )
        return custom_id, BatchItemError(message, reason=reason, **where)
    raise InvalidResponseError(
        f"Anthropic's batch result for {custom_id!r} has no known result type: {str(line)[:200]}",
        provider=provider,
    )
