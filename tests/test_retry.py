"""RetryPolicy and Retry-After parsing: pure tables with an injected rng and clock."""

from __future__ import annotations

from email.utils import formatdate

import httpx2
import pytest

from llmkit.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    LLMError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StreamError,
)
from llmkit.retry import (
    RetryPolicy,
    header,
    is_retryable_status,
    parse_retry_after,
    quota_exhausted,
)

NOW = 1_700_000_000.0


def date_in(seconds: float) -> str:
    return formatdate(NOW + seconds, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "2"}, 2.0),
        ({"Retry-After": "1.5"}, 1.5),  # a plain dict, other case
        ({"retry-after": " 7 "}, 7.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # ms wins
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),  # bad ms falls back
        ({"retry-after-ms": "nan", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "-1"}, None),
        ({"retry-after": date_in(30)}, 30.0),
        ({"retry-after": date_in(-30)}, 0.0),  # in the past: go now
        ({"retry-after": "inf"}, None),
        ({"retry-after": "-inf"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "NaN"}, None),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": ""}, None),
        ({"retry-after": "Wed, 99 Foo 2015 07:28:00 GMT"}, None),
        ({"retry-after": "2015-10-21"}, None),
        ({"retry-after": "1e400"}, None),  # overflows to inf
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


def test_parse_retry_after_reads_httpx_headers() -> None:
    assert parse_retry_after(httpx2.Headers({"Retry-After-Ms": "1500"})) == 1.5
    assert parse_retry_after(None) is None


def test_header_lookup_ignores_case_in_plain_dicts() -> None:
    assert header({"X-Thing": "1"}, "x-thing") == "1"
    assert header({"x-thing": 2}, "X-Thing") == "2"
    assert header({}, "x") is None


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (200, False),
        (400, False),
        (401, False),
        (402, False),
        (403, False),
        (404, False),
        (408, True),
        (409, True),
        (413, False),
        (422, False),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (529, True),
        (599, True),
    ],
)
def test_retryable_statuses(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=8.0)


@pytest.mark.parametrize(
    ("error", "attempt", "rng", "expected"),
    [
        # full jitter: rng * min(max_delay, base * 2**(attempt-1))
        (ServerError("x"), 1, 0.5, 0.5),
        (ServerError("x"), 2, 0.5, 1.0),
        (ServerError("x"), 3, 0.5, 2.0),
        (ServerError("x"), 4, 0.999, 7.992),  # capped at max_delay
        (ServerError("x"), 1, 0.0, 0.0),
        (OverloadedError("x"), 1, 0.25, 0.25),
        (APITimeoutError("x"), 1, 1 / 4, 0.25),
        (APIConnectionError("x"), 2, 0.5, 1.0),
        (APIError("409", status_code=409, retryable=True), 1, 0.5, 0.5),
        # Retry-After wins, exactly, even above max_delay
        (RateLimitError("x", retry_after=2.0), 1, 0.9, 2.0),
        (RateLimitError("x", retry_after=30.0), 1, 0.9, 30.0),
        (RateLimitError("x", retry_after=0.0), 1, 0.9, 0.0),
        (RateLimitError("x", retry_after=None), 1, 0.5, 0.5),
        (RateLimitError("x", retry_after=float("nan")), 1, 0.5, 0.5),
        (RateLimitError("x", retry_after=float("inf")), 1, 0.5, 0.5),
        # past max_retry_after: give up at once
        (RateLimitError("x", retry_after=61.0), 1, 0.5, None),
        # never retried
        (InvalidRequestError("x", status_code=400), 1, 0.5, None),
        (InvalidRequestError("x", status_code=422), 1, 0.5, None),
        (AuthenticationError("x"), 1, 0.5, None),
        (PermissionDeniedError("x"), 1, 0.5, None),
        (NotFoundError("x"), 1, 0.5, None),
        (StreamError("x"), 1, 0.5, None),
        (RateLimitError("quota", retryable=False, retry_after=1.0), 1, 0.5, None),
        # attempts used up
        (ServerError("x"), 5, 0.5, None),
    ],
)
def test_delay_table(error: LLMError, attempt: int, rng: float, expected: float | None) -> None:
    wait = POLICY.delay(attempt, error, rng=lambda: rng)
    if expected is None:
        assert wait is None
    else:
        assert wait == pytest.approx(expected)


@pytest.mark.parametrize(
    ("elapsed", "retry_after", "expected"),
    [
        (0.0, 5.0, 5.0),
        (5.0, 5.0, 5.0),  # ends exactly at the deadline
        (6.0, 5.0, None),  # would end past it
        (9.9, None, 0.05),  # backoff 0.05 still fits
        (9.99, None, None),
    ],
)
def test_deadline_caps_waits(
    elapsed: float, retry_after: float | None, expected: float | None
) -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=0.1, deadline=10.0)
    error = RateLimitError("x", retry_after=retry_after)
    assert policy.delay(1, error, elapsed=elapsed, rng=lambda: 0.5) == expected


def test_jitter_is_bounded_for_any_rng_value() -> None:
    for attempt in range(1, 5):
        for tenth in range(10):
            wait = POLICY.delay(attempt, ServerError("x"), rng=lambda t=tenth: t / 10)
            assert wait is not None
            assert 0 <= wait <= min(POLICY.max_delay, POLICY.base_delay * 2 ** (attempt - 1))


def test_max_attempts_one_never_retries() -> None:
    assert RetryPolicy(max_attempts=1).delay(1, ServerError("x")) is None


@pytest.mark.parametrize(
    ("status", "body", "fatal"),
    [
        (429, {"error": {"code": "insufficient_quota", "message": "You exceeded"}}, True),
        (429, {"error": {"code": "rate_limit_exceeded"}}, False),
        (
            429,
            {"type": "error", "error": {"details": {"error_code": "enforced_spend_limit_reached"}}},
            True,
        ),
        (429, "Quota exceeded for metric ... limit: 0, model: gemini-3-pro", True),
        (429, "Quota exceeded ... limit: 10", False),
        (429, "Quota exceeded ... limit: 05", False),
        (402, {"error": {"code": 402, "message": "Insufficient credits"}}, True),
        (500, {"error": "insufficient_quota"}, False),
    ],
)
def test_quota_exhausted(status: int, body: object, fatal: bool) -> None:
    reason = quota_exhausted(status, body)
    assert (reason is not None) is fatal
    if reason:
        assert ":" in reason  # says what to do
