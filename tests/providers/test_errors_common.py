"""Non-JSON error bodies: every codec's message is short text; `.body` keeps the whole page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers._codecs import (
    anthropic_messages,
    cohere_chat,
    gemini_generate,
    ollama_chat,
    openai_chat_errors,
)
from llmkit.providers._codecs._errors_common import (
    CONTEXT_OVERFLOW_WORDS,
    error_class,
    excerpt,
    is_context_overflow,
    json_object,
    parse_json_or_text,
)

CLOUDFLARE_502 = (
    "<!DOCTYPE html>\n<html>\n<head>\n<title>api.example.com | 502: Bad gateway</title>\n"
    "<style>" + "body { margin: 0 }\n" * 3000 + "</style>\n</head>\n<body>Bad gateway</body></html>"
)


def test_excerpt_takes_the_html_title() -> None:
    assert len(CLOUDFLARE_502) > 50_000
    assert excerpt(CLOUDFLARE_502) == "api.example.com | 502: Bad gateway"
    assert excerpt(CLOUDFLARE_502.encode()) == "api.example.com | 502: Bad gateway"
    assert excerpt("<html><TITLE>\n  A &amp; B \n</TITLE></html>") == "A & B"


def test_excerpt_of_text_without_a_title_is_its_collapsed_start() -> None:
    assert excerpt(b"upstream   connect error\n\tor disconnect") == (
        "upstream connect error or disconnect"
    )
    long = excerpt("x " * 1000)
    assert len(long) <= 200
    assert long.endswith("…")
    assert excerpt(b"\xff\xfeoops") == "\ufffd\ufffdoops"  # decoded, never a bytes repr
    assert excerpt("") == ""
    assert excerpt("<html><title> </title>body text</html>").startswith("<html>")


BUILDERS: dict[str, Callable[[int, Any], errors.LLMError]] = {
    "openai": lambda status, body: openai_chat_errors.error_from_body(
        status, body, provider="groq"
    ),
    "anthropic": lambda status, body: anthropic_messages.error_from_body(status, body),
    "gemini": lambda status, body: gemini_generate.error_from_body(status, body),
    "ollama": lambda status, body: ollama_chat.error_from_body(status, body),
    "cohere": lambda status, body: cohere_chat.error_from_body(status, body),
}


@pytest.mark.parametrize("codec", sorted(BUILDERS))
@pytest.mark.parametrize("as_bytes", [False, True], ids=["text", "bytes"])
def test_an_html_error_page_becomes_a_short_message(codec: str, as_bytes: bool) -> None:
    body: Any = CLOUDFLARE_502.encode() if as_bytes else CLOUDFLARE_502
    if codec in ("ollama", "cohere", "openai") and as_bytes:
        body = CLOUDFLARE_502  # their providers hand the codec decoded text
    error = BUILDERS[codec](502, body)
    assert isinstance(error, errors.ServerError)
    assert "502: Bad gateway" in error.message
    assert len(error.message) < 300
    assert "b'" not in error.message and "<style>" not in error.message
    assert error.body == CLOUDFLARE_502


@pytest.mark.parametrize("codec", sorted(BUILDERS))
def test_a_plain_text_error_is_kept_short_and_collapsed(codec: str) -> None:
    error = BUILDERS[codec](500, "internal\n\nerror " + "z" * 5000)
    assert "internal error" in error.message
    assert len(error.message) < 300


def test_json_object_reads_an_object() -> None:
    assert json_object(b'{"a": 1}', provider="p") == {"a": 1}


@pytest.mark.parametrize("content", [b"", b"[1, 2]", b"{oops", CLOUDFLARE_502.encode()])
def test_json_object_refuses_anything_else_with_an_excerpt(content: bytes) -> None:
    with pytest.raises(errors.InvalidResponseError) as caught:
        json_object(content, provider="p", model="m", status=200)
    assert caught.value.message.startswith("p answered HTTP 200 with a body that is not a JSON")
    assert "b'" not in caught.value.message
    assert (caught.value.model, caught.value.status_code) == ("m", 200)
    assert caught.value.body == content.decode()


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        (b'{"error": "x"}', {"error": "x"}),
        ('{"error": "x"}', {"error": "x"}),
        (b"<html>oops</html>", "<html>oops</html>"),
        (b"\xff{", "\ufffd{"),
        ({"already": "parsed"}, {"already": "parsed"}),
        (None, None),
    ],
)
def test_parse_json_or_text(body: object, parsed: object) -> None:
    assert parse_json_or_text(body) == parsed


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.InvalidRequestError),
        (402, errors.APIError),
        (404, errors.NotFoundError),
        (429, errors.RateLimitError),
        (498, errors.AuthenticationError),
        (529, errors.OverloadedError),
        (502, errors.ServerError),
        (418, errors.APIError),
    ],
)
def test_error_class_by_status_with_a_host_table(status: int, cls: type[errors.LLMError]) -> None:
    assert error_class(status, {498: errors.AuthenticationError}) is cls


# -- context overflow: one shared list, per-host additions ------------------------------

OVERFLOW = "This model's maximum context length is 8192 tokens; the prompt is too long"


def test_context_overflow_words_are_shared_and_a_host_adds_its_own() -> None:
    assert is_context_overflow(OVERFLOW)
    assert is_context_overflow("CONTEXT_LENGTH_EXCEEDED")  # any case
    assert not is_context_overflow("input exceeds the maximum number of tokens")
    assert is_context_overflow("input exceeds the maximum number of tokens", ("maximum number",))
    assert not is_context_overflow("invalid api key")
    assert len(set(CONTEXT_OVERFLOW_WORDS)) == len(CONTEXT_OVERFLOW_WORDS)


@pytest.mark.parametrize("codec", sorted(BUILDERS))
def test_every_codec_reads_the_shared_overflow_words(codec: str) -> None:
    body = {"error": {"message": OVERFLOW, "type": "invalid_request_error"}, "message": OVERFLOW}
    assert isinstance(BUILDERS[codec](400, body), errors.ContextLengthExceededError)
    assert not isinstance(
        BUILDERS[codec](400, {"error": {"message": "bad"}, "message": "bad"}),
        errors.ContextLengthExceededError,
    )


def test_host_additions_stay_with_their_host() -> None:
    gemini = {"error": {"message": "The input token count exceeds the maximum number of tokens"}}
    assert isinstance(
        gemini_generate.error_from_body(400, gemini), errors.ContextLengthExceededError
    )
    ollama = {"error": "input too long for this model"}
    assert isinstance(ollama_chat.error_from_body(400, ollama), errors.ContextLengthExceededError)
    assert not isinstance(
        cohere_chat.error_from_body(400, {"message": "input too long for this model"}),
        errors.ContextLengthExceededError,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"type": "error", "error": {"type": "rate_limit_error", "message": "limit: 0 for this"}},
        {
            "error": {
                "type": "rate_limit_error",
                "message": "x",
                "details": {"error_code": "enforced_spend_limit_reached"},
            }
        },
    ],
)
def test_anthropic_quota_checks_go_through_quota_exhausted(body: dict[str, Any]) -> None:
    error = anthropic_messages.error_from_body(429, body)
    assert isinstance(error, errors.RateLimitError) and not error.retryable
