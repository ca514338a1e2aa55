"""Table tests for the Gemini codec: params, replies, streams, signatures, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmkit import errors
from llmkit.providers._codecs import gemini_generate as codec
from llmkit.providers._stream import ResponseBuilder
from llmkit.types import FinishReason, Message, Request, ToolCall, ToolSpec, Usage


def req(*messages: Message, model: str = "gemini-2.5-flash", **kwargs: Any) -> Request:
    return Request(model, messages, **kwargs)


# -- to_params ---------------------------------------------------------------------


def test_system_instruction_model_role_and_merging() -> None:
    params = codec.to_params(
        req(
            Message.system("Be brief."),
            Message.user("Hi"),
            Message.user("There?"),
            Message.assistant("Yes."),
        )
    )
    assert params["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert params["contents"] == [
        {"role": "user", "parts": [{"text": "Hi"}, {"text": "There?"}]},
        {"role": "model", "parts": [{"text": "Yes."}]},
    ]


def test_history_opening_with_model_gets_an_empty_user_turn() -> None:
    params = codec.to_params(req(Message.assistant("Hello!"), Message.user("Hi")))
    assert params["contents"][0] == {"role": "user", "parts": [{"text": ""}]}
    only_system = codec.to_params(req(Message.system("Tell a joke.")))
    assert only_system["contents"] == [{"role": "user", "parts": [{"text": ""}]}]


def test_generation_config_and_extra_merge() -> None:
    request = req(
        Message.user("x"),
        temperature=0.1,
        top_p=0.5,
        max_tokens=64,
        stop=["END"],
        seed=3,
        response_format={"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
        extra={"generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}, "safetySettings": []},
    )
    params = codec.to_params(request)
    assert params["generationConfig"] == {
        "temperature": 0.1,
        "topP": 0.5,
        "maxOutputTokens": 64,
        "stopSequences": ["END"],
        "seed": 3,
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
        "thinkingConfig": {"thinkingBudget": 0},
    }
    assert params["safetySettings"] == []


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        ("get_weather", {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
    ],
)
def test_tools_and_tool_choice(choice: str, wire: dict[str, Any]) -> None:
    tool = ToolSpec("get_weather", "Weather", {"type": "object", "properties": {}})
    params = codec.to_params(req(Message.user("x"), tools=[tool], tool_choice=choice))
    assert params["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather",
                    "parametersJsonSchema": tool.parameters,
                }
            ]
        }
    ]
    assert params["toolConfig"] == {"functionCallingConfig": wire}


def test_function_call_and_response_pairing() -> None:
    call = ToolCall("gemini-call-abc", "get_weather", {"city": "Paris"})
    params = codec.to_params(
        req(
            Message.user("Weather?"),
            Message.assistant(tool_calls=[call]),
            Message.tool('{"temp": 18}', tool_call_id="gemini-call-abc"),
            Message.tool("rainy", tool_call_id="x", name="get_sky"),
        )
    )
    assert params["contents"][1] == {
        "role": "model",
        "parts": [
            {
                "functionCall": {
                    "name": "get_weather",
                    "args": {"city": "Paris"},
                    "id": "gemini-call-abc",
                }
            }
        ],
    }
    assert params["contents"][2] == {
        "role": "user",
        "parts": [
            {
                "functionResponse": {
                    "name": "get_weather",
                    "response": {"temp": 18},
                    "id": "gemini-call-abc",
                }
            },
            {"functionResponse": {"name": "get_sky", "response": {"output": "rainy"}, "id": "x"}},
        ],
    }


def test_tool_result_without_a_name_to_pair_is_refused() -> None:
    with pytest.raises(errors.InvalidRequestError, match="name") as caught:
        codec.to_params(req(Message.user("x"), Message.tool("1", tool_call_id="unknown")))
    assert not isinstance(caught.value, errors.ConfigurationError)
    assert (caught.value.provider, caught.value.model) == ("gemini", "gemini-2.5-flash")


def test_empty_conversation_is_an_invalid_request() -> None:
    with pytest.raises(errors.InvalidRequestError, match="at least one turn") as caught:
        codec.to_params(req())
    assert not isinstance(caught.value, errors.ConfigurationError)


def test_foreign_calls_get_the_documented_stand_in_signature_on_gemini_3() -> None:
    calls = [ToolCall("toolu_1", "a", {}), ToolCall("toolu_2", "b", {})]
    history = (Message.user("x"), Message.assistant(tool_calls=calls))
    parts = codec.to_params(req(*history, model="gemini-3-flash-preview"))["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == codec.SKIP_SIGNATURE
    assert "thoughtSignature" not in parts[1]
    old = codec.to_params(req(*history, model="gemini-2.5-flash"))["contents"][1]["parts"]
    assert all("thoughtSignature" not in p for p in old)


# -- replies -------------------------------------------------------------------------

REPLY = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [
                    {"text": "Thinking about ", "thought": True},
                    {"text": "weather.", "thought": True},
                    {"text": "Let me chéck."},
                    {
                        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                        "thoughtSignature": "SIG1",
                    },
                    {"functionCall": {"name": "get_time", "args": {}}},
                ],
            },
            "finishReason": "STOP",
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 10,
        "candidatesTokenCount": 5,
        "thoughtsTokenCount": 7,
        "cachedContentTokenCount": 4,
    },
    "modelVersion": "gemini-3-flash-preview",
    "responseId": "resp-1",
}


def test_parse_response() -> None:
    response = codec.parse_reply(REPLY)
    assert response.text == "Let me chéck."
    assert response.reasoning == "Thinking about weather."
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {}),
    ]
    assert all(codec.is_minted_id(c.id) for c in response.tool_calls)
    assert response.tool_calls[0].id != response.tool_calls[1].id
    assert response.tool_calls[0].id == codec.mint_call_id("resp-1", 0, "get_weather")
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert response.raw_finish_reason == "STOP"
    assert response.usage == Usage(10, 12, 7, 4, None)
    assert response.model == "gemini-3-flash-preview"


def test_gemini_ids_are_kept() -> None:
    body = json.loads(json.dumps(REPLY))
    body["candidates"][0]["content"]["parts"][3]["functionCall"]["id"] = "abc123"
    assert codec.parse_reply(body).tool_calls[0].id == "abc123"


def test_signature_goes_back_in_its_own_part() -> None:
    turn = codec.parse_reply(REPLY).to_message()
    calls = turn.tool_calls
    sent = codec.to_params(
        req(
            Message.user("Weather?"),
            turn,
            Message.tool("18C", tool_call_id=calls[0].id),
            Message.tool("noon", tool_call_id=calls[1].id),
            model="gemini-3-flash-preview",
        )
    )
    model_parts = sent["contents"][1]["parts"]
    assert model_parts[2] == {
        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
        "thoughtSignature": "SIG1",
    }
    assert model_parts[0] == {"text": "Thinking about weather.", "thought": True}
    responses = sent["contents"][2]["parts"]
    assert [p["functionResponse"]["name"] for p in responses] == ["get_weather", "get_time"]


def test_edited_turn_is_rebuilt_not_replayed() -> None:
    turn = codec.parse_reply(REPLY).to_message()
    edited = Message.assistant(
        "Something else.", tool_calls=turn.tool_calls, provider_data=turn.provider_data
    )
    parts = codec.to_params(req(Message.user("x"), edited))["contents"][1]["parts"]
    assert parts[0] == {"text": "Something else."}


def test_other_hosts_data_is_not_sent() -> None:
    turn = codec.parse_reply(REPLY).to_message()
    moved = Message.assistant(
        turn.content,
        tool_calls=turn.tool_calls,
        provider_data={"openrouter": turn.provider_data["gemini"]},
    )
    parts = codec.to_params(req(Message.user("x"), moved))["contents"][1]["parts"]
    assert all("thoughtSignature" not in p for p in parts)


@pytest.mark.parametrize(
    ("raw", "finish"),
    [
        ("STOP", FinishReason.STOP),
        ("MAX_TOKENS", FinishReason.LENGTH),
        ("SAFETY", FinishReason.CONTENT_FILTER),
        ("RECITATION", FinishReason.CONTENT_FILTER),
        ("BLOCKLIST", FinishReason.CONTENT_FILTER),
        ("PROHIBITED_CONTENT", FinishReason.CONTENT_FILTER),
        ("SPII", FinishReason.CONTENT_FILTER),
        ("IMAGE_SAFETY", FinishReason.CONTENT_FILTER),
        ("BLOCK_REASON_UNSPECIFIED", FinishReason.CONTENT_FILTER),
        ("MALFORMED_FUNCTION_CALL", FinishReason.ERROR),
        ("UNEXPECTED_TOOL_CALL", FinishReason.ERROR),
        ("LANGUAGE", FinishReason.OTHER),
        ("OTHER", FinishReason.OTHER),
        (None, FinishReason.OTHER),
    ],
)
def test_finish_reasons(raw: str | None, finish: FinishReason) -> None:
    assert codec.finish_reason(raw) is finish


def test_blocked_prompt_is_a_content_filter_stop() -> None:
    response = codec.parse_reply(
        {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}}
    )
    assert response.finish_reason is FinishReason.CONTENT_FILTER
    assert response.raw_finish_reason == "SAFETY"
    assert response.usage == Usage(3, 0, 0, 0)


def test_count_tokens_params_wrap_a_full_request() -> None:
    assert set(codec.to_count_tokens_params(req(Message.user("x")))) == {"contents"}
    wrapped = codec.to_count_tokens_params(req(Message.system("s"), Message.user("x")))
    assert wrapped["generateContentRequest"]["model"] == "models/gemini-2.5-flash"
    assert codec.parse_count_tokens({"totalTokens": 12}) == 12


# -- streams -------------------------------------------------------------------------


def _chunk(parts: list[dict[str, Any]], usageMetadata: Any = None, **extra: Any) -> dict[str, Any]:
    usage = {"usageMetadata": usageMetadata} if usageMetadata else {}
    return {
        **usage,
        "candidates": [{"content": {"role": "model", "parts": parts}, **extra}],
        "modelVersion": "gemini-3-flash-preview",
        "responseId": "resp-1",
    }


CHUNKS = [
    _chunk([{"text": "Thinking about ", "thought": True}]),
    _chunk([{"text": "weather.", "thought": True}], usageMetadata={"promptTokenCount": 10}),
    _chunk([{"text": "Let me ché"}]),
    _chunk([{"text": "ck."}]),
    _chunk(
        [
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                "thoughtSignature": "SIG1",
            },
            {"functionCall": {"name": "get_time", "args": {}}},
        ],
        finishReason="STOP",
        usageMetadata=REPLY["usageMetadata"],
    ),
]
STREAM = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in CHUNKS).encode()


def _collect(parts: list[bytes]) -> tuple[Any, codec.StreamParser]:
    parser = codec.StreamParser()
    builder = ResponseBuilder(provider="gemini")
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
    streamed, _ = _collect([STREAM])
    complete = codec.parse_reply(REPLY)
    assert streamed.text == "Let me chéck."
    for field in (
        "reasoning",
        "tool_calls",
        "finish_reason",
        "raw_finish_reason",
        "usage",
        "model",
        "provider_data",
    ):
        assert getattr(streamed, field) == getattr(complete, field), field


def test_stream_error_chunk_stops_the_parser() -> None:
    body = (
        f"data: {json.dumps(_chunk([{'text': 'Hel'}]))}\n\n"
        'data: {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}\n\n'
    ).encode()
    parser = codec.StreamParser()
    events = parser.feed(body)
    assert "".join(e.text for e in events) == "Hel"
    assert isinstance(parser.error, errors.OverloadedError)
    assert parser.error.status_code == 503


# -- errors --------------------------------------------------------------------------


def _error(code: int, status: str, message: str, details: list[Any] | None = None) -> str:
    return json.dumps(
        {"error": {"code": code, "message": message, "status": status, "details": details or []}}
    )


@pytest.mark.parametrize(
    ("code", "status", "message", "cls"),
    [
        (400, "INVALID_ARGUMENT", "Invalid JSON payload", errors.InvalidRequestError),
        (
            400,
            "INVALID_ARGUMENT",
            "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
            errors.ContextLengthExceededError,
        ),
        (400, "FAILED_PRECONDITION", "User location is not supported", errors.InvalidRequestError),
        (401, "UNAUTHENTICATED", "API key not valid", errors.AuthenticationError),
        (403, "PERMISSION_DENIED", "denied", errors.PermissionDeniedError),
        (404, "NOT_FOUND", "models/gemini-3.6-flahs is not found", errors.ModelNotFoundError),
        (500, "INTERNAL", "An internal error has occurred", errors.ServerError),
        (503, "UNAVAILABLE", "The model is overloaded", errors.OverloadedError),
        (504, "DEADLINE_EXCEEDED", "Deadline expired", errors.APITimeoutError),
    ],
)
def test_error_from_body(code: int, status: str, message: str, cls: type[errors.LLMError]) -> None:
    error = codec.error_from_body(code, _error(code, status, message))
    assert type(error) is cls
    assert error.message == message
    assert error.status_code == code


RETRY = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "46s"}


def test_429_retry_delay_comes_from_the_body() -> None:
    error = codec.error_from_body(
        429, _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded. Please retry in 46s.", [RETRY])
    )
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 46.0
    assert error.retryable


@pytest.mark.parametrize(
    ("message", "details"),
    [
        (
            "* Quota exceeded for metric: generate_content_free_tier_requests, limit: 0, model: gemini-2.5-pro",
            [RETRY],
        ),
        (
            "Quota exceeded",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{"quotaValue": "0"}],
                },
                RETRY,
            ],
        ),
    ],
)
def test_zero_quota_is_not_retryable_and_says_why(message: str, details: list[Any]) -> None:
    error = codec.error_from_body(
        429, _error(429, "RESOURCE_EXHAUSTED", message, details), model="gemini-2.5-pro"
    )
    assert isinstance(error, errors.RateLimitError)
    assert not error.retryable
    assert error.retry_after is None
    assert "not available on your API tier" in error.message
