"""Anthropic Messages error bodies (an HTTP error reply, or an in-stream `error` event),
mapped onto llmkit's error tree.

Pure: one function from (status, body, headers) to an `LLMError`. The body is
`{"type": "error", "error": {"type", "message"}, "request_id"}` (HOSTS.md §9,
platform.claude.com/docs/en/api/errors).
"""

from __future__ import annotations

from collections.abc import Mapping
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

_ERROR_TYPES: dict[str, type[LLMError]] = {
    "invalid_request_error": InvalidRequestError,
    "request_too_large": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "billing_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "rate_limit_error": RateLimitError,
    "overloaded_error": OverloadedError,
    "api_error": ServerError,
    "timeout_error": APITimeoutError,
    # Bedrock's stream exception frames (the SDK turns them into `error` events):
    # docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html
    "throttlingException": RateLimitError,
    "serviceUnavailableException": OverloadedError,
    "internalServerException": ServerError,
    "modelStreamErrorException": ServerError,
    "modelTimeoutException": APITimeoutError,
    "validationException": InvalidRequestError,
}


def error_from_body(
    status: int | None,
    body: object,
    headers: Any = None,
    *,
    provider: str = "anthropic",
    model: str | None = None,
) -> LLMError:
    """The llmkit error for an Anthropic error reply (HTTP status, or an in-stream event).

    Args:
        status: the HTTP status; a 2xx (or None) means an in-stream error,
            classified by its `error.type`.
        body: the error body, parsed or as text.
        headers: the response headers, for `retry-after` and `request-id`.
    """
    parsed = parse_json_or_text(body)
    error = parsed.get("error") if isinstance(parsed, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    kind = str(error.get("type") or "")
    # Bedrock and Vertex put their own errors in a top-level `message`.
    top = parsed.get("message") if isinstance(parsed, Mapping) else None
    message = str(error.get("message") or top or "") or _fallback_message(status, body)
    request_id = (parsed.get("request_id") if isinstance(parsed, Mapping) else None) or (
        headers.get("request-id") if headers is not None else None
    )
    common: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "status_code": status,
        "request_id": request_id,
        "body": parsed,
    }
    cls = _error_class(status, kind, message)
    hint = _not_retryable_hint(status, error, parsed)
    if hint is not None:
        return cls(f"{message} ({hint})", retryable=False, **common)
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=parse_retry_after(headers), **common)
    if cls is APIError:
        return APIError(message, retryable=status in (408, 409), **common)
    return cls(message, **common)


def _not_retryable_hint(status: int | None, error: Mapping[str, Any], parsed: object) -> str | None:
    """What to do about an error that waiting will not fix, or None if a retry may help.

    A monthly spend cap (a 429 whose `error.details.error_code` is
    `enforced_spend_limit_reached`: "Don't retry", learn.microsoft.com dev-proxy
    Anthropic page) lifts only when someone raises it; a `billing_error` (402, or
    in-stream) only when the billing is fixed (platform.claude.com/docs/en/api/errors).
    """
    reason = quota_exhausted(status, parsed) if status == 429 else None
    if reason is not None:
        return (
            f"Anthropic: {reason}, https://console.anthropic.com/settings/limits; "
            "retrying will not help until it is raised"
        )
    if error.get("type") == "billing_error":
        return (
            "Anthropic: a billing problem (no credits left, or a payment issue); retrying "
            "will not help: add credits or fix the payment details at "
            "https://console.anthropic.com/settings/billing"
        )
    return None


def _error_class(status: int | None, kind: str, message: str) -> type[LLMError]:
    lowered = message.lower()
    bad_request = status in (400, 413, 422) or (
        (status is None or 200 <= status < 300) and kind in ("invalid_request_error", "")
    )
    if bad_request and is_context_overflow(lowered):
        return ContextLengthExceededError
    if status is None or 200 <= status < 300:
        return _ERROR_TYPES.get(kind, APIError)
    if status == 404:
        return ModelNotFoundError if "model" in lowered else NotFoundError
    # 402 is billing_error: platform.claude.com/docs/en/api/errors
    return error_class(status, {402: PermissionDeniedError})


def _fallback_message(status: int | None, body: object) -> str:
    return f"Anthropic answered HTTP {status}: {excerpt(body)}".strip()
