"""llmkit's errors: one tree for every host, so callers catch by meaning, not by SDK.

    LLMError
    ├── ConfigurationError (also ValueError)    bad settings, unknown model or provider, missing SDK
    ├── BudgetExceededError                     a request would cross a cost budget
    ├── APIError                                the host answered with an error
    │   ├── AuthenticationError                 401
    │   ├── PermissionDeniedError               403
    │   ├── NotFoundError                       404
    │   │   └── ModelNotFoundError              404 naming a model
    │   ├── RateLimitError                      429 (`retry_after`)
    │   ├── InvalidRequestError                 400, 413, 422
    │   │   └── ContextLengthExceededError      the prompt does not fit the context window
    │   ├── ContentFilterError                  the host refused on safety grounds
    │   └── ServerError                         5xx
    │       └── OverloadedError                 503, 529
    ├── APITimeoutError                         no answer in time
    ├── APIConnectionError                      the host could not be reached
    ├── StreamError                             the stream broke (`partial`)
    └── InvalidResponseError                    the host sent something unparseable

Every error carries `provider`, `model`, `status_code`, `request_id` and
`retryable` where known. Messages never contain a secret: see `redact()`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmkit.types import Response

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BudgetExceededError",
    "ConfigurationError",
    "ContentFilterError",
    "ContextLengthExceededError",
    "InvalidRequestError",
    "InvalidResponseError",
    "LLMError",
    "ModelNotFoundError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "redact",
    "redact_data",
]

# Key shapes of the hosts llmkit knows, and bearer tokens in general; compiled
# on first use (by `re`'s own cache) rather than at import.
_SECRET = (
    r"(sk-(?:proj-|ant-(?:api\d+-)?|or-v1-)?[A-Za-z0-9_\-]{8,}"
    r"|gsk_[A-Za-z0-9]{8,}"
    r"|AIza[0-9A-Za-z_\-]{20,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._\-]{8,})"
)


# Credentials inside a URL: `redis://user:password@host` keeps only the scheme and host.
_URL_CREDENTIALS = r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#@\s]+@"


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every API-key-shaped string, URL credentials, and each of `secrets` as `***`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = re.sub(_URL_CREDENTIALS, r"\1***@", text)
    return re.sub(_SECRET, "***", text)


def redact_data(value: Any) -> Any:
    """`value` (parsed JSON, text or bytes) with `redact` applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace"))
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


class LLMError(Exception):
    """Root of every error llmkit raises."""

    retryable_default = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
        body: Any = None,
        partial: Response | None = None,
    ) -> None:
        self.message = redact(message)
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.request_id = request_id
        self.retryable = self.retryable_default if retryable is None else retryable
        self.body = redact_data(body)
        """The host's error body, parsed where it was JSON (key-shaped strings redacted)."""
        self.partial = partial
        """For an error that ended a stream: the response assembled from what did arrive."""
        super().__init__(self.message)

    def __str__(self) -> str:
        where = ", ".join(
            f"{k}={v}"
            for k, v in (
                ("provider", self.provider),
                ("model", self.model),
                ("status", self.status_code),
                ("request_id", self.request_id),
            )
            if v is not None
        )
        return f"{self.message} ({where})" if where else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, status_code={self.status_code!r})"


class ConfigurationError(LLMError, ValueError):
    """Raised before any request: bad settings, unknown model or provider, missing SDK or key."""


class BudgetExceededError(LLMError):
    """Raised when a request's worst-case cost would cross a `Budget`."""


class APIError(LLMError):
    """The host answered with an error status or an error payload."""


class AuthenticationError(APIError):
    """401: the key is missing, wrong or revoked."""


class PermissionDeniedError(APIError):
    """403: the key may not use this model, region or feature."""


class NotFoundError(APIError):
    """404: no such endpoint or resource."""


class ModelNotFoundError(NotFoundError):
    """404 for a model the host does not serve (or no longer serves)."""


class RateLimitError(APIError):
    """429: too many requests or tokens; `retry_after` says how long the host asked to wait."""

    retryable_default = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        """Seconds to wait, from `Retry-After`, `retry-after-ms` or the body; None if not given."""


class InvalidRequestError(APIError):
    """400, 413 or 422: the request itself is wrong; retrying will not help."""


class ContextLengthExceededError(InvalidRequestError):
    """The prompt and requested output do not fit the model's context window."""


class ContentFilterError(APIError):
    """The host refused the prompt or the reply on safety grounds."""


class ServerError(APIError):
    """5xx: the host failed."""

    retryable_default = True


class OverloadedError(ServerError):
    """503 or 529: the host is overloaded; try later or elsewhere."""


class APITimeoutError(LLMError):
    """The host did not answer (or stopped answering) in time."""

    retryable_default = True


class APIConnectionError(LLMError):
    """The host could not be reached."""

    retryable_default = True


class StreamError(LLMError):
    """The stream broke before it ended (cut, stalled, or no finish); `partial` holds what arrived."""


class InvalidResponseError(LLMError):
    """The host sent something llmkit could not parse."""
