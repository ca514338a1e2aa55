"""What every codec's error builder shares: a short message from a body that is not JSON.

Also the two ways a provider reads a body: `json_object` for a success reply,
`parse_json_or_text` for an error reply (handed on to the codec's `error_from_body`).

Error pages from proxies and load balancers (a Cloudflare 502 is some 60 KB of
HTML) must not become the error's message: the message gets the page's
`<title>`, or its first ~200 characters with whitespace collapsed, always as
decoded text. The error keeps the text, up to `ERROR_BODY_LIMIT`, in `.body`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from llmkit.errors import (
    ERROR_BODY_LIMIT,
    APIError,
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    InvalidResponseError,
    LLMError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    bounded,
)

__all__ = [
    "CONTEXT_OVERFLOW_WORDS",
    "EXCERPT_LENGTH",
    "HTTP_ERRORS",
    "body_text",
    "error_class",
    "excerpt",
    "is_context_overflow",
    "json_object",
    "not_json_error",
    "parse_json_or_text",
]

EXCERPT_LENGTH = 200
"""Characters of a non-JSON body kept in a message."""

HTTP_ERRORS: Mapping[int, type[LLMError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: APITimeoutError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
    503: OverloadedError,
    504: APITimeoutError,
    529: OverloadedError,
}
"""The error class of each HTTP status every host means the same way."""

CONTEXT_OVERFLOW_WORDS: tuple[str, ...] = (
    "context_length_exceeded",
    "context length",
    "context_length",
    "context window",
    "context_window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "reduce the length",
)
"""Words, in any host's error message, type or code, that say the prompt does not fit the
model's context window (a host adds its own wording: `is_context_overflow(text, extra)`)."""

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


def body_text(body: object) -> str:
    """`body` as text: bytes decoded as UTF-8 (bad bytes replaced), `None` as "".

    At most `ERROR_BODY_LIMIT` characters (`errors.bounded`): a 50 MB error page
    costs no more to read a message from than its first 64 KiB.
    """
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray | memoryview):
        body = bytes(body[: ERROR_BODY_LIMIT * 4]).decode("utf-8", errors="replace")
    return bounded(body if isinstance(body, str) else str(body))


def excerpt(body: object, limit: int = EXCERPT_LENGTH) -> str:
    """A short one-line summary of a non-JSON body: its HTML `<title>`, else its start.

    Example:
        >>> excerpt(b"<html><head><title>502 Bad Gateway</title></head>...</html>")
        '502 Bad Gateway'
    """
    text = body_text(body)
    title = _TITLE.search(text)
    if title is not None:
        named = _SPACE.sub(" ", html.unescape(title.group(1))).strip()
        if named:
            return named[:limit]
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def not_json_error(
    body: object,
    *,
    provider: str,
    model: str | None = None,
    status: int | None = None,
    expected: str = "a JSON object",
) -> InvalidResponseError:
    """The error for a success reply whose body is not the JSON the API documents.

    Args:
        body: the body as received (bytes or text); kept whole in the error's `body`.
        provider: the provider's name.
        model: the requested model, where known.
        status: the HTTP status the body came with.
        expected: what the body should have been, for the message.
    """
    text = body_text(body)
    shown = excerpt(text) or "an empty body"
    return InvalidResponseError(
        f"{provider} answered HTTP {status} with a body that is not {expected} ({shown}); "
        "a proxy or gateway may be in the way: check `base_url`, or retry later",
        provider=provider,
        model=model,
        status_code=status,
        body=text,
    )


def json_object(
    content: bytes | str, *, provider: str, model: str | None = None, status: int | None = None
) -> Mapping[str, Any]:
    """A success reply's body as the JSON object the API documents.

    Args:
        content: the body as received.
        provider: the provider's name, for the error.
        model: the requested model, where known.
        status: the HTTP status the body came with.

    Raises:
        InvalidResponseError: the body is empty, malformed, HTML, or JSON but not an object
            (`not_json_error`).
    """
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if not isinstance(body, Mapping):
        raise not_json_error(content, provider=provider, model=model, status=status)
    return body


def parse_json_or_text(body: object) -> object:
    """An error body parsed as JSON, else as text (bytes decoded); other values as they are."""
    text = body_text(body) if isinstance(body, bytes | bytearray | memoryview) else body
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def error_class(status: int, host: Mapping[int, type[LLMError]] | None = None) -> type[LLMError]:
    """The error class for an HTTP `status`: the host's own table first, then `HTTP_ERRORS`.

    Any other 5xx is a `ServerError`, any other status an `APIError`.

    Example:
        >>> error_class(498, {498: AuthenticationError}).__name__
        'AuthenticationError'
    """
    found = (host or {}).get(status) or HTTP_ERRORS.get(status)
    if found is not None:
        return found
    return ServerError if status >= 500 else APIError


def is_context_overflow(text: str, extra: tuple[str, ...] = ()) -> bool:
    """Whether an error's `text` says the prompt does not fit the context window.

    Args:
        text: the message (with the error's type and code, where a host has them).
        extra: the host's own wording, on top of `CONTEXT_OVERFLOW_WORDS`.

    Example:
        >>> is_context_overflow("input exceeds the maximum number of tokens", ("maximum number",))
        True
    """
    lowered = text.lower()
    return any(word in lowered for word in CONTEXT_OVERFLOW_WORDS + extra)
