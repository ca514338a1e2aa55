"""The batch codecs alone: status words per host, result lines, request checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmkit.batches import BatchItemError, BatchState
from llmkit.batches._limits import check_items, limits_for
from llmkit.errors import ConfigurationError, InvalidResponseError, RateLimitError
from llmkit.providers._codecs import (
    anthropic_batch,
    gemini_batch,
    mistral_batch,
    openai_batch,
)
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.types import Message, Request, Response
from tests.batches._replay import recording


def _first(host: str, part: str, method: str = "POST") -> dict[str, Any]:
    return next(i for i in recording(host, part) if i["method"] == method)["body"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("validating", BatchState.QUEUED),
        ("in_progress", BatchState.RUNNING),
        ("finalizing", BatchState.FINALIZING),
        ("completed", BatchState.COMPLETED),
        ("failed", BatchState.FAILED),
        ("expired", BatchState.EXPIRED),
        ("cancelling", BatchState.CANCELLING),
        ("cancelled", BatchState.CANCELLED),
    ],
)
def test_openai_states(word: str, state: BatchState) -> None:
    body = {**_first("openai", "gpt-5-nano", "POST"), "status": word}
    body = (
        body
        if body.get("object") == "batch"
        else {**recording("openai", "gpt-5-nano")[1]["body"], "status": word}
    )
    assert openai_batch.parse_batch(body, provider="openai").state is state


def test_openai_expired_counts_what_never_ran() -> None:
    body = dict(recording("openai", "gpt-5-nano")[1]["body"])
    body.update(status="expired", request_counts={"total": 10, "completed": 6, "failed": 1})
    status = openai_batch.parse_batch(body, provider="openai")
    assert (status.succeeded, status.failed, status.expired, status.pending) == (6, 1, 3, 0)


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("QUEUED", BatchState.QUEUED),
        ("RUNNING", BatchState.RUNNING),
        ("SUCCESS", BatchState.COMPLETED),
        ("FAILED", BatchState.FAILED),
        ("TIMEOUT_EXCEEDED", BatchState.EXPIRED),
        ("CANCELLATION_REQUESTED", BatchState.CANCELLING),
        ("CANCELLED", BatchState.CANCELLED),
    ],
)
def test_mistral_states(word: str, state: BatchState) -> None:
    body = {**_first("mistral", "answers"), "status": word}
    assert mistral_batch.parse_batch(body).state is state


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("BATCH_STATE_PENDING", BatchState.QUEUED),
        ("BATCH_STATE_RUNNING", BatchState.RUNNING),
        ("BATCH_STATE_SUCCEEDED", BatchState.COMPLETED),
        ("BATCH_STATE_FAILED", BatchState.FAILED),
        ("BATCH_STATE_CANCELLED", BatchState.CANCELLED),
        ("BATCH_STATE_EXPIRED", BatchState.EXPIRED),
        ("JOB_STATE_SUCCEEDED", BatchState.COMPLETED),
    ],
)
def test_gemini_states(word: str, state: BatchState) -> None:
    body = _first("gemini", "answers")
    body = {**body, "metadata": {**body["metadata"], "state": word}}
    status = gemini_batch.parse_batch(body)
    assert status.state is state and status.total == 2


def test_anthropic_ended_reads_cancelled_after_a_cancel() -> None:
    body = dict(recording("anthropic", "cancels")[1]["body"])  # the reply to the cancel
    assert body["processing_status"] == "canceling"
    body.update(
        processing_status="ended",
        request_counts={"processing": 0, "succeeded": 0, "errored": 0, "canceled": 1, "expired": 0},
    )
    status = anthropic_batch.parse_batch(body)
    assert status.state is BatchState.CANCELLED and status.cancelled == 1


@pytest.mark.parametrize(
    "parse",
    [
        openai_batch.parse_batch,
        anthropic_batch.parse_batch,
        mistral_batch.parse_batch,
        gemini_batch.parse_batch,
    ],
)
def test_a_body_that_is_not_a_batch_is_invalid_response(parse: Any) -> None:
    with pytest.raises(InvalidResponseError):
        parse(["not", "a", "batch"], provider="x")


def test_openai_jsonl_and_multipart() -> None:
    items = [("a", Request(model="gpt-5.6", messages=(Message.user("hé"),), max_tokens=5))]
    content = openai_batch.to_jsonl(items, Dialect(max_tokens_param="max_completion_tokens"))
    line = json.loads(content)
    assert (
        line["body"]["max_completion_tokens"] == 5
        and line["body"]["messages"][0]["content"] == "hé"
    )
    body, content_type = openai_batch.multipart_file(content)
    boundary = content_type.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(
        f"--{boundary}--\r\n".encode()
    )
    assert content in body


def test_openai_result_line_rate_limited_is_the_live_error() -> None:
    line = {
        "custom_id": "x",
        "response": {
            "status_code": 429,
            "body": {
                "error": {"message": "slow", "type": "requests", "code": "rate_limit_exceeded"}
            },
        },
    }
    custom_id, result = openai_batch.parse_result_line(line, provider="openai")
    assert custom_id == "x" and isinstance(result, RateLimitError)


def test_openai_cancelled_line() -> None:
    line = {
        "custom_id": "x",
        "response": None,
        "error": {"code": "batch_cancelled", "message": "cancelled"},
    }
    _, result = openai_batch.parse_result_line(line, provider="openai")
    assert isinstance(result, BatchItemError) and result.reason == "cancelled"


def test_anthropic_recorded_result_lines() -> None:
    lines = next(i for i in recording("anthropic", "answers") if i["url"].endswith("/results"))[
        "body"
    ]["jsonl"]
    parsed = [anthropic_batch.parse_result_line(line) for line in lines]
    assert [(cid, r.text) for cid, r in parsed if isinstance(r, Response)] == [
        ("0", "4"),
        ("1", "Jupiter"),
    ]


def test_gemini_result_without_metadata_takes_its_position() -> None:
    final = recording("gemini", "answers")[-1]["body"]
    item = dict(final["response"]["inlinedResponses"]["inlinedResponses"][1])
    del item["metadata"]  # a results file's line without its key
    custom_id, result = gemini_batch.parse_result(item, custom_id="third")
    assert custom_id == "third" and isinstance(result, Response) and result.text == "Jupiter"


def test_request_checks() -> None:
    r = Request(model="m", messages=(Message.user("x"),))
    with pytest.raises(ConfigurationError, match="at least one"):
        check_items([], None, provider="p")
    with pytest.raises(ConfigurationError, match="used twice"):
        check_items([("a", r), ("a", r)], None, provider="p")
    with pytest.raises(ConfigurationError, match="not a Request"):
        check_items([("a", "text")], None, provider="p")  # type: ignore[list-item]
    limits = limits_for("mistral")
    assert limits is not None and limits.max_requests is not None
    many = [(str(i), r) for i in range(limits.max_requests + 1)]
    with pytest.raises(ConfigurationError, match="at most"):
        check_items(many, limits, provider="mistral")
