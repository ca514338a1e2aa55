"""Rate limits shared by every client of a provider (requests, tokens, concurrency)."""

from __future__ import annotations

from typing import Any

from attrs import frozen

__all__ = ["RateLimit"]


@frozen
class RateLimit:
    """Requests per minute, tokens per minute and a concurrency cap for one provider."""

    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_concurrency: int | None = None
    backend: Any = None
