"""Table tests for the Ollama `/api/chat` codec: params, replies, NDJSON streams, errors."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers._codecs import ollama_chat
from llmkit.providers._stream import ResponseBuilder
from llmkit.types import FinishReason, Message, Request, ToolCall, ToolSpec, Usage

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def request(**kwargs: Any) -> Request:
    return Request(model="llama3.2", messages=[Message.user("hi")], **kwargs)


# -- to_params ------------------------------------------------------------------


def test_sampling_settings_go_into_options() -> None:
    params = ollama_chat.to_params(
        request(temperature=0.2, top_p=0.9, seed=7, stop=["END"], max_tokens=64)
    )
    assert params["options"] == {
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "stop": ["END"],
        "num_predict": 64,
    }
    assert params["stream"] is False
    assert "tools" not in params and "format" not in params


def test_no_settings_send_no_options() -> None:
    assert "options" not in ollama_chat.to_params(request())


def test_extra_splits_into_top_level_fields_and_options() -> None:
    params = ollama_chat.to_params(
        request(
            temperature=0.2,
            extra={
                "think": True,
                "keep_alive": "5m",
                "num_ctx": 8192,
                "options": {"top_k": 20, "temperature": 0.7},
            },
        ),
        stream=True,
    )
    assert params["think"] is True
    assert params["keep_alive"] == "5m"
    assert params["options"] == {"temperature": 0.7, "top_k": 20, "num_ctx": 8192}
    assert "num_ctx" not in params
    assert params["stream"] is True


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        ({"type": "json_object"}, "json"),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            {"type": "object"},
        ),
        ({"type": "text"}, None),
    ],
)
def test_response_format_becomes_format(response_format: dict[str, Any], expected: Any) -> None:
    params = ollama_chat.to_params(request(response_format=response_format))
    assert params.get("format") == expected


def test_empty_conversation_is_an_invalid_request() -> None:
    with pytest.raises(errors.InvalidRequestError, match="at least one message") as caught:
        ollama_chat.to_params(Request(model="llama3.2", messages=[]))
    assert (caught.value.provider, caught.value.model) == ("ollama", "llama3.2")


def test_unknown_response_format_is_refused() -> None:
    with pytest.raises(errors.InvalidRequestError, match="json_object"):
        ollama_chat.to_params(request(response_format={"type": "xml"}))


def test_tools_and_a_tool_call_round_trip() -> None:
    call = ToolCall("call_1", "get_weather", {"city": "Paris"})
    req = Request(
        model="qwen3",
        messages=[
            Message.system("Be brief."),
            Message.user("Weather in Paris?"),
            Message.assistant("", tool_calls=[call], reasoning="Need the tool."),
            Message.tool("Sunny", tool_call_id="call_1"),
        ],
        tools=[WEATHER],
    )
    params = ollama_chat.to_params(req)
    assert params["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city.",
                "parameters": WEATHER.parameters,
            },
        }
    ]
    assert params["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "thinking": "Need the tool.",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        },
        # the name is found from the call the result answers
        {"role": "tool", "content": "Sunny", "tool_name": "get_weather"},
    ]


def test_tool_choice_none_leaves_tools_out() -> None:
    assert "tools" not in ollama_chat.to_params(request(tools=[WEATHER], tool_choice="none"))


@pytest.mark.parametrize("choice", ["required", "get_weather"])
def test_forcing_a_tool_is_refused_with_the_fix(choice: str) -> None:
    with pytest.raises(errors.InvalidRequestError, match="tool_choice='auto' or 'none'"):
        ollama_chat.to_params(request(tools=[WEATHER], tool_choice=choice))


# -- parse_chat -------------------------------------------------------------------

REPLY = {
    "model": "qwen3:8b",
    "created_at": "2025-06-01T10:00:00.123456789Z",
    "message": {"role": "assistant", "content": "Four.", "thinking": "2+2=4"},
    "done": True,
    "done_reason": "stop",
    "total_duration": 2_500_000_000,
    "load_duration": 500_000_000,
    "prompt_eval_count": 12,
    "prompt_eval_duration": 250_000_000,
    "eval_count": 5,
    "eval_duration": 1_000_000_000,
}

TOOL_REPLY = {
    "model": "llama3.2",
    "message": {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
            {"function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
        ],
    },
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 100,
    "eval_count": 20,
}


def test_reply_text_reasoning_usage_and_timings() -> None:
    response = ollama_chat.parse_reply(REPLY)
    assert response.text == "Four."
    assert response.reasoning == "2+2=4"
    assert response.finish_reason is FinishReason.STOP
    assert response.raw_finish_reason == "stop"
    assert response.usage == Usage(input_tokens=12, output_tokens=5)
    assert response.model == "qwen3:8b"
    assert response.provider == "ollama"
    assert response.provider_data["ollama"]["timings"] == {
        "total_duration": 2.5,
        "load_duration": 0.5,
        "prompt_eval_duration": 0.25,
        "eval_duration": 1.0,
    }


def test_tool_calls_get_stable_distinct_ids() -> None:
    first = ollama_chat.parse_reply(TOOL_REPLY)
    again = ollama_chat.parse_reply(json.loads(json.dumps(TOOL_REPLY)))
    assert [c.name for c in first.tool_calls] == ["get_weather", "get_weather"]
    assert [c.arguments for c in first.tool_calls] == [{"city": "Paris"}, {"city": "Rome"}]
    ids = [c.id for c in first.tool_calls]
    assert all(ids) and len(set(ids)) == 2
    assert ids == [c.id for c in again.tool_calls]
    assert first.finish_reason is FinishReason.TOOL_CALLS
    assert first.raw_finish_reason == "stop"


def test_a_given_call_id_is_kept() -> None:
    body = {
        "message": {
            "content": "",
            "tool_calls": [{"id": "abc", "function": {"name": "f", "arguments": {}}}],
        },
        "done": True,
    }
    assert ollama_chat.parse_reply(body).tool_calls[0].id == "abc"


@pytest.mark.parametrize(
    ("arguments", "parsed", "raw"),
    [
        ('{"city": "Paris"}', {"city": "Paris"}, None),
        ("not json", {}, "not json"),
        (None, {}, None),
        ([1, 2], {}, "[1, 2]"),
    ],
)
def test_odd_tool_arguments(arguments: Any, parsed: dict[str, Any], raw: str | None) -> None:
    body = {
        "message": {
            "content": "",
            "tool_calls": [{"function": {"name": "f", "arguments": arguments}}],
        },
        "done": True,
    }
    call = ollama_chat.parse_reply(body).tool_calls[0]
    assert (call.arguments, call.raw_arguments) == (parsed, raw)


@pytest.mark.parametrize(
    ("done_reason", "finish"),
    [
        ("stop", FinishReason.STOP),
        ("length", FinishReason.LENGTH),
        ("load", FinishReason.OTHER),
        ("unload", FinishReason.OTHER),
        (None, FinishReason.OTHER),
        ("", FinishReason.OTHER),
    ],
)
def test_done_reason_table(done_reason: str | None, finish: FinishReason) -> None:
    body = {"message": {"content": "x"}, "done": True, "done_reason": done_reason}
    response = ollama_chat.parse_reply(body)
    assert response.finish_reason is finish
    assert response.raw_finish_reason == (done_reason or None)


def test_a_reply_without_message_is_invalid() -> None:
    with pytest.raises(errors.InvalidResponseError):
        ollama_chat.parse_reply({"done": True})


# -- streams ----------------------------------------------------------------------

STREAM_LINES = [
    {
        "model": "qwen3:8b",
        "message": {"role": "assistant", "content": "", "thinking": "2+2"},
        "done": False,
    },
    {
        "model": "qwen3:8b",
        "message": {"role": "assistant", "content": "", "thinking": "=4"},
        "done": False,
    },
    {"model": "qwen3:8b", "message": {"role": "assistant", "content": "Fo"}, "done": False},
    {"model": "qwen3:8b", "message": {"role": "assistant", "content": "ur. é✓"}, "done": False},
    {**REPLY, "message": {"role": "assistant", "content": ""}},
]
STREAM = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in STREAM_LINES).encode()

TOOL_STREAM = (
    json.dumps({"model": "llama3.2", "message": TOOL_REPLY["message"], "done": False})
    + "\n"
    + json.dumps({**TOOL_REPLY, "message": {"role": "assistant", "content": ""}})
    + "\n"
).encode()


def fold(raw: bytes, *cuts: int) -> Any:
    decoder = ollama_chat.StreamParser()
    builder = ResponseBuilder(provider="ollama")
    bounds = [0, *cuts, len(raw)]
    for start, end in itertools.pairwise(bounds):
        for event in decoder.feed(raw[start:end]):
            builder.add(event)
    for event in decoder.flush():
        builder.add(event)
    return builder.build()


@pytest.mark.parametrize("cut", range(len(STREAM) + 1))
def test_stream_cut_at_every_boundary(cut: int) -> None:
    response = fold(STREAM, cut)
    assert response.text == "Four. é✓"
    assert response.reasoning == "2+2=4"
    assert response.usage == Usage(input_tokens=12, output_tokens=5)
    assert response.finish_reason is FinishReason.STOP
    assert response.provider_data["ollama"]["timings"]["total_duration"] == 2.5


def test_stream_without_trailing_newline_still_ends() -> None:
    assert fold(STREAM.rstrip(b"\n")).text == "Four. é✓"


def test_streamed_reply_equals_the_complete_one() -> None:
    complete = ollama_chat.parse_reply(
        {**REPLY, "message": {**REPLY["message"], "content": "Four. é✓"}}
    )
    assert fold(STREAM, 10, 33) == complete


@pytest.mark.parametrize("cut", range(0, len(TOOL_STREAM) + 1, 7))
def test_streamed_tool_calls_equal_the_complete_ones(cut: int) -> None:
    streamed = fold(TOOL_STREAM, cut)
    complete = ollama_chat.parse_reply(TOOL_REPLY)
    assert streamed.tool_calls == complete.tool_calls
    assert streamed.finish_reason is FinishReason.TOOL_CALLS


def test_stream_that_stops_before_done_is_a_stream_error() -> None:
    decoder = ollama_chat.StreamParser()
    decoder.feed(STREAM.split(b"\n")[0] + b"\n")
    with pytest.raises(errors.StreamError, match="done") as caught:
        decoder.flush()
    assert caught.value.retryable  # as every provider's unfinished stream


def test_error_line_mid_stream_is_recorded_after_the_events_before_it() -> None:
    parser = ollama_chat.StreamParser(model="qwen3")
    events = parser.feed(
        b'{"message": {"content": "Hel"}, "done": false}\n{"error": "out of memory"}\n'
        b'{"message": {"content": "lo"}, "done": false}\n'
    )
    assert [e.text for e in events] == ["Hel"]  # nothing after the error line
    assert isinstance(parser.error, errors.StreamError)
    assert "out of memory" in parser.error.message and parser.error.model == "qwen3"
    assert parser.flush() == []  # the error is the ending; no "ended early" on top


def test_garbage_line_is_an_invalid_response() -> None:
    with pytest.raises(errors.InvalidResponseError) as caught:
        ollama_chat.StreamParser().feed(b"<html>\n")
    assert caught.value.message == "Ollama sent a stream line that is not JSON (<html>)"


def test_a_line_that_is_not_an_object_is_an_invalid_response() -> None:
    with pytest.raises(errors.InvalidResponseError) as caught:
        ollama_chat.StreamParser().feed(b'["a"]\n')
    assert caught.value.message == 'Ollama sent a stream line that is not a JSON object (["a"])'


# -- errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "cls"),
    [
        (400, "invalid format", errors.InvalidRequestError),
        (400, "the input length exceeds the context length", errors.ContextLengthExceededError),
        (401, "unauthorized", errors.AuthenticationError),
        (403, "forbidden", errors.PermissionDeniedError),
        (404, "model 'nope' not found", errors.ModelNotFoundError),
        (404, "page not found", errors.NotFoundError),
        (429, "too many requests", errors.RateLimitError),
        (500, "model requires more system memory", errors.ServerError),
        (503, "server busy", errors.OverloadedError),
    ],
)
def test_error_table(status: int, message: str, cls: type[errors.LLMError]) -> None:
    error = ollama_chat.error_from_body(status, {"error": message})
    assert type(error) is cls
    assert message in error.message
    assert error.status_code == status
    assert error.provider == "ollama"


def test_model_not_found_says_how_to_pull_it() -> None:
    error = ollama_chat.error_from_body(404, {"error": "model 'llama9' not found"}, model="llama9")
    assert isinstance(error, errors.ModelNotFoundError)
    assert "ollama pull llama9" in error.message
    assert not error.retryable


def test_error_body_that_is_not_json_keeps_its_text() -> None:
    error = ollama_chat.error_from_body(502, "Bad Gateway")
    assert isinstance(error, errors.ServerError) and error.message == "Bad Gateway"
    assert error.retryable
