"""What every host's batch codec reads the same way: the job object's guard and its counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmkit.errors import InvalidResponseError

__all__ = ["count", "job_object"]


def job_object(body: Any, *, host: str, what: str, provider: str) -> Mapping[str, Any]:
    """`body` as a job object with a string `id`, else `InvalidResponseError` naming `what`
    (`a message batch`, `a batch object`, ...) and the start of what `host` sent."""
    if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
        raise InvalidResponseError(
            f"{host} sent something that is not {what}: {str(body)[:200]}", provider=provider
        )
    return body


def count(value: Any) -> int:
    """A request count as the host wrote it (a number or a numeric string); 0 otherwise."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
