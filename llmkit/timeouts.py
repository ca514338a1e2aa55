"""Timeouts a user can reason about: connect, first token, idle between events, total.

`BaseProvider(timeout=...)` takes a number (the total, in seconds) or a
`Timeouts`. Progress is content, never bytes: text, reasoning, a tool-call
piece or a refusal. SSE comments and keep-alive lines (DeepSeek holds queued
connections open with them, HOSTS.md §1.5) never become events, and
bookkeeping events (usage, Anthropic's `message_start`, a finish reason) are
not content, so neither can keep a stalled stream alive. Enforcement lives in
`llmkit.providers._calls`; this module only holds the numbers.
"""

from __future__ import annotations

import math
from typing import Any

from attrs import field, frozen

from llmkit.errors import ConfigurationError

__all__ = ["Timeouts"]


def _seconds(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"A timeout is a number of seconds or None, not {value!r}")
    if math.isnan(value) or value <= 0:
        raise ConfigurationError(
            f"A timeout must be a positive number of seconds (or None for no limit), not {value!r}"
        )
    return None if math.isinf(value) else float(value)


@frozen
class Timeouts:
    """How long each phase of a call may take, in seconds; None means no limit.

    Example:
        `GroqProvider(timeout=Timeouts(connect=5, first_token=30, idle=15, total=300))`
    """

    connect: float | None = field(default=10.0, converter=_seconds)
    """Opening the connection (TCP and TLS)."""
    first_token: float | None = field(default=None, converter=_seconds)
    """From sending a stream request to its first content (text, reasoning, a tool call,
    a refusal; not usage or pings); retryable when it fires."""
    idle: float | None = field(default=None, converter=_seconds)
    """Longest gap between two content events; after the first content it is a `StreamError`.

    Runs from the first content on even when `first_token` is longer: the
    earlier deadline wins."""
    total: float | None = field(default=600.0, converter=_seconds)
    """One attempt from start to end, stream included (retries each get their own)."""

    @classmethod
    def coerce(cls, value: Any) -> Timeouts:
        """A `Timeouts` from what `BaseProvider(timeout=...)` accepts.

        Args:
            value: a `Timeouts`, a number (the total) or None (no total limit).

        Raises:
            ConfigurationError: for anything else, saying what is accepted.
        """
        if isinstance(value, Timeouts):
            return value
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            return cls(connect=_connect_for(value), total=value)
        raise ConfigurationError(
            f"timeout= takes seconds (a number), None or llmkit.timeouts.Timeouts(...), not {value!r}"
        )

    def httpx_kwargs(self) -> dict[str, float | None]:
        """Arguments for `httpx2.Timeout(**...)`: reads never time out before `total` does.

        The HTTP read timeout would be reset by every keep-alive byte, so it is
        only a backstop; first-token and idle limits are enforced on events.
        """
        return {
            "connect": self.connect,
            "read": self.total,
            "write": self.total,
            "pool": self.total,
        }


def _connect_for(total: float | None) -> float | None:
    if total is None:
        return 10.0
    return min(10.0, total)
