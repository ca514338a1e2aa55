"""Table tests for the Anthropic Messages codec: params, replies, streams, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers._codecs import anthropic_messages as codec
from llmkit.providers._stream import ResponseBuilder
from llmkit.types import FinishReason, Message, Request, ToolCall, ToolSpec, Usage

THINKING = {"type": "thinking", "thinking": "Check the weather.", "signature": "sig-abc=="}
REDACTED = {"type": "redacted_thinking", "data": "EvgFCkYIBxgC"}


def req(*messages: Message, **kwargs: Any) -> Request:
    return Request("claude-sonnet-4-6", messages, **kwargs)


# -- to_params ---------------------------------------------------------------------


def test_system_goes_top_level_and_turns_merge() -> None:
    params = codec.to_params(
        req(
            Message.system("Be brief."),
            Message.user("Hi"),
            Message.user("Still there?"),
            Message.assistant("Yes."),
            Message.system("Answer in French."),
        )
    )
    assert params["system"] == "Be brief.\n\nAnswer in French."
    assert params["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "Still there?"}],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "Yes."}]},
    ]
    assert params["max_tokens"] == codec.DEFAULT_MAX_TOKENS


def test_conversation_starting_with_assistant_gets_a_user_turn_first() -> None:
    params = codec.to_params(req(Message.assistant("Hello!"), Message.user("Hi")))
    assert [m["role"] for m in params["messages"]] == ["user", "assistant", "user"]


def test_empty_conversation_is_refused() -> None:
    with pytest.raises(errors.InvalidRequestError, match="at least one user") as caught:
        codec.to_params(req(Message.system("only a system prompt")))
    assert not isinstance(caught.value, errors.ConfigurationError)
    assert caught.value.provider == "anthropic"


def test_sampling_stop_and_max_tokens() -> None:
    params = codec.to_params(
        req(Message.user("x"), temperature=0.2, top_p=0.9, stop=["END"], max_tokens=99)
    )
    assert params["temperature"] == 0.2
    assert params["top_p"] == 0.9
    assert params["stop_sequences"] == ["END"]
    assert params["max_tokens"] == 99


def test_seed_is_refused_not_dropped() -> None:
    with pytest.raises(errors.InvalidRequestError, match="seed"):
        codec.to_params(req(Message.user("x"), seed=1))


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ("get_weather", {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice(choice: str, wire: dict[str, Any]) -> None:
    tool = ToolSpec("get_weather", "Weather for a city", {"type": "object", "properties": {}})
    params = codec.to_params(req(Message.user("x"), tools=[tool], tool_choice=choice))
    assert params["tool_choice"] == wire
    assert params["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": tool.parameters,
        }
    ]


def test_tool_round_trip_blocks() -> None:
    call = ToolCall("toolu_1", "get_weather", {"city": "Paris"})
    params = codec.to_params(
        req(
            Message.user("Weather?"),
            Message.assistant("Let me look.", tool_calls=[call]),
            Message.tool("18C", tool_call_id="toolu_1"),
            Message.tool("rain", tool_call_id="toolu_2"),
        )
    )
    assert params["messages"][1]["content"] == [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ]
    assert params["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "rain"},
        ],
    }


@pytest.mark.parametrize(
    ("thinking", "max_tokens", "problem"),
    [
        ({"type": "enabled", "budget_tokens": 1023}, 4096, "at least 1024"),
        ({"type": "enabled", "budget_tokens": "lots"}, 4096, "at least 1024"),
        ({"type": "enabled", "budget_tokens": 4096}, 4096, "below max_tokens"),
        ({"type": "enabled", "budget_tokens": 2048}, None, None),
        ({"type": "enabled", "budget_tokens": 1024}, 1025, None),
        ({"type": "adaptive"}, None, None),
    ],
)
def test_thinking_budget_is_checked(
    thinking: dict[str, Any], max_tokens: int | None, problem: str | None
) -> None:
    request = req(Message.user("x"), max_tokens=max_tokens, extra={"thinking": thinking})
    if problem is None:
        assert codec.to_params(request)["thinking"] == thinking
    else:
        with pytest.raises(errors.InvalidRequestError, match=problem):
            codec.to_params(request)


def test_thinking_blocks_echo_exactly_and_only_to_their_host() -> None:
    data = {"anthropic": {"thinking": [THINKING, REDACTED]}}
    turn = Message.assistant("Sunny.", provider_data=data)
    sent = codec.to_params(req(Message.user("Weather?"), turn, Message.user("Thanks")))
    assert sent["messages"][1]["content"][:2] == [THINKING, REDACTED]
    foreign = Message.assistant("Sunny.", provider_data={"openrouter": {"thinking": [THINKING]}})
    sent = codec.to_params(req(Message.user("Weather?"), foreign))
    assert sent["messages"][1]["content"] == [{"type": "text", "text": "Sunny."}]


def test_json_schema_output_and_json_object_refused() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    params = codec.to_params(req(Message.user("x"), response_format=fmt))
    assert params["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    with pytest.raises(errors.InvalidRequestError, match="json_schema"):
        codec.to_params(req(Message.user("x"), response_format={"type": "json_object"}))


def test_count_tokens_params_drop_what_the_endpoint_refuses() -> None:
    params = codec.to_count_tokens_params(req(Message.user("x"), temperature=0.5, stop=["a"]))
    assert set(params) == {"model", "messages"}


# -- replies -------------------------------------------------------------------------

REPLY = {
    "id": "msg_1",
    "model": "claude-sonnet-4-6",
    "content": [
        THINKING,
        REDACTED,
        {"type": "text", "text": "I'll check."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "usage": {
        "input_tokens": 3,
        "cache_creation_input_tokens": 418,
        "cache_read_input_tokens": 1111,
        "output_tokens": 33,
    },
}


def test_parse_message() -> None:
    response = codec.parse_reply(REPLY)
    assert response.text == "I'll check."
    assert response.reasoning == "Check the weather."
    assert response.tool_calls == (ToolCall("toolu_1", "get_weather", {"city": "Paris"}),)
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert response.usage == Usage(1532, 33, None, 1111, 418)
    assert response.provider_data == {"anthropic": {"thinking": [THINKING, REDACTED]}}


def test_reply_round_trips_its_thinking_blocks_unchanged() -> None:
    turn = codec.parse_reply(REPLY).to_message()
    sent = codec.to_params(
        req(Message.user("Weather?"), turn, Message.tool("18C", tool_call_id="toolu_1"))
    )
    assert sent["messages"][1]["content"] == REPLY["content"]


@pytest.mark.parametrize(
    ("raw", "calls", "finish"),
    [
        ("end_turn", False, FinishReason.STOP),
        ("stop_sequence", False, FinishReason.STOP),
        ("max_tokens", False, FinishReason.LENGTH),
        ("model_context_window_exceeded", False, FinishReason.LENGTH),
        ("tool_use", True, FinishReason.TOOL_CALLS),
        ("refusal", False, FinishReason.CONTENT_FILTER),
        ("pause_turn", False, FinishReason.OTHER),
        ("something_new", False, FinishReason.OTHER),
        (None, False, FinishReason.OTHER),
        ("end_turn", True, FinishReason.TOOL_CALLS),
    ],
)
def test_stop_reasons(raw: str | None, calls: bool, finish: FinishReason) -> None:
    assert codec.finish_reason(raw, has_tool_calls=calls) is finish


def test_unparseable_reply() -> None:
    with pytest.raises(errors.InvalidResponseError):
        codec.parse_reply({"type": "message"})


# -- streams -------------------------------------------------------------------------


def _sse(*payloads: dict[str, Any]) -> bytes:
    return "".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n" for p in payloads).encode()


STREAM = _sse(
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "model": "claude-sonnet-4-6",
            "usage": {"input_tokens": 3, "cache_read_input_tokens": 10, "output_tokens": 1},
        },
    },
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    },
    {"type": "ping"},
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "Check the "},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "weather."},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "signature_delta", "signature": "sig-abc=="},
    },
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": REDACTED},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "text_delta", "text": "I'll ché"},
    },
    {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "ck."}},
    {"type": "content_block_stop", "index": 2},
    {
        "type": "content_block_start",
        "index": 3,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 3,
        "delta": {"type": "input_json_delta", "partial_json": ""},
    },
    {
        "type": "content_block_delta",
        "index": 3,
        "delta": {"type": "input_json_delta", "partial_json": '{"city": "Pa'},
    },
    {
        "type": "content_block_delta",
        "index": 3,
        "delta": {"type": "input_json_delta", "partial_json": 'ris"}'},
    },
    {"type": "content_block_stop", "index": 3},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 33}},
    {"type": "message_stop"},
)


def _collect(parts: list[bytes]) -> tuple[Any, codec.StreamParser]:
    parser = codec.StreamParser()
    builder = ResponseBuilder(provider="anthropic")
    for part in parts:
        for event in parser.feed(part):
            builder.add(event)
    for event in parser.flush():
        builder.add(event)
    return builder.build(), parser


def test_stream_cut_at_every_byte_boundary() -> None:
    whole, _ = _collect([STREAM])
    for cut in range(len(STREAM) + 1):
        response, parser = _collect([STREAM[:cut], STREAM[cut:]])
        assert parser.done, cut
        assert response == whole, cut


def test_stream_equals_the_complete_reply() -> None:
    response, _ = _collect([STREAM])
    assert response.text == "I'll chéck."
    assert response.reasoning == "Check the weather."
    assert response.tool_calls == (ToolCall("toolu_1", "get_weather", {"city": "Paris"}),)
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert response.usage == Usage(13, 33, None, 10, None)
    assert response.model == "claude-sonnet-4-6"
    assert response.provider_data == {"anthropic": {"thinking": [THINKING, REDACTED]}}


def test_stream_error_event_stops_the_parser_keeping_what_came_before() -> None:
    body = _sse(
        {
            "type": "message_start",
            "message": {"id": "m", "model": "c", "usage": {"input_tokens": 1}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
    )
    parser = codec.StreamParser()
    events = parser.feed(body)
    assert "".join(e.text for e in events) == "Hel"
    assert isinstance(parser.error, errors.OverloadedError)
    assert parser.error.retryable


# -- errors --------------------------------------------------------------------------


def _body(kind: str, message: str, **extra: Any) -> str:
    return json.dumps(
        {
            "type": "error",
            "error": {"type": kind, "message": message, **extra},
            "request_id": "req_1",
        }
    )


@pytest.mark.parametrize(
    ("status", "kind", "message", "cls", "retryable"),
    [
        (
            400,
            "invalid_request_error",
            "max_tokens: Field required",
            errors.InvalidRequestError,
            False,
        ),
        (
            400,
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum",
            errors.ContextLengthExceededError,
            False,
        ),
        (401, "authentication_error", "invalid x-api-key", errors.AuthenticationError, False),
        (403, "permission_error", "not allowed", errors.PermissionDeniedError, False),
        (404, "not_found_error", "model: claude-sonet-4-5", errors.ModelNotFoundError, False),
        (
            413,
            "request_too_large",
            "Request exceeds the maximum size",
            errors.InvalidRequestError,
            False,
        ),
        (
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            errors.RateLimitError,
            True,
        ),
        (500, "api_error", "Internal server error", errors.ServerError, True),
        (529, "overloaded_error", "Overloaded", errors.OverloadedError, True),
        (200, "overloaded_error", "Overloaded", errors.OverloadedError, True),
    ],
)
def test_error_from_body(
    status: int, kind: str, message: str, cls: type[errors.LLMError], retryable: bool
) -> None:
    error = codec.error_from_body(status, _body(kind, message), {"retry-after": "7"})
    assert type(error) is cls
    assert error.message == message
    assert error.retryable is retryable
    assert error.request_id == "req_1"
    if isinstance(error, errors.RateLimitError):
        assert error.retry_after == 7.0


def test_spend_limit_429_is_not_retryable() -> None:
    body = _body(
        "rate_limit_error",
        "monthly spend limit reached",
        details={"error_code": "enforced_spend_limit_reached"},
    )
    error = codec.error_from_body(429, body, {"retry-after": "30"})
    assert isinstance(error, errors.RateLimitError)
    assert not error.retryable
    assert error.retry_after is None
    assert error.message.startswith("monthly spend limit reached (")
    assert "retrying will not help" in error.message
    assert "spend limit is reached: raise it" in error.message
    assert "console.anthropic.com/settings/limits" in error.message


@pytest.mark.parametrize("status", [402, 200])
def test_billing_error_is_not_retryable_and_says_what_to_do(status: int) -> None:
    body = _body("billing_error", "Your credit balance is too low")
    error = codec.error_from_body(status, body, {"retry-after": "30"})
    assert isinstance(error, errors.PermissionDeniedError)
    assert not error.retryable
    assert error.message.startswith("Your credit balance is too low (")
    assert "retrying will not help" in error.message
    assert "console.anthropic.com/settings/billing" in error.message


def test_error_without_json_body() -> None:
    error = codec.error_from_body(502, b"<html>Bad gateway</html>")
    assert isinstance(error, errors.ServerError)
    assert "502" in error.message
