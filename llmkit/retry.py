"""When to retry a failed call and how long to wait: pure decisions, no sleeping.

The loop that sleeps lives in `llmkit.providers._calls`; this module only
decides. Codecs use `is_retryable_status` and `parse_retry_after` when they
turn a host's error into an `LLMError`, and `quota_exhausted` to spot the 429s
(and OpenRouter's 402) that no amount of waiting will fix.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable
from typing import Any

from attrs import frozen

from llmkit.errors import LLMError

__all__ = [
    "RETRYABLE_4XX",
    "RetryPolicy",
    "header",
    "is_retryable_status",
    "parse_retry_after",
    "quota_exhausted",
]

Rng = Callable[[], float]

RETRYABLE_4XX = frozenset({408, 409, 429})
"""Client-side statuses worth another try: timeout, conflict (lock contention), rate limit."""


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth retrying: 408, 409, 429 and every 5xx."""
    return status in RETRYABLE_4XX or 500 <= status <= 599


def header(headers: Any, name: str) -> str | None:
    """One header's value from httpx headers, a plain dict or anything with `.get`.

    httpx headers are case-insensitive already; a plain dict is searched ignoring case.
    """
    if headers is None:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == lowered), None)
    return None if value is None else str(value)


def _seconds(text: str, scale: float = 1.0) -> float | None:
    try:
        value = float(text) * scale
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_retry_after(headers: Any, *, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date).

    `retry-after-ms` wins when it is valid (OpenAI and Anthropic send both).
    Garbage, negative, infinite and NaN values give None, so the policy's own
    backoff applies; an HTTP date in the past gives 0.

    Args:
        headers: the response headers (httpx headers or a dict).
        now: the current Unix time, injectable for tests (default: `time.time()`).
    """
    ms = header(headers, "retry-after-ms")
    if ms is not None and (value := _seconds(ms.strip(), 0.001)) is not None:
        return value
    raw = header(headers, "retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    if (value := _seconds(raw)) is not None or _looks_numeric(raw):
        return value
    from email.utils import parsedate_to_datetime  # on first use: a few ms off importing llmkit

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _looks_numeric(raw: str) -> bool:
    """`inf`, `nan` and `-3` are numbers, just unusable ones: never try them as dates."""
    try:
        float(raw)
    except ValueError:
        return False
    return True


def quota_exhausted(status: int | None, body: Any) -> str | None:
    """Why a 429 (or 402) will not go away by waiting, or None if waiting may help.

    These fail at once with the returned reason instead of being retried:
    OpenAI's `insufficient_quota` (billing), Anthropic's
    `enforced_spend_limit_reached` (monthly cap), Gemini's `limit: 0` (the model
    is not available on the project's tier) and OpenRouter's 402 (no credits).
    Sources: HOSTS.md §9.

    Args:
        status: the HTTP status.
        body: the error body, parsed JSON or text.
    """
    if status == 402:
        return "the account has no credits left: add credits at the host, then retry"
    if status != 429:
        return None
    text = body if isinstance(body, str) else repr(body)
    if "insufficient_quota" in text:
        return "the account's quota is used up (insufficient_quota): check the host's billing page"
    if "enforced_spend_limit_reached" in text:
        return "the organisation's spend limit is reached: raise it in the host's console"
    if re.search(r"limit: 0\b", text):
        return (
            "this model has no quota on the project's tier (limit: 0): pick another model or tier"
        )
    return None


@frozen
class RetryPolicy:
    """When to retry and how long to wait; decides, never sleeps.

    Retries what the error says is retryable (408, 409, 429, 5xx, timeouts,
    connection errors), never 400/401/403/404/422, with exponential backoff and
    full jitter. A host's `Retry-After` is honoured as given (it may exceed
    `max_delay`) up to `max_retry_after`; past that, or past the `deadline`, the
    policy gives up at once and the caller sees the error with its `retry_after`.
    """

    max_attempts: int = 3
    """Attempts in all, the first one included (1 turns retries off)."""
    base_delay: float = 0.5
    """Backoff before the second attempt is drawn from [0, base_delay); it doubles each time."""
    max_delay: float = 8.0
    """Cap on one backoff sleep (a host's `Retry-After` may ask for more, up to `max_retry_after`)."""
    deadline: float | None = None
    """Seconds from the first attempt after which no retry is started (None: no deadline)."""
    max_retry_after: float = 60.0
    """The longest `Retry-After` worth sleeping through; a longer one fails at once."""

    def delay(
        self, attempt: int, error: LLMError, *, elapsed: float = 0.0, rng: Rng = random.random
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up.

        Args:
            attempt: how many attempts have been made (1 after the first failure).
            error: the error the last attempt raised.
            elapsed: seconds since the first attempt started.
            rng: a source of floats in [0, 1), injectable for tests.
        """
        if not error.retryable or attempt >= self.max_attempts:
            return None
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float) and math.isfinite(retry_after) and retry_after >= 0:
            if retry_after > self.max_retry_after:
                return None
            wait = float(retry_after)
        else:
            wait = rng() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        if self.deadline is not None and elapsed + wait > self.deadline:
            return None
        return wait
