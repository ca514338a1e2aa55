"""When to retry a failed call and how long to wait: pure decisions, no sleeping.

The loop that sleeps lives in `llmkit.providers._calls`; this module only decides.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

from attrs import frozen

from llmkit.errors import LLMError, RateLimitError

__all__ = ["RetryPolicy", "parse_retry_after"]

Rng = Callable[[], float]


def parse_retry_after(headers: Any, *, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date).

    Garbage, negative, infinite and NaN values give None (the policy's own backoff applies).
    """
    if headers is None:
        return None
    get = headers.get
    ms = get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = get("retry-after")
    if raw is None:
        return None
    raw = str(raw).strip()
    try:
        value = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        import time

        value = when.timestamp() - (time.time() if now is None else now)
        return max(0.0, value)
    if math.isfinite(value) and value >= 0:
        return value
    return None


@frozen
class RetryPolicy:
    """When to retry and how long to wait; decides, never sleeps.

    Retries what the error says is retryable (408, 409, 429, 5xx, timeouts,
    connection errors), never 400/401/403/404/422, with exponential backoff and
    full jitter, honouring the host's `Retry-After` up to `max_delay`... unless
    the host asked for longer than `deadline` allows, in which case it gives up.
    """

    max_attempts: int = 3
    """Attempts in all, the first one included."""
    base_delay: float = 0.5
    max_delay: float = 8.0
    """Cap on one backoff sleep (a host's `Retry-After` may ask for more, up to the deadline)."""
    deadline: float | None = None
    """Seconds from the first attempt after which no new attempt starts."""

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
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            wait = error.retry_after
        else:
            wait = rng() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        if self.deadline is not None and elapsed + wait > self.deadline:
            return None
        return wait
