from __future__ import annotations

import pytest

from llmkit import errors


def test_tree_matches_design() -> None:
    assert issubclass(errors.ModelNotFoundError, errors.NotFoundError)
    assert issubclass(errors.ContextLengthExceededError, errors.InvalidRequestError)
    assert issubclass(errors.OverloadedError, errors.ServerError)
    assert issubclass(errors.ConfigurationError, ValueError)
    for name in errors.__all__:
        obj = getattr(errors, name)
        if (
            isinstance(obj, type) and obj is not errors.UnderlyingError
        ):  # a chain link, never raised
            assert issubclass(obj, errors.LLMError)


@pytest.mark.parametrize(
    ("cls", "retryable"),
    [
        (errors.RateLimitError, True),
        (errors.ServerError, True),
        (errors.OverloadedError, True),
        (errors.APITimeoutError, True),
        (errors.APIConnectionError, True),
        (errors.InvalidRequestError, False),
        (errors.AuthenticationError, False),
        (errors.NotFoundError, False),
        (errors.StreamError, False),
    ],
)
def test_retryable_defaults(cls: type[errors.LLMError], retryable: bool) -> None:
    assert cls("x").retryable is retryable
    assert cls("x", retryable=not retryable).retryable is (not retryable)


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-abcdefghijklmnopqrstuvwx",
        "sk-ant-api03-abcdefghijklmnop",
        "gsk_abcdefghijklmnopqrstuv",
        "AIzaSyA1234567890abcdefghijklmnop",
        "sk-or-v1-0123456789abcdef0123",
    ],
)
def test_keys_never_appear_in_messages_str_or_repr(secret: str) -> None:
    error = errors.AuthenticationError(f"Incorrect API key provided: {secret}", provider="x")
    for text in (error.message, str(error), repr(error)):
        assert secret not in text
        assert "***" in text


def test_redact_removes_explicit_secrets_and_bearer_tokens() -> None:
    assert errors.redact("token custom-key-123 used", "custom-key-123") == "token *** used"
    assert "abc.def.ghi123" not in errors.redact("Authorization: Bearer abc.def.ghi123")


def test_str_names_where_the_error_came_from() -> None:
    error = errors.RateLimitError(
        "slow down", provider="groq", model="m", status_code=429, request_id="r1", retry_after=2.0
    )
    assert str(error) == "slow down (provider=groq, model=m, status=429, request_id=r1)"
    assert error.retry_after == 2.0


def test_credentials_inside_urls_are_redacted() -> None:
    error = errors.APIConnectionError("could not reach redis://:hunter22@cache.local:6379/0")
    assert "hunter22" not in str(error)
    assert "redis://***@cache.local:6379/0" in error.message


def test_a_key_the_host_echoes_in_its_error_body_is_redacted_there_too() -> None:
    key = "sk-proj-abcdefghijklmnopqrstuvwx"
    body = {"error": {"message": f"Incorrect API key provided: {key}", "code": "invalid_api_key"}}
    error = errors.AuthenticationError("Incorrect API key provided", body=body)
    assert key not in repr(error.body)
    assert error.body["error"]["code"] == "invalid_api_key"
    assert key not in str(errors.ServerError("x", body=f"<html>{key}</html>".encode()).body)
