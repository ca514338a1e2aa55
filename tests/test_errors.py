from __future__ import annotations

import itertools

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


# -- bounded bodies --------------------------------------------------------------


def test_a_long_body_is_kept_as_a_redacted_prefix() -> None:
    key = "sk-proj-abcdefghijklmnopqrstuvwx"
    page = ("<p>" + key + "</p>\n") * 200_000  # ~8 MB
    error = errors.ServerError("bad gateway", body=page.encode())
    assert isinstance(error.body, str)
    assert len(error.body) <= errors.ERROR_BODY_LIMIT + len("…[cut]")
    assert error.body.endswith("…[cut]") and key not in error.body
    assert error.body.startswith("<p>***</p>")


def test_a_key_cut_at_the_limit_leaves_no_stub_behind() -> None:
    prefix = "x " * ((errors.ERROR_BODY_LIMIT - 6) // 2)
    text = prefix + "sk-proj-abcdefghijklmnopqrstuvwx and more"
    kept = errors.bounded(text)
    assert kept.endswith("…[cut]") and "sk-pr" not in kept


def test_a_large_parsed_body_is_bounded_in_total() -> None:
    body = {"error": {"message": "m", "detail": ["y" * 1000] * 1000}}
    error = errors.InvalidRequestError("bad", body=body)
    assert error.body["error"]["message"] == "m"
    kept = error.body["error"]["detail"]
    assert sum(len(item) for item in kept) <= errors.ERROR_BODY_LIMIT + 100
    assert kept[-1] == "…[cut]"


def test_short_bodies_are_kept_whole() -> None:
    assert errors.APIError("x", body=b'{"a": 1}').body == '{"a": 1}'
    assert errors.APIError("x", body={"a": [1, None, True]}).body == {"a": [1, None, True]}
    assert errors.APIError("x").body is None


# -- chains -------------------------------------------------------------------


class VendorError(Exception):
    """A vendor SDK's error that keeps the whole response, key and all."""

    def __init__(self, message: str, response: object) -> None:
        super().__init__(message)
        self.response = response


KEY = "sk-ant-api03-abcdefghijklmnopqrstuvwx"


def _raised_from_vendor() -> errors.AuthenticationError:
    try:
        try:
            raise OSError(f"low level with {KEY}")
        except OSError as low:
            raise VendorError(f"Error 401: {KEY}", response={"key": KEY}) from low
    except VendorError as exc:
        try:
            raise errors.AuthenticationError("401", provider="p") from exc
        except errors.AuthenticationError as error:
            return error


def test_scrub_chain_replaces_foreign_links_with_redacted_summaries() -> None:
    error = errors.scrub_chain(_raised_from_vendor())
    summary = error.__cause__
    assert isinstance(summary, errors.UnderlyingError)
    assert summary.type_name == f"{__name__}.VendorError"
    assert KEY not in str(summary) and "***" in str(summary)
    assert not hasattr(summary, "response")
    assert summary.__traceback__ is not None
    low = summary.__cause__
    assert isinstance(low, errors.UnderlyingError) and low.type_name == "builtins.OSError"
    assert error.__context__ is summary  # the same exception, one summary


def test_scrub_chain_removes_a_self_cause_and_is_idempotent() -> None:
    error = errors.ServerError("x")
    error.__cause__ = error
    error.__context__ = error
    assert errors.scrub_chain(errors.scrub_chain(error)) is error
    assert error.__cause__ is None and error.__context__ is None


def test_scrub_chain_bounds_a_long_chain_and_a_cycle() -> None:
    top = errors.ServerError("top")
    links = [ValueError(str(i)) for i in range(50)]
    top.__cause__ = links[0]
    for a, b in itertools.pairwise(links):
        a.__cause__ = b
    links[-1].__cause__ = links[0]  # a cycle
    errors.scrub_chain(top)
    seen, current = 0, top.__cause__
    while current is not None:
        seen += 1
        current = current.__cause__
    assert seen <= 17
