"""OpenAI's Batch API on the wire (OpenAI, Groq, Azure OpenAI; Mistral's result lines).

Pure functions over JSON; no I/O. A batch is a JSONL file uploaded to
`POST /files` (`purpose=batch`), one line per request whose `body` is exactly
what a live call sends (`openai_chat.to_params`), then `POST /batches` names
the file. Results come as an output file and an error file of JSONL lines,
`{"custom_id", "response": {"status_code", "body"}, "error"}`, in any order:
https://platform.openai.com/docs/guides/batch ; https://console.groq.com/docs/batch ;
https://learn.microsoft.com/azure/ai-foundry/openai/how-to/batch
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from llmkit.batches._types import BatchItemError, BatchState, BatchStatus, parse_time
from llmkit.errors import InvalidResponseError, LLMError
from llmkit.providers._codecs import openai_chat
from llmkit.providers._codecs._batch_common import count, job_object
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.types import Request, Response

__all__ = [
    "ENDPOINT",
    "STATES",
    "multipart_file",
    "parse_batch",
    "parse_batch_list",
    "parse_file",
    "parse_result_line",
    "to_create_body",
    "to_jsonl",
]

ENDPOINT = "/v1/chat/completions"
"""The endpoint a batch runs on (Azure's deployments take `/chat/completions`)."""

# https://platform.openai.com/docs/api-reference/batch/object (`status`)
STATES: dict[str, BatchState] = {
    "validating": BatchState.QUEUED,
    "in_progress": BatchState.RUNNING,
    "finalizing": BatchState.FINALIZING,
    "completed": BatchState.COMPLETED,
    "failed": BatchState.FAILED,
    "expired": BatchState.EXPIRED,
    "cancelling": BatchState.CANCELLING,
    "cancelled": BatchState.CANCELLED,
}

# The error codes of requests the host never ran (they come in the error file)
_UNANSWERED = {"batch_expired": "expired", "batch_cancelled": "cancelled"}


def to_jsonl(
    items: Sequence[tuple[str, Request]], dialect: Dialect, *, endpoint: str = ENDPOINT
) -> bytes:
    """The batch input file: one line per `(custom_id, request)`, each body as a live call's."""
    lines = []
    for custom_id, request in items:
        line = {
            "custom_id": custom_id,
            "method": "POST",
            "url": endpoint,
            "body": openai_chat.to_params(request, dialect),
        }
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def multipart_file(content: bytes, *, filename: str = "llmkit_batch.jsonl") -> tuple[bytes, str]:
    """`POST /files`'s multipart body (`purpose=batch`, the file) and its content type."""
    boundary = f"llmkit-{secrets.token_hex(12)}"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/jsonl\r\n\r\n"
    ).encode()
    body = head + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def parse_file(body: Any, *, provider: str) -> str:
    """The file id of a `POST /files` reply."""
    file_id = body.get("id") if isinstance(body, Mapping) else None
    if not isinstance(file_id, str) or not file_id:
        raise InvalidResponseError(
            f"{provider}'s file upload reply has no id: {str(body)[:200]}", provider=provider
        )
    return file_id


def to_create_body(
    file_id: str,
    *,
    endpoint: str = ENDPOINT,
    window: str = "24h",
    metadata: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`POST /batches`'s body."""
    body: dict[str, Any] = {
        "input_file_id": file_id,
        "endpoint": endpoint,
        "completion_window": window,
    }
    if metadata:
        body["metadata"] = dict(metadata)
    return body


def parse_batch(body: Any, *, provider: str) -> BatchStatus:
    """A `BatchStatus` from a batch object (`POST /batches`, `GET /batches/{id}`).

    Raises:
        InvalidResponseError: the body is not a batch object.
    """
    body = job_object(body, host=provider, what="a batch object", provider=provider)
    raw_state = str(body.get("status") or "")
    counts = body.get("request_counts") or {}
    state = STATES.get(raw_state, BatchState.RUNNING)
    total = count(counts.get("total"))
    succeeded = count(counts.get("completed"))
    failed = count(counts.get("failed"))
    expired = cancelled = 0
    if state.done and total > succeeded + failed:
        # what never ran: the error file lists them as batch_expired / batch_cancelled
        left = total - succeeded - failed
        if state is BatchState.EXPIRED:
            expired = left
        elif state is BatchState.CANCELLED:
            cancelled = left
    ended = next(
        (
            body.get(k)
            for k in ("completed_at", "failed_at", "expired_at", "cancelled_at")
            if body.get(k)
        ),
        None,
    )
    return BatchStatus(
        id=body["id"],
        state=state,
        total=total,
        succeeded=succeeded,
        failed=failed,
        expired=expired,
        cancelled=cancelled,
        created_at=parse_time(body.get("created_at")),
        expires_at=parse_time(body.get("expires_at")),
        ended_at=parse_time(ended),
        host_state=raw_state or None,
        raw=body,
    )


def parse_batch_list(body: Any, *, provider: str) -> tuple[list[BatchStatus], str | None]:
    """The batches of one `GET /batches` page, and the cursor of the next (None: last)."""
    data = body.get("data") if isinstance(body, Mapping) else None
    statuses = [parse_batch(item, provider=provider) for item in data or ()]
    more = isinstance(body, Mapping) and body.get("has_more") and statuses
    return statuses, (statuses[-1].id if more else None)


def parse_result_line(
    line: Any, *, provider: str, model: str | None = None
) -> tuple[str, Response | LLMError]:
    """One line of an output or error file: its `custom_id` and its reply or error.

    A line with a 2xx `response` parses like a live reply (`openai_chat.parse_reply`);
    any other status goes through the live error mapping (`error_from_body`);
    `batch_expired` / `batch_cancelled` become a `BatchItemError`.

    Raises:
        InvalidResponseError: the line has no `custom_id`.
    """
    if not isinstance(line, Mapping) or not isinstance(line.get("custom_id"), str):
        raise InvalidResponseError(
            f"{provider}'s batch result line has no custom_id: {str(line)[:200]}",
            provider=provider,
        )
    custom_id = line["custom_id"]
    where: dict[str, Any] = {"provider": provider, "model": model}
    response = line.get("response")
    if isinstance(response, Mapping) and response.get("body") is not None:
        status = count(response.get("status_code")) or 200
        body = response["body"]
        if status < 400:
            try:
                return custom_id, openai_chat.parse_reply(body, provider=provider)
            except LLMError as error:
                return custom_id, error
        refused = openai_chat.error_from_body(status, body, **where)
        refused.request_id = refused.request_id or response.get("request_id")
        return custom_id, refused
    found = line.get("error")
    failure: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    code = str(failure.get("code") or "")
    message = str(failure.get("message") or "the host gave no reply for this request")
    reason = _UNANSWERED.get(code)
    if reason is not None:
        return custom_id, BatchItemError(f"{message} ({code})", reason=reason, **where)
    return custom_id, openai_chat.error_from_body(400, {"error": dict(failure)}, **where)
