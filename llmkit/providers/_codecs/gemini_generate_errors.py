"""Gemini error bodies, mapped onto llmkit's error tree.

Pure: one function from (status, body, headers) to an `LLMError`. The body is
`{"error": {"code", "message", "status", "details": [QuotaFailure, RetryInfo, ...]}}`
(HOSTS.md §9; ai.google.dev/gemini-api/docs/troubleshooting), sometimes wrapped
in a one-element list; an error may also arrive as a chunk of a 200 stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmkit.errors import (
    APIError,
    APITimeoutError,
    AuthenticationError,
    ContextLengthExceededError,
    InvalidRequestError,
    LLMError,
    ModelNotFoundError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from llmkit.providers._codecs._errors_common import (
    error_class,
    excerpt,
    is_context_overflow,
    parse_json_or_text,
)
from llmkit.retry import parse_retry_after, quota_exhausted

__all__ = ["error_from_body"]

_STATUS_ERRORS: dict[str, type[LLMError]] = {
    "INVALID_ARGUMENT": InvalidRequestError,
    "FAILED_PRECONDITION": InvalidRequestError,
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "RESOURCE_EXHAUSTED": RateLimitError,
    "UNAVAILABLE": OverloadedError,
    "INTERNAL": ServerError,
    "DEADLINE_EXCEEDED": APITimeoutError,
}
_CONTEXT_WORDS = ("exceeds the maximum number of tokens",)
"""Gemini's own wording, on top of the shared `CONTEXT_OVERFLOW_WORDS`."""


def error_from_body(
    status: int | None,
    body: object,
    headers: Any = None,
    *,
    provider: str = "gemini",
    model: str | None = None,
) -> LLMError:
    """The llmkit error for a Gemini error reply (`{"error": {code, message, status, details}}`).

    A 429's `RetryInfo.retryDelay` becomes `RateLimitError.retry_after`; a quota
    whose limit is 0 means the model is not on the caller's tier, and is not retryable.
    """
    parsed = parse_json_or_text(body)
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    error = parsed.get("error") if isinstance(parsed, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    message = str(error.get("message") or "") or f"Gemini answered HTTP {status}: {excerpt(body)}"
    code = error.get("code") if isinstance(error.get("code"), int) else None
    effective = status if status is not None and not 200 <= status < 300 else code
    cls = _error_class(effective, str(error.get("status") or ""), message)
    common: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "status_code": effective if effective is not None else status,
        "body": parsed,
    }
    if cls is RateLimitError:
        details = error.get("details") if isinstance(error.get("details"), list) else []
        if _zero_quota(parsed, details or []):
            hint = (
                f"{message}\n(The quota limit is 0: {model or 'this model'} is not available "
                "on your API tier; retrying will not help. Use another model or raise the "
                "project's tier: https://ai.google.dev/gemini-api/docs/rate-limits)"
            )
            return RateLimitError(hint, retry_after=None, retryable=False, **common)
        return RateLimitError(message, retry_after=_retry_delay(details or [], headers), **common)
    if cls is APIError:
        return APIError(message, retryable=effective in (408, 409), **common)
    return cls(message, **common)


def _error_class(status: int | None, name: str, message: str) -> type[LLMError]:
    lowered = message.lower()
    if status in (400, 413, 422, None) and is_context_overflow(lowered, _CONTEXT_WORDS):
        return ContextLengthExceededError
    if status is None:
        return _STATUS_ERRORS.get(name, APIError)
    if status == 404:
        return ModelNotFoundError if "models/" in lowered else NotFoundError
    return error_class(status)


def _zero_quota(body: object, details: Sequence[Any]) -> bool:
    """A quota of 0 (the model is not on the project's tier): `limit: 0` in the message
    (`retry.quota_exhausted`), or a `QuotaFailure` violation whose `quotaValue` is 0."""
    if quota_exhausted(429, body) is not None:
        return True
    for detail in details:
        if isinstance(detail, Mapping) and detail.get("@type", "").endswith("QuotaFailure"):
            for violation in detail.get("violations") or []:
                if str(violation.get("quotaValue", "")) == "0":
                    return True
    return False


def _retry_delay(details: Sequence[Any], headers: Any) -> float | None:
    """Seconds from `RetryInfo.retryDelay` (`"46s"`, `"1.5s"`), else the `Retry-After` header."""
    for detail in details:
        if isinstance(detail, Mapping) and detail.get("@type", "").endswith("RetryInfo"):
            delay = str(detail.get("retryDelay") or "")
            try:
                return float(delay.removesuffix("s"))
            except ValueError:
                break
    return parse_retry_after(headers) if headers is not None else None
