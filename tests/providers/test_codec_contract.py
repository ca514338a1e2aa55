"""Every chat codec in `providers/_codecs/` offers the same four names (see `_codecs/__init__.py`)."""

from __future__ import annotations

import importlib
import inspect

import pytest

from llmkit import errors
from llmkit.providers._codecs import anthropic_messages_errors, gemini_generate_errors
from llmkit.types import Message, Request

CODECS = [
    "openai_chat",
    "openai_responses",
    "anthropic_messages",
    "cohere_chat",
    "gemini_generate",
    "ollama_chat",
]


@pytest.fixture(params=CODECS)
def codec(request: pytest.FixtureRequest) -> object:
    return importlib.import_module(f"llmkit.providers._codecs.{request.param}")


def test_the_four_names_are_exported(codec: object) -> None:
    for name in ("to_params", "parse_reply", "StreamParser", "error_from_body"):
        assert name in codec.__all__, name  # type: ignore[attr-defined]


def test_to_params_takes_request_dialect_and_stream(codec: object) -> None:
    parameters = inspect.signature(codec.to_params).parameters  # type: ignore[attr-defined]
    assert list(parameters)[:2] == ["request", "dialect"]
    assert parameters["stream"].kind is inspect.Parameter.KEYWORD_ONLY


def test_error_from_body_has_the_shared_signature(codec: object) -> None:
    parameters = inspect.signature(codec.error_from_body).parameters  # type: ignore[attr-defined]
    assert list(parameters)[:3] == ["status", "body", "headers"]
    assert parameters["headers"].default is None
    for name in ("provider", "model"):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
    error = codec.error_from_body(  # type: ignore[attr-defined]
        401, b'{"message": "bad key"}', {"retry-after": "1"}, provider="host-x", model="m"
    )
    assert isinstance(error, errors.AuthenticationError)
    assert (error.provider, error.model, error.status_code) == ("host-x", "m", 401)


def test_stream_parsers_feed_bytes_and_report_done_and_error(codec: object) -> None:
    parser = codec.StreamParser(provider="host-x", model="m")  # type: ignore[attr-defined]
    assert parser.done is False and parser.error is None
    assert parser.feed(b"") == []


@pytest.mark.parametrize("name", ["anthropic_messages", "cohere_chat", "ollama_chat"])
def test_stream_true_asks_for_a_stream_in_the_body(name: str) -> None:
    codec = importlib.import_module(f"llmkit.providers._codecs.{name}")
    request = Request("m", [Message.user("hi")])
    assert codec.to_params(request, None, stream=True)["stream"] is True
    assert codec.to_params(request).get("stream", False) is False


def test_split_error_modules_are_what_the_codecs_export() -> None:
    from llmkit.providers._codecs import anthropic_messages, gemini_generate

    assert anthropic_messages.error_from_body is anthropic_messages_errors.error_from_body
    assert gemini_generate.error_from_body is gemini_generate_errors.error_from_body
