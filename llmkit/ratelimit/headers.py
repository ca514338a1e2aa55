"""The hosts' rate-limit headers, parsed into quota snapshots: pure, no state, no I/O.

Two families (HOSTS.md §8):

- OpenAI, Groq and most OpenAI-compatible hosts: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`,
  resets as Go-style durations (`6m0s`, `2m59.56s`, `7.66s`, `12ms`). Groq's request
  limit is per *day* and its token limit per minute
  (https://console.groq.com/docs/rate-limits); only `remaining` and `reset` are
  used to pace, so the window length never has to be guessed.
- Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`,
  resets as RFC 3339 times (https://docs.anthropic.com/en/api/rate-limits).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Literal

from attrs import frozen

from llmkit.retry import header

__all__ = ["Dimension", "QuotaSnapshot", "parse_duration", "parse_rate_limit_headers"]

Dimension = Literal["requests", "tokens", "input_tokens", "output_tokens"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


@frozen
class QuotaSnapshot:
    """What a host says is left of one limit, and when it resets."""

    dimension: Dimension
    remaining: float
    reset_after: float | None
    """Seconds until the limit is back to full; None when the host did not say."""
    limit: float | None = None
    window: float | None = None
    """The limit's period in seconds where known (Groq's requests: a day)."""


def parse_duration(text: str) -> float | None:
    """Seconds in a Go-style duration (`6m0s`, `2m59.56s`, `12ms`, `1h2m3s`) or a bare number.

    Returns None for anything else (empty, negative, garbage, infinite).
    """
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return value if math.isfinite(value) and value >= 0 else None
    if not text or _DURATION.sub("", text):
        return None
    return sum(float(n) * _UNIT[unit] for n, unit in _DURATION.findall(text))


def _rfc3339(text: str, now: float) -> float | None:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


_OPENAI_STYLE: tuple[tuple[Dimension, str], ...] = (("requests", "requests"), ("tokens", "tokens"))
_ANTHROPIC_STYLE: tuple[tuple[Dimension, str], ...] = (
    ("requests", "requests"),
    ("tokens", "tokens"),
    ("input_tokens", "input-tokens"),
    ("output_tokens", "output-tokens"),
)


def parse_rate_limit_headers(
    headers: Any, *, now: float, provider: str | None = None
) -> tuple[QuotaSnapshot, ...]:
    """Every limit a response's headers report; empty when the host sends none.

    Args:
        headers: httpx headers or a dict.
        now: the current Unix time (RFC 3339 resets are turned into seconds from it).
        provider: the provider's name; `groq` marks the request limit as per day.
    """
    snapshots: list[QuotaSnapshot] = []
    for dimension, suffix in _OPENAI_STYLE:
        remaining = _number(header(headers, f"x-ratelimit-remaining-{suffix}"))
        if remaining is None:
            continue
        reset = header(headers, f"x-ratelimit-reset-{suffix}")
        window = 86400.0 if provider == "groq" and dimension == "requests" else None
        snapshots.append(
            QuotaSnapshot(
                dimension,
                remaining,
                None if reset is None else parse_duration(reset),
                _number(header(headers, f"x-ratelimit-limit-{suffix}")),
                window,
            )
        )
    for dimension, suffix in _ANTHROPIC_STYLE:
        remaining = _number(header(headers, f"anthropic-ratelimit-{suffix}-remaining"))
        if remaining is None:
            continue
        reset = header(headers, f"anthropic-ratelimit-{suffix}-reset")
        snapshots.append(
            QuotaSnapshot(
                dimension,
                remaining,
                None if reset is None else _rfc3339(reset, now),
                _number(header(headers, f"anthropic-ratelimit-{suffix}-limit")),
            )
        )
    return tuple(snapshots)
