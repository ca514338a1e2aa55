"""Errors as the gateway answers them: OpenAI's error body, the right status, no secrets.

`GatewayError` is what the gateway itself refuses with (401, 403, 404, 413, ...);
`classify(exc)` maps any exception, llmkit's errors included, to a status, an
OpenAI-shaped body and headers (`Retry-After` on 429). llmkit's messages are
redacted already (`llmkit.errors.redact`); anything that is not an llmkit error
becomes a plain 500 whose message says nothing of the inside.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from llmkit import errors as E
from llmkit.server.wire import WireError

__all__ = ["ClientGone", "GatewayError", "classify", "error_body", "error_class"]

_log = logging.getLogger("llmkit.server")


class GatewayError(Exception):
    """A refusal by the gateway itself, with its status and OpenAI error type/code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.retry_after = retry_after
        super().__init__(message)


class ClientGone(Exception):
    """The caller hung up before its reply was ready (status 499, never delivered)."""


def error_body(
    message: str, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """`{"error": {"message", "type", "param", "code"}}`, as OpenAI sends it."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def _retry_headers(seconds: float | None) -> dict[str, str]:
    if seconds is None or not math.isfinite(seconds):
        return {}
    return {"retry-after": str(max(1, math.ceil(seconds)))}


_UPSTREAM: list[tuple[type[BaseException], int, str, str]] = [
    (E.ContextLengthExceededError, 400, "invalid_request_error", "context_length_exceeded"),
    (E.ContentFilterError, 400, "invalid_request_error", "content_filter"),
    (E.InvalidRequestError, 400, "invalid_request_error", "invalid_request"),
    (E.ModelNotFoundError, 404, "invalid_request_error", "model_not_found"),
    (E.NotFoundError, 404, "invalid_request_error", "not_found"),
    (E.AuthenticationError, 502, "api_error", "upstream_authentication"),
    (E.PermissionDeniedError, 502, "api_error", "upstream_permission_denied"),
    (E.OverloadedError, 503, "api_error", "upstream_overloaded"),
    (E.ServerError, 502, "api_error", "upstream_error"),
    (E.APITimeoutError, 504, "api_error", "upstream_timeout"),
    (E.APIConnectionError, 502, "api_error", "upstream_unreachable"),
    (E.StreamError, 502, "api_error", "upstream_stream_error"),
    (E.InvalidResponseError, 502, "api_error", "upstream_invalid_response"),
    (E.APIError, 502, "api_error", "upstream_error"),
    (E.ConfigurationError, 500, "server_error", "gateway_configuration"),
]
"""llmkit error → (status, type, code), first match wins. The host refusing the
gateway's own key is the gateway's problem (502), not the caller's (401)."""


def classify(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, OpenAI error body and headers for `exc`."""
    if isinstance(exc, GatewayError):
        body = error_body(exc.message, exc.type, exc.code, exc.param)
        return exc.status, body, _retry_headers(exc.retry_after)
    if isinstance(exc, ClientGone):
        message = "The client closed the connection before the reply was ready"
        return 499, error_body(message, "invalid_request_error", "client_disconnected"), {}
    if isinstance(exc, WireError):
        return 400, error_body(exc.message, "invalid_request_error", exc.code, exc.param), {}
    if isinstance(exc, E.BudgetExceededError):
        headers = _retry_headers(getattr(exc, "retry_after", None))
        return 429, error_body(exc.message, "insufficient_quota", "insufficient_quota"), headers
    if isinstance(exc, E.RateLimitError):
        body = error_body(exc.message, "rate_limit_error", "rate_limit_exceeded")
        return 429, body, _retry_headers(exc.retry_after)
    if isinstance(exc, E.LLMError) and _unsupported_content(exc):
        return 400, error_body(exc.message, "invalid_request_error", "unsupported_content"), {}
    if isinstance(exc, E.LLMError):
        for kind, status, type_, code in _UPSTREAM:
            if isinstance(exc, kind):
                return status, error_body(exc.message, type_, code), {}
        return 500, error_body(exc.message, "server_error", type(exc).__name__), {}
    _log.error("llmkit gateway: unexpected error", exc_info=exc)
    message = "The gateway failed on this request; its log has the details"
    return 500, error_body(message, "server_error", "internal_error"), {}


def _unsupported_content(exc: E.LLMError) -> bool:
    """A content part the host cannot take (the caller's to change: 400), also when every
    provider of a fallback chain refused the part."""
    if isinstance(exc, E.UnsupportedContentError):
        return True
    failures = getattr(exc, "failures", None) or ()  # llmkit.fallback.AllProvidersFailedError
    return bool(failures) and all(isinstance(e, E.UnsupportedContentError) for _, e in failures)


def error_class(exc: BaseException) -> str:
    """The error's class name for metrics (`RateLimitError`, `WireError`, ...)."""
    if isinstance(exc, GatewayError):
        return exc.code or f"http_{exc.status}"
    if isinstance(exc, ClientGone):
        return "ClientDisconnected"  # as a stream's caller hanging up is counted
    return type(exc).__name__
