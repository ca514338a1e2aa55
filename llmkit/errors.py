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
    ├── InvalidResponseError                    the host sent something unparseable
    ├── OutputValidationError                   the answer did not match `output=` after re-asks
    └── MaxTurnsExceededError                   the tool loop ran out of turns

Every error carries `provider`, `model`, `status_code`, `request_id` and
`retryable` where known. Messages never contain a secret: see `redact()`.

An error keeps at most `ERROR_BODY_LIMIT` characters of the host's error body
(the prefix; a 50 MB error page is not held, nor scanned for keys, whole).
Under an error, its `__cause__` / `__context__` chain holds llmkit errors and
`UnderlyingError`s: redacted, bounded summaries of the library exceptions
llmkit translated, never those exceptions themselves (`scrub_chain`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from llmkit.types import Response

__all__ = [
    "ERROR_BODY_LIMIT",
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
    "MaxTurnsExceededError",
    "ModelNotFoundError",
    "NotFoundError",
    "OutputValidationError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "UnderlyingError",
    "UnsupportedContentError",
    "bounded",
    "redact",
    "redact_data",
    "scrub_chain",
]

ERROR_BODY_LIMIT = 64 * 1024
"""Characters of a host's error body (and of a message) an error keeps: the prefix."""

LLMErrorT = TypeVar("LLMErrorT", bound="LLMError")

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


_CUT = "…[cut]"


def bounded(text: str, limit: int = ERROR_BODY_LIMIT) -> str:
    """The first `limit` characters of `text`, marked `…[cut]` if longer.

    A word cut in two is dropped whole, so the start of a key cut at the
    limit is not left behind too short to look like a key.
    """
    if len(text) <= limit:
        return text
    end = limit
    while end and (text[end - 1].isalnum() or text[end - 1] in "_-."):
        end -= 1
    return text[:end] + _CUT


def _bounded_body(value: Any, budget: list[int]) -> Any:
    """`value` with its strings cut to what is left of `budget` (characters), redacted."""
    if budget[0] <= 0:
        return _CUT
    if isinstance(value, bytes | bytearray | memoryview):
        # 4 bytes per character at most: decode no more than the budget can keep
        value = bytes(value[: budget[0] * 4]).decode("utf-8", "replace")
    if isinstance(value, str):
        kept = bounded(value, budget[0])
        budget[0] -= len(kept)
        return redact(kept)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if budget[0] <= 0:
                out[_CUT] = _CUT
                break
            name = _bounded_body(key, budget) if isinstance(key, str) else key
            out[name] = _bounded_body(item, budget)
        return out
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            if budget[0] <= 0:
                items.append(_CUT)
                break
            items.append(_bounded_body(item, budget))
        return items
    budget[0] -= 1
    return value


class UnderlyingError(Exception):
    """A redacted summary of a non-llmkit exception found under an llmkit error.

    llmkit translates library exceptions (an `httpx2.ReadTimeout`, an SDK's
    `APIStatusError` whose message echoes the request's key) into its own
    errors; the chain below an `LLMError` keeps this stand-in instead: the
    original's `type_name` (`module.QualName`), its message bounded and redacted,
    and its traceback, for debugging. Never raised by llmkit itself.
    """

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name = type_name
        self.message = message
        super().__init__(f"{type_name}: {message}" if message else type_name)


def _summary(exc: BaseException, seen: dict[int, BaseException], depth: int) -> BaseException:
    """`exc` as it may appear under an llmkit error (memoised by identity in `seen`)."""
    if id(exc) in seen:
        return seen[id(exc)]
    if isinstance(exc, LLMError | UnderlyingError):
        seen[id(exc)] = exc
        _scrub_links(exc, seen, depth)
        return exc
    cls = type(exc)
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not hide the error above it
        text = ""
    stand_in = UnderlyingError(f"{cls.__module__}.{cls.__qualname__}", redact(bounded(text, 1024)))
    stand_in.__traceback__ = exc.__traceback__
    seen[id(exc)] = stand_in
    stand_in.__cause__ = exc.__cause__
    stand_in.__context__ = exc.__context__
    stand_in.__suppress_context__ = exc.__suppress_context__
    _scrub_links(stand_in, seen, depth)
    return stand_in


def _scrub_links(exc: BaseException, seen: dict[int, BaseException], depth: int) -> None:
    for name in ("__cause__", "__context__"):
        linked = getattr(exc, name)
        if linked is None:
            continue
        if linked is exc or depth >= 16:
            setattr(exc, name, None)  # never its own cause; a chain of bounded length
        else:
            setattr(exc, name, _summary(linked, seen, depth + 1))


def scrub_chain(error: LLMErrorT) -> LLMErrorT:
    """`error`, its chain made safe to show: returns the same object, changed in place.

    Every exception under `error` (`__cause__`, `__context__`, and theirs) that
    is not an llmkit error becomes an `UnderlyingError` (type name, redacted
    and bounded message, original traceback); a link from an error to itself
    is removed; the chain is cut after 16 links. Idempotent and cheap.
    """
    _scrub_links(error, {id(error): error}, 0)
    return error


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
        self.message = redact(bounded(message))
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.request_id = request_id
        self.retryable = self.retryable_default if retryable is None else retryable
        self.body = None if body is None else _bounded_body(body, [ERROR_BODY_LIMIT])
        """The host's error body, parsed where it was JSON, key-shaped strings redacted.

        At most `ERROR_BODY_LIMIT` characters of it (bytes are decoded): a longer
        text is cut to its prefix and ends in `…[cut]`."""
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


class UnsupportedContentError(ConfigurationError):
    """A content part the host cannot take (its kind, media type or size), raised before
    sending (`llmkit.media_support`); the request, not the settings, must change."""


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


class OutputValidationError(LLMError):
    """The model's answer did not match `output=` after every re-ask (`errors`, `raw`, `attempts`)."""

    def __init__(
        self,
        message: str,
        *,
        errors: tuple[Any, ...] = (),
        raw: str | None = None,
        attempts: int = 0,
        messages: tuple[Any, ...] = (),
        response: Response | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors
        """What was wrong with the last answer: `llmkit.output.Issue`s (`path`, `message`)."""
        self.raw = raw
        """The last answer's text (or output-tool arguments), as the model sent it."""
        self.attempts = attempts
        """How many answers were asked for (the first and every re-ask)."""
        self.messages = messages
        """The conversation, re-asks included."""
        self.response = response
        """The last reply, with `usage` and `cost` summed over every attempt."""


class MaxTurnsExceededError(LLMError):
    """The tool loop of `run` reached `max_turns` without a final answer (`messages`, `response`)."""

    def __init__(
        self,
        message: str,
        *,
        messages: tuple[Any, ...] = (),
        response: Response | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.messages = messages
        """The conversation so far, the last turn's tool results included."""
        self.response = response
        """The last reply, with `usage` and `cost` summed over every turn."""
