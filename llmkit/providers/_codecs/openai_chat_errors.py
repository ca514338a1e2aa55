"""OpenAI-compatible error bodies, mapped onto llmkit's error tree.

Pure: one function from (status, body, headers) to an `LLMError`. Bodies seen
in the wild: OpenAI, Groq and DeepSeek `{"error": {"message", "type", "param",
"code"}}`; OpenRouter `{"error": {"code": <int>, "message", "metadata"}}`;
Mistral `{"object": "error", "message", "type", "code"}`; Ollama `{"error": "..."}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmkit import errors
from llmkit.providers._codecs import _errors_common
from llmkit.providers._codecs._errors_common import error_class, excerpt, parse_json_or_text
from llmkit.retry import parse_retry_after, quota_exhausted

__all__ = ["error_from_body", "error_parts", "is_context_overflow"]

_FILTERED = frozenset({"content_filter", "ResponsibleAIPolicyViolation"})
"""Error codes of a prompt refused by a content filter (Azure OpenAI)."""

_BY_TYPE: dict[str, type[errors.LLMError]] = {
    "invalid_request_error": errors.InvalidRequestError,
    "authentication_error": errors.AuthenticationError,
    "permission_error": errors.PermissionDeniedError,
    "not_found_error": errors.NotFoundError,
    "rate_limit_error": errors.RateLimitError,
    "rate_limited": errors.RateLimitError,
    "overloaded_error": errors.OverloadedError,
    "api_error": errors.ServerError,
    "server_error": errors.ServerError,
    "internal_server_error": errors.ServerError,
    "rate_limit_exceeded": errors.RateLimitError,
    "timeout_error": errors.APITimeoutError,
}


def error_parts(body: Any) -> tuple[str, str | None, str | None, int | None]:
    """`(message, type, code, status)` from any of the error body shapes above."""
    if isinstance(body, bytes | bytearray | str):
        # an HTML page from a proxy: its title, not 60 KB of markup (`.body` keeps it all)
        return excerpt(body), None, None, None
    if not isinstance(body, Mapping):
        return "", None, None, None
    inner = body.get("error")
    if isinstance(inner, str):
        return inner, None, None, None
    source = inner if isinstance(inner, Mapping) else body
    message = source.get("message")
    if isinstance(message, Mapping | list):  # some hosts nest structured detail here
        message = str(message)
    kind = source.get("type")
    code = source.get("code")
    status = source.get("status_code")  # Groq, in-stream
    if isinstance(code, int) and not isinstance(code, bool):
        status, code = status or code, None  # OpenRouter: numeric code is the status
    return (
        str(message or ""),
        str(kind) if kind else None,
        str(code) if code is not None else None,
        status if isinstance(status, int) else None,
    )


def is_context_overflow(message: str, kind: str | None, code: str | None) -> bool:
    """Whether an error says the prompt does not fit the model's context window."""
    return _errors_common.is_context_overflow(" ".join(filter(None, (message, kind, code))))


def error_from_body(
    status: int | None,
    body: Any,
    headers: Any = None,
    *,
    provider: str,
    model: str | None = None,
) -> errors.LLMError:
    """The llmkit error for an error reply (or an error payload inside a 200 stream).

    Args:
        status: the HTTP status; None for an in-stream error whose payload carries none.
        body: the body as received (bytes or text, parsed here where it is JSON), or
            already parsed.
        headers: the response headers (for `Retry-After` and the request id).
        provider: the provider's name, for the message and the error's attributes.
        model: the requested model, where known.
    """
    if isinstance(body, bytes | bytearray | memoryview | str):
        body = parse_json_or_text(body)  # the reply's raw body: its JSON where it is JSON
    message, kind, code, body_status = error_parts(body)
    if status is None or status < 400:
        status = body_status or status
    request_id = _request_id(headers)
    common: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "status_code": status,
        "request_id": request_id,
        "body": body,
    }
    message = message or f"{provider} answered HTTP {status} with no error message"
    message += _upstream(body)
    cls = _classify(status, message, kind, code)

    if cls is errors.RateLimitError or status == 402:
        return _rate_limit(status, message, code, headers, provider, common)
    if code == "model_decommissioned":
        # Groq retires models every few months: https://console.groq.com/docs/deprecations
        return errors.ModelNotFoundError(
            f"{message} (the model was retired by {provider}; "
            "pick a current one with `provider.list_models()`)",
            **common,
        )
    if code in _FILTERED:
        # Azure's content filter refusing a prompt: a 400 retrying will not help
        # https://learn.microsoft.com/azure/ai-foundry/openai/concepts/content-filter
        return errors.ContentFilterError(message, retryable=False, **common)
    if cls is errors.NotFoundError and (code == "model_not_found" or "model" in message.lower()):
        cls = errors.ModelNotFoundError
    retryable = True if status in (408, 409) else None
    return cls(message, retryable=retryable, **common)


def _classify(
    status: int | None, message: str, kind: str | None, code: str | None
) -> type[errors.LLMError]:
    if (status in (400, 413, 422) or status is None or status < 400) and is_context_overflow(
        message, kind, code
    ):
        return errors.ContextLengthExceededError
    if status is not None and status >= 400:
        return error_class(status)
    # In a 200 stream (Groq `event: error`, OpenRouter error chunks) with no status: by the
    # error's type, else its string code (OpenRouter: `"code": "server_error"`).
    for name in (kind, code):
        if name in _BY_TYPE:
            return _BY_TYPE[name]
    return errors.APIError


def _rate_limit(
    status: int | None,
    message: str,
    code: str | None,
    headers: Any,
    provider: str,
    common: dict[str, Any],
) -> errors.RateLimitError:
    retry_after = parse_retry_after(headers)
    if code == "insufficient_quota" or (status == 429 and quota_exhausted(429, common["body"])):
        # A billing cap, not a rate: waiting will not help.
        # https://help.openai.com/en/articles/6891831-error-code-429-you-exceeded-your-current-quota
        return errors.RateLimitError(
            f"{message} ({provider}: the account is out of quota; check billing, "
            "retrying will not help)",
            retryable=False,
            **common,
        )
    if status == 402:
        # OpenRouter: out of credits; retryable only when it says when to come back.
        # https://openrouter.ai/docs/api-reference/errors
        return errors.RateLimitError(
            f"{message} ({provider}: insufficient credits; add credits to the account, "
            "or lower max_tokens)",
            retry_after=retry_after,
            retryable=retry_after is not None,
            **common,
        )
    return errors.RateLimitError(message, retry_after=retry_after, **common)


def _upstream(body: Any) -> str:
    """OpenRouter's upstream detail (`error.metadata.raw`), which says what actually failed."""
    inner = body.get("error") if isinstance(body, Mapping) else None
    metadata = inner.get("metadata") if isinstance(inner, Mapping) else None
    if not isinstance(metadata, Mapping) or not metadata.get("raw"):
        return ""
    raw = metadata["raw"] if isinstance(metadata["raw"], str) else str(metadata["raw"])
    return f" (upstream {metadata.get('provider_name') or 'provider'}: {raw[:300]})"


def _request_id(headers: Any) -> str | None:
    if headers is None:
        return None
    for name in ("x-request-id", "request-id", "x-groq-id"):
        value = headers.get(name)
        if value:
            return str(value)
    return None
