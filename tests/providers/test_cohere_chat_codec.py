"""Table tests for the Cohere v2 chat codec: params, replies, SSE streams, errors.

The stream samples follow the event shapes of https://docs.cohere.com/reference/chat-stream
(the corpus has no streamed Cohere recording).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers._codecs import cohere_chat
from llmkit.providers._stream import ResponseBuilder
from llmkit.types import FinishReason, Message, Request, Response, ToolCall, ToolSpec, Usage

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
SUMMARY = ToolSpec("final_result", "The final answer.")


def request(**kwargs: Any) -> Request:
    return Request(model="command-a-03-2025", messages=[Message.user("hi")], **kwargs)


# -- to_params --------------------------------------------------------------------


def test_settings_take_cohere_names() -> None:
    params = cohere_chat.to_params(
        request(temperature=0.3, top_p=0.8, max_tokens=50, stop=["END"], seed=1)
    )
    assert params == {
        "model": "command-a-03-2025",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.3,
        "p": 0.8,
        "max_tokens": 50,
        "stop_sequences": ["END"],
        "seed": 1,
        "stream": False,
    }


def test_extra_wins() -> None:
    params = cohere_chat.to_params(
        request(temperature=0.3, extra={"temperature": 0.9, "thinking": {"type": "enabled"}}),
        stream=True,
    )
    assert params["temperature"] == 0.9
    assert params["thinking"] == {"type": "enabled"}
    assert params["stream"] is True


@pytest.mark.parametrize(
    ("choice", "sent_choice", "tool_names"),
    [
        (None, None, ["get_weather", "final_result"]),
        ("auto", None, ["get_weather", "final_result"]),
        ("none", "NONE", ["get_weather", "final_result"]),
        ("required", "REQUIRED", ["get_weather", "final_result"]),
        ("final_result", "REQUIRED", ["final_result"]),
    ],
)
def test_tool_choice(choice: str | None, sent_choice: str | None, tool_names: list[str]) -> None:
    params = cohere_chat.to_params(request(tools=[WEATHER, SUMMARY], tool_choice=choice))
    assert params.get("tool_choice") == sent_choice
    assert [t["function"]["name"] for t in params["tools"]] == tool_names


def test_empty_conversation_is_an_invalid_request() -> None:
    with pytest.raises(errors.InvalidRequestError, match="at least one message") as caught:
        cohere_chat.to_params(Request(model="command-a-03-2025", messages=[]))
    assert (caught.value.provider, caught.value.model) == ("cohere", "command-a-03-2025")


def test_forcing_an_unknown_tool_is_refused() -> None:
    with pytest.raises(errors.InvalidRequestError, match="nope"):
        cohere_chat.to_params(request(tools=[WEATHER], tool_choice="nope"))


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            {"type": "json_object", "json_schema": {"type": "object"}},
        ),
        ({"type": "text"}, None),
    ],
)
def test_response_format(response_format: dict[str, Any], expected: Any) -> None:
    assert (
        cohere_chat.to_params(request(response_format=response_format)).get("response_format")
        == expected
    )


def test_conversation_with_a_tool_round_trip() -> None:
    call = ToolCall("get_weather_1", "get_weather", {"city": "Paris"})
    req = Request(
        model="command-a-03-2025",
        messages=[
            Message.system("Be brief."),
            Message.user("Weather in Paris?"),
            Message.assistant(
                "",
                tool_calls=[call],
                reasoning="Use the tool.",
                provider_data={"cohere": {"tool_plan": "I will look it up."}},
            ),
            Message.tool("Sunny", tool_call_id="get_weather_1"),
        ],
        tools=[WEATHER],
    )
    assert cohere_chat.to_params(req)["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [{"type": "thinking", "thinking": "Use the tool."}],
            "tool_calls": [
                {
                    "id": "get_weather_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
            "tool_plan": "I will look it up.",
        },
        {"role": "tool", "tool_call_id": "get_weather_1", "content": "Sunny"},
    ]


def test_another_hosts_provider_data_is_not_sent() -> None:
    message = Message.assistant(
        "ok",
        tool_calls=[ToolCall("c", "f", {})],
        provider_data={"anthropic": {"tool_plan": "x"}},
    )
    sent = cohere_chat.to_params(Request(model="m", messages=[message]))["messages"][0]
    assert "tool_plan" not in sent
    assert sent["content"] == [{"type": "text", "text": "ok"}]


# -- parse_chat -------------------------------------------------------------------

TOOL_REPLY = {
    "id": "r1",
    "finish_reason": "TOOL_CALL",
    "message": {
        "role": "assistant",
        "tool_plan": "I will look up the weather.",
        "tool_calls": [
            {
                "id": "get_weather_x1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    },
    "usage": {
        "billed_units": {"input_tokens": 20, "output_tokens": 10},
        "tokens": {"input_tokens": 900, "output_tokens": 30},
    },
}

THINKING_REPLY = {
    "id": "r2",
    "finish_reason": "COMPLETE",
    "message": {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "2+2 is 4."},
            {"type": "text", "text": "Four."},
        ],
    },
    "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 2}},
}


def test_tool_call_reply() -> None:
    response = cohere_chat.parse_reply(TOOL_REPLY)
    assert response.tool_calls == (ToolCall("get_weather_x1", "get_weather", {"city": "Paris"}),)
    assert response.text == ""
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert response.usage == Usage(input_tokens=900, output_tokens=30)
    assert response.provider_data == {"cohere": {"tool_plan": "I will look up the weather."}}
    assert response.id == "r1" and response.model is None


def test_tool_plan_goes_back_on_the_next_turn() -> None:
    turn = cohere_chat.parse_reply(TOOL_REPLY).to_message()
    sent = cohere_chat.to_params(Request(model="m", messages=[turn]))["messages"][0]
    assert sent["tool_plan"] == "I will look up the weather."


def test_thinking_parts_are_reasoning_and_billed_units_are_the_fallback() -> None:
    response = cohere_chat.parse_reply(THINKING_REPLY)
    assert (response.text, response.reasoning) == ("Four.", "2+2 is 4.")
    assert response.usage == Usage(input_tokens=5, output_tokens=2)


@pytest.mark.parametrize(
    ("raw", "finish"),
    [
        ("COMPLETE", FinishReason.STOP),
        ("STOP_SEQUENCE", FinishReason.STOP),
        ("MAX_TOKENS", FinishReason.LENGTH),
        ("TOOL_CALL", FinishReason.TOOL_CALLS),
        ("ERROR", FinishReason.ERROR),
        ("ERROR_TOXIC", FinishReason.CONTENT_FILTER),
        ("ERROR_LIMIT", FinishReason.LENGTH),
        ("USER_CANCEL", FinishReason.OTHER),
        ("SOMETHING_NEW", FinishReason.OTHER),
        (None, FinishReason.OTHER),
    ],
)
def test_finish_table(raw: str | None, finish: FinishReason) -> None:
    body = {"finish_reason": raw, "message": {"content": [{"type": "text", "text": "x"}]}}
    response = cohere_chat.parse_reply(body)
    assert response.finish_reason is finish
    assert response.raw_finish_reason == raw


def test_a_reply_without_message_is_invalid() -> None:
    with pytest.raises(errors.InvalidResponseError):
        cohere_chat.parse_reply({"finish_reason": "COMPLETE"})


# -- streams ----------------------------------------------------------------------


def sse(*events: dict[str, Any]) -> bytes:
    return "".join(
        f"event: {e['type']}\ndata: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events
    ).encode()


def _content(index: int, **content: str) -> dict[str, Any]:
    return {"type": "content-delta", "index": index, "delta": {"message": {"content": content}}}


MESSAGE_START = {
    "id": "r2",
    "type": "message-start",
    "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": []}},
}
THINKING_STREAM = sse(
    MESSAGE_START,
    {
        "type": "content-start",
        "index": 0,
        "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}},
    },
    _content(0, thinking="2+2 "),
    _content(0, thinking="is 4."),
    {"type": "content-end", "index": 0},
    {
        "type": "content-start",
        "index": 1,
        "delta": {"message": {"content": {"type": "text", "text": ""}}},
    },
    _content(1, text="Fo"),
    _content(1, text="ur."),
    {"type": "content-end", "index": 1},
    {
        "type": "message-end",
        "delta": {"finish_reason": "COMPLETE", "usage": THINKING_REPLY["usage"]},
    },
)


def _call(kind: str, **call: Any) -> dict[str, Any]:
    return {"type": kind, "index": 0, "delta": {"message": {"tool_calls": call}}}


TOOL_STREAM = sse(
    {**MESSAGE_START, "id": "r1"},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will look up "}}},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "the weather."}}},
    _call(
        "tool-call-start",
        id="get_weather_x1",
        type="function",
        function={"name": "get_weather", "arguments": ""},
    ),
    _call("tool-call-delta", function={"arguments": '{"city"'}),
    _call("tool-call-delta", function={"arguments": ':"Paris"}'}),
    {"type": "tool-call-end", "index": 0},
    {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": TOOL_REPLY["usage"]}},
)


def fold(raw: bytes, *cuts: int) -> Response:
    decoder = cohere_chat.StreamParser()
    builder = ResponseBuilder(provider="cohere")
    bounds = [0, *cuts, len(raw)]
    for start, end in itertools.pairwise(bounds):
        for event in decoder.feed(raw[start:end]):
            builder.add(event)
    for event in decoder.flush():
        builder.add(event)
    return builder.build()


@pytest.mark.parametrize("cut", range(len(THINKING_STREAM) + 1))
def test_text_stream_cut_at_every_boundary(cut: int) -> None:
    assert fold(THINKING_STREAM, cut) == cohere_chat.parse_reply(THINKING_REPLY)


@pytest.mark.parametrize("cut", range(len(TOOL_STREAM) + 1))
def test_tool_stream_cut_at_every_boundary(cut: int) -> None:
    assert fold(TOOL_STREAM, cut) == cohere_chat.parse_reply(TOOL_REPLY)


def test_done_sentinel_and_unknown_events_are_ignored() -> None:
    raw = THINKING_STREAM + b'event: debug\ndata: {"type": "debug"}\n\ndata: [DONE]\n\n'
    assert fold(raw).text == "Four."


def test_stream_without_message_end_is_a_stream_error() -> None:
    decoder = cohere_chat.StreamParser()
    decoder.feed(THINKING_STREAM[: THINKING_STREAM.index(b"event: message-end")])
    with pytest.raises(errors.StreamError, match="message-end") as caught:
        decoder.flush()
    assert caught.value.retryable  # as every provider's unfinished stream


def test_garbage_event_is_an_invalid_response() -> None:
    with pytest.raises(errors.InvalidResponseError) as caught:
        cohere_chat.StreamParser().feed(b"data: {oops\n\n")
    assert caught.value.message == "Cohere sent a stream event that is not JSON ({oops)"


# -- errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "cls"),
    [
        (400, "invalid request: message must not be empty", errors.InvalidRequestError),
        (400, "too many tokens: the context length is 128000", errors.ContextLengthExceededError),
        (401, "invalid api token", errors.AuthenticationError),
        (498, "invalid api token", errors.AuthenticationError),
        (403, "forbidden", errors.PermissionDeniedError),
        (404, "model 'nope' not found", errors.ModelNotFoundError),
        (404, "not found", errors.NotFoundError),
        (422, "unprocessable", errors.InvalidRequestError),
        (429, "You are using a Trial key", errors.RateLimitError),
        (500, "internal server error", errors.ServerError),
        (503, "service unavailable", errors.OverloadedError),
        (504, "gateway timeout", errors.APITimeoutError),
    ],
)
def test_error_table(status: int, message: str, cls: type[errors.LLMError]) -> None:
    error = cohere_chat.error_from_body(status, {"message": message}, model="m")
    assert type(error) is cls
    assert message in error.message
    assert (error.status_code, error.provider, error.model) == (status, "cohere", "m")


def test_auth_error_names_the_key_variable() -> None:
    assert (
        "CO_API_KEY" in cohere_chat.error_from_body(401, {"message": "invalid api token"}).message
    )


def test_rate_limit_keeps_retry_after_and_the_request_id() -> None:
    headers = {"Retry-After": "3", "X-Request-Id": "req-1"}
    error = cohere_chat.error_from_body(429, b'{"message": "slow down"}', headers)
    assert isinstance(error, errors.RateLimitError) and error.retry_after == 3.0
    assert error.retryable
    assert error.request_id == "req-1"
    assert error.message == "slow down"  # the bytes body was parsed
