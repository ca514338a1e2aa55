"""Table tests for the OpenAI-compatible codec: params per host, replies, stream chunks, errors."""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
import pytest

from llmkit import errors
from llmkit.providers import (
    DeepSeekProvider,
    GroqProvider,
    MistralProvider,
    OpenAICompatibleProvider,
    OpenAIProvider,
    OpenRouterProvider,
)
from llmkit.providers._codecs.openai_chat import (
    Dialect,
    error_from_body,
    finish_reason,
    parse_completion,
    to_params,
)
from llmkit.providers._codecs.openai_chat_stream import ChatStreamParser
from llmkit.providers._codecs.sse import ServerSentEvent, SSEDecoder
from llmkit.providers._stream import ResponseBuilder
from llmkit.types import (
    Cost,
    FinishReason,
    Message,
    Request,
    Response,
    StreamEvent,
    ToolCall,
    ToolSpec,
    Usage,
)

HOSTS = {
    cls.name: attrs.evolve(cls.default_dialect, name=cls.name)
    for cls in (
        OpenAIProvider,
        GroqProvider,
        OpenRouterProvider,
        DeepSeekProvider,
        MistralProvider,
        OpenAICompatibleProvider,
    )
}

CALL = ToolCall("call_abc123XYZ_long", "get_weather", {"city": "Paris"})
CONVERSATION = (
    Message.system("Be brief."),
    Message.user("Weather in Paris?"),
    Message.assistant(
        "",
        tool_calls=[CALL],
        reasoning="Need the tool.",
        provider_data={"openrouter": {"reasoning_details": [{"type": "reasoning.text"}]}},
    ),
    Message.tool("18C", tool_call_id=CALL.id, name="get_weather"),
)


def request(**kwargs: Any) -> Request:
    return Request(**{"model": "m", "messages": CONVERSATION, **kwargs})


# -- to_params ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("openai", "max_completion_tokens"),
        ("groq", "max_completion_tokens"),
        ("deepseek", "max_tokens"),
        ("mistral", "max_tokens"),
        ("openrouter", "max_tokens"),
        ("openai-compatible", "max_tokens"),
    ],
)
def test_max_tokens_named_per_host(host: str, name: str) -> None:
    body = to_params(request(max_tokens=50), HOSTS[host])
    assert body[name] == 50
    assert {"max_tokens", "max_completion_tokens"} - {name} & body.keys() == set()


@pytest.mark.parametrize(("host", "name"), [("mistral", "random_seed"), ("openai", "seed")])
def test_seed_named_per_host(host: str, name: str) -> None:
    body = to_params(request(seed=7), HOSTS[host])
    assert body[name] == 7
    assert ("seed" in body) == (name == "seed")


@pytest.mark.parametrize(
    ("host", "usage_asked"),
    [
        ("openai", True),
        ("deepseek", True),
        ("openrouter", True),
        ("groq", False),
        ("mistral", False),
    ],
)
def test_stream_usage_asked_only_where_accepted(host: str, usage_asked: bool) -> None:
    body = to_params(request(), HOSTS[host], stream=True)
    assert body["stream"] is True
    assert ("stream_options" in body) == usage_asked
    assert "stream" not in to_params(request(), HOSTS[host])


@pytest.mark.parametrize(
    ("host", "field", "details"),
    [
        ("deepseek", "reasoning_content", False),
        ("openrouter", "reasoning", True),
        ("groq", None, False),
        ("openai", None, False),
        ("mistral", None, False),
    ],
)
def test_reasoning_goes_back_where_the_host_wants_it(
    host: str, field: str | None, details: bool
) -> None:
    assistant = to_params(request(), HOSTS[host])["messages"][2]
    reasoning_keys = {"reasoning", "reasoning_content"} & assistant.keys()
    assert reasoning_keys == ({field} if field else set())
    if field:
        assert assistant[field] == "Need the tool."
    assert ("reasoning_details" in assistant) == details


def test_reasoning_on_tool_turns_only() -> None:
    dialect = Dialect(reasoning_field="reasoning_content", reasoning_on_tool_turns_only=True)
    messages = (Message.user("q"), Message.assistant("a", reasoning="r"), *CONVERSATION[2:])
    sent = to_params(Request(model="m", messages=messages), dialect)["messages"]
    assert "reasoning_content" not in sent[1]
    assert sent[2]["reasoning_content"] == "Need the tool."


@pytest.mark.parametrize(
    ("host", "sent"), [("deepseek", ""), ("openrouter", None), ("openai", None), ("groq", None)]
)
def test_tool_turn_without_reasoning_gets_an_empty_field_only_on_deepseek(
    host: str, sent: str | None
) -> None:
    call = ToolCall("call_1", "get_weather", {"city": "Paris"})
    messages = (Message.user("q"), Message.assistant("", tool_calls=[call]), Message.user("ok"))
    wire = to_params(Request(model="m", messages=messages), HOSTS[host])["messages"][1]
    dialect = HOSTS[host]
    field = dialect.reasoning_field or "reasoning_content"
    assert wire.get(field) == sent
    assert dialect.empty_reasoning_on_tool_turns == (host == "deepseek")


def test_messages_tools_and_choice_on_the_wire() -> None:
    body = to_params(
        request(
            tools=[ToolSpec("get_weather", "Weather now", {"type": "object"})],
            tool_choice="get_weather",
            stop="END",
            temperature=0.2,
            top_p=0.9,
            response_format={"type": "json_object"},
        ),
        HOSTS["openai"],
    )
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool"]
    assert body["messages"][2]["content"] is None
    assert body["messages"][2]["tool_calls"] == [
        {
            "id": "call_abc123XYZ_long",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert body["messages"][3] == {
        "role": "tool",
        "tool_call_id": "call_abc123XYZ_long",
        "content": "18C",
    }
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object"},
                "description": "Weather now",
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["stop"] == ["END"]
    assert (body["temperature"], body["top_p"]) == (0.2, 0.9)
    assert body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_tool_choice_keywords_pass_through(choice: str) -> None:
    assert to_params(request(tool_choice=choice), HOSTS["openai"])["tool_choice"] == choice


def test_extra_wins_over_llmkit_fields() -> None:
    body = to_params(
        request(temperature=0.1, extra={"temperature": 0.9, "user": "u1"}), HOSTS["openai"]
    )
    assert body["temperature"] == 0.9
    assert body["user"] == "u1"


def test_mistral_rekeys_tool_call_ids_consistently() -> None:
    sent = to_params(request(), HOSTS["mistral"])["messages"]
    new_id = sent[2]["tool_calls"][0]["id"]
    assert re.fullmatch(r"[A-Za-z0-9]{9}", new_id)
    assert sent[3]["tool_call_id"] == new_id
    assert to_params(request(), HOSTS["mistral"])["messages"][2]["tool_calls"][0]["id"] == new_id


def test_mistral_keeps_ids_already_in_its_format() -> None:
    call = ToolCall("Ab3dE6gH9", "f", {})
    messages = (
        Message.user("q"),
        Message.assistant(tool_calls=[call]),
        Message.tool("r", tool_call_id="Ab3dE6gH9"),
    )
    sent = to_params(Request(model="m", messages=messages), HOSTS["mistral"])["messages"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"] == "Ab3dE6gH9"


def test_calls_without_ids_get_ids_their_results_share() -> None:
    calls = [ToolCall(None, "a", {}), ToolCall(None, "b", {"x": 1})]
    messages = (
        Message.user("q"),
        Message.assistant(tool_calls=calls),
        Message.tool("rb", tool_call_id=None, name="b"),
        Message.tool("ra", tool_call_id=None, name="a"),
    )
    sent = to_params(Request(model="m", messages=messages), HOSTS["openai"])["messages"]
    ids = {c["function"]["name"]: c["id"] for c in sent[1]["tool_calls"]}
    assert all(ids.values()) and len(set(ids.values())) == 2
    assert sent[2]["tool_call_id"] == ids["b"]
    assert sent[3]["tool_call_id"] == ids["a"]


def test_unparsed_arguments_go_back_as_sent() -> None:
    call = ToolCall("c1", "f", {}, raw_arguments="not json")
    messages = (Message.user("q"), Message.assistant(tool_calls=[call]))
    sent = to_params(Request(model="m", messages=messages), HOSTS["openai"])["messages"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == "not json"


@pytest.mark.parametrize(
    ("req", "mentions"),
    [
        (Request(model="m", messages=[Message.user("q")], extra={"n": 2}), "n=2"),
        (Request(model="m", messages=[Message.user("q")], extra={"logprobs": True}), "logprobs"),
        (
            Request(model="m", messages=[Message.user("q")], extra={"logit_bias": {"1": 2}}),
            "logit_bias",
        ),
        (Request(model="m", messages=[Message("user", "q", name="bob")]), "name"),
    ],
)
def test_groq_refuses_unsupported_params_before_sending(req: Request, mentions: str) -> None:
    with pytest.raises(errors.InvalidRequestError, match=re.escape(mentions)) as caught:
        to_params(req, HOSTS["groq"])
    assert caught.value.provider == "groq"
    # the same request is fine elsewhere
    to_params(req, HOSTS["openai"])


def test_groq_accepts_n_of_one() -> None:
    body = to_params(
        Request(model="m", messages=[Message.user("q")], extra={"n": 1}), HOSTS["groq"]
    )
    assert body["n"] == 1


# -- parse_completion -------------------------------------------------------------------


def completion(message: dict[str, Any], finish: str | None = "stop", **top: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "model": "m-2026",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
        ],
        **top,
    }


@pytest.mark.parametrize(
    ("message", "text", "reasoning"),
    [
        ({"content": "Hi"}, "Hi", None),
        ({"content": None}, "", None),
        ({"content": "A", "reasoning_content": "R1"}, "A", "R1"),
        ({"content": "A", "reasoning": "R2"}, "A", "R2"),
        # hosts that echo the same text under both names are not double counted
        ({"content": "A", "reasoning_content": "R", "reasoning": "R"}, "A", "R"),
        ({"content": "A", "reasoning_content": "", "reasoning": "R3"}, "A", "R3"),
        (
            {
                "content": [
                    {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
                    {"type": "text", "text": "Yes"},
                ]
            },
            "Yes",
            "hmm",
        ),
        # inline tags stay in text at the wire level: the model clients split them
        ({"content": "<think>x</think>y"}, "<think>x</think>y", None),
    ],
)
def test_text_and_reasoning(message: dict[str, Any], text: str, reasoning: str | None) -> None:
    response = parse_completion(completion(message), provider="p")
    assert (response.text, response.reasoning) == (text, reasoning)
    assert (response.model, response.id, response.provider) == ("m-2026", "chatcmpl-1", "p")


def test_tool_calls_parsed() -> None:
    message = {
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
            {"id": "c2", "type": "function", "function": {"name": "g", "arguments": ""}},
            {"type": "function", "function": {"name": "h", "arguments": "{bad"}},
        ],
    }
    response = parse_completion(completion(message, "tool_calls"), provider="p")
    assert response.tool_calls == (
        ToolCall("c1", "f", {"a": 1}),
        ToolCall("c2", "g", {}),
        ToolCall(None, "h", {}, raw_arguments="{bad"),
    )
    assert response.finish_reason is FinishReason.TOOL_CALLS


def test_legacy_function_call_used_only_without_tool_calls() -> None:
    message = {"content": None, "function_call": {"name": "f", "arguments": "{}"}}
    response = parse_completion(completion(message, "function_call"), provider="p")
    assert response.tool_calls == (ToolCall(None, "f", {}),)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens": 10, "completion_tokens": 5}, Usage(10, 5)),
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 4},
                "completion_tokens_details": {"reasoning_tokens": 3},
            },
            Usage(10, 5, reasoning_tokens=3, cached_input_tokens=4),
        ),
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "prompt_cache_hit_tokens": 6,
                "prompt_cache_miss_tokens": 4,
            },
            Usage(10, 5, cached_input_tokens=6),
        ),
        (None, Usage()),
    ],
)
def test_usage_spellings(usage: dict[str, Any] | None, expected: Usage) -> None:
    assert (
        parse_completion(completion({"content": "x"}, usage=usage), provider="p").usage == expected
    )


def test_openrouter_cost_is_the_hosts() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "cost": 0.00042}
    response = parse_completion(completion({"content": "x"}, usage=usage), provider="openrouter")
    assert response.cost == Cost(total=0.00042, source="host")
    assert parse_completion(completion({"content": "x"}), provider="openrouter").cost is None


def test_openrouter_cost_survives_a_stream() -> None:
    body = sse(
        chunk({"content": "x"}),
        chunk({}, finish="stop"),
        chunk(None, usage={"prompt_tokens": 1, "completion_tokens": 1, "cost": 0.00042}),
    )
    response, _ = run_stream(body, provider="openrouter")
    assert response.cost == Cost(total=0.00042, source="host")
    no_cost, _ = run_stream(sse(chunk({"content": "x"}, finish="stop")), provider="openrouter")
    assert no_cost.cost is None


def test_reasoning_details_kept_for_the_host_that_sent_them() -> None:
    details = [{"type": "reasoning.encrypted", "data": "abc"}]
    response = parse_completion(
        completion({"content": "x", "reasoning_details": details}), provider="openrouter"
    )
    assert response.provider_data == {"openrouter": {"reasoning_details": details}}
    assert response.to_message().provider_data["openrouter"]["reasoning_details"] == details


@pytest.mark.parametrize(
    ("raw", "calls", "expected"),
    [
        ("stop", False, FinishReason.STOP),
        ("eos", False, FinishReason.STOP),
        ("end_turn", False, FinishReason.STOP),
        ("length", False, FinishReason.LENGTH),
        ("model_length", False, FinishReason.LENGTH),
        ("max_tokens", False, FinishReason.LENGTH),
        ("tool_calls", True, FinishReason.TOOL_CALLS),
        ("function_call", True, FinishReason.TOOL_CALLS),
        ("content_filter", False, FinishReason.CONTENT_FILTER),
        ("error", False, FinishReason.ERROR),
        ("weird", False, FinishReason.OTHER),
        (None, False, FinishReason.OTHER),
        ("", False, FinishReason.OTHER),
        ("stop", True, FinishReason.TOOL_CALLS),
        (None, True, FinishReason.TOOL_CALLS),
        ("length", True, FinishReason.LENGTH),
    ],
)
def test_finish_reason_table(raw: str | None, calls: bool, expected: FinishReason) -> None:
    assert finish_reason(raw, calls) is expected


@pytest.mark.parametrize("body", [[], "text", {"choices": []}, {"id": "x"}])
def test_garbage_reply_is_an_invalid_response(body: Any) -> None:
    with pytest.raises(errors.InvalidResponseError):
        parse_completion(body, provider="p")


# -- the stream parser ------------------------------------------------------------------


def sse(*chunks: Any, done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(c)}\n\n" if not isinstance(c, str) else c for c in chunks]
    return ("".join(lines) + ("data: [DONE]\n\n" if done else "")).encode()


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **top: Any
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "c1", "model": "m-2026", "choices": choices, **top}


def run_stream(
    body: bytes, cut: int | None = None, provider: str = "p"
) -> tuple[Response, list[StreamEvent]]:
    """Feed `body` (cut in two at `cut`) through decoder and parser; fold into a Response."""
    decoder, parser, builder = (
        SSEDecoder(),
        ChatStreamParser(provider=provider),
        ResponseBuilder(provider=provider),
    )
    events: list[StreamEvent] = []
    pieces = [body] if cut is None else [body[:cut], body[cut:]]

    def take(new: list[StreamEvent]) -> None:
        events.extend(new)
        for event in new:
            builder.add(event)

    try:
        for piece in pieces:
            for item in decoder.feed(piece):
                take(parser.feed(item))
        for item in decoder.flush():
            take(parser.feed(item))
        take(parser.finish())
    except errors.LLMError as exc:
        exc.partial = builder.build()
        raise
    return builder.build(), events


TOOL_STREAM = sse(
    chunk({"role": "assistant", "content": ""}),
    chunk({"reasoning_content": "Think"}),
    chunk({"content": "Héllo"}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_", "arguments": ""},
                }
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"name": "weather", "arguments": '{"ci'}}]}),
    chunk(
        {
            "tool_calls": [
                {"index": 0, "function": {"arguments": 'ty": "Paris"}'}},
                {"index": 1, "id": "call_2", "function": {"name": "g", "arguments": "{}"}},
            ]
        }
    ),
    chunk({}, "tool_calls"),
    chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 4}),
)


@pytest.mark.parametrize("cut", range(0, len(TOOL_STREAM) + 1, 5))
def test_streamed_tool_calls_assembled_at_any_cut(cut: int) -> None:
    response, _ = run_stream(TOOL_STREAM, cut)
    assert response.text == "Héllo"
    assert response.reasoning == "Think"
    assert response.tool_calls == (
        ToolCall("call_1", "get_weather", {"city": "Paris"}),
        ToolCall("call_2", "g", {}),
    )
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert response.usage == Usage(9, 4)
    assert (response.model, response.id) == ("m-2026", "c1")


def test_one_event_per_chunk_with_content() -> None:
    _, events = run_stream(sse(chunk({"content": "a", "reasoning": "b"}), chunk({}, "stop")))
    assert [(e.text, e.reasoning, e.finish_reason) for e in events] == [
        ("a", "b", None),
        ("", "", FinishReason.STOP),
    ]


def test_groq_usage_under_x_groq() -> None:
    body = sse(
        chunk({"content": "a"}),
        chunk(
            {},
            "stop",
            x_groq={"id": "req_1", "usage": {"prompt_tokens": 7, "completion_tokens": 2}},
        ),
    )
    assert run_stream(body)[0].usage == Usage(7, 2)


def test_top_level_usage_wins_over_x_groq() -> None:
    body = sse(
        chunk({"content": "a"}, usage={"prompt_tokens": 7, "completion_tokens": 2}),
        chunk({}, "stop", x_groq={"usage": {"prompt_tokens": 1, "completion_tokens": 1}}),
    )
    assert run_stream(body)[0].usage == Usage(7, 2)


def test_mistral_thinking_chunks_in_a_stream() -> None:
    body = sse(
        chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "hm"}]}]}),
        chunk({"content": [{"type": "text", "text": "ok"}]}),
        chunk({}, "stop"),
    )
    response, _ = run_stream(body)
    assert (response.text, response.reasoning) == ("ok", "hm")


def test_comments_and_keep_alives_are_ignored() -> None:
    body = b": keep-alive\n\n: OPENROUTER PROCESSING\n\n" + sse(
        chunk({"content": "a"}), ": ping\n\n", chunk({}, "stop")
    )
    response, events = run_stream(body)
    assert response.text == "a"
    assert response.finish_reason is FinishReason.STOP
    assert len(events) == 2


def test_finish_reason_without_done_is_complete() -> None:
    response, _ = run_stream(sse(chunk({"content": "a"}), chunk({}, "stop"), done=False))
    assert response.finish_reason is FinishReason.STOP


def test_stream_cut_without_done_or_finish_is_a_stream_error_with_the_partial() -> None:
    with pytest.raises(errors.StreamError) as caught:
        run_stream(sse(chunk({"content": "Hal"}), chunk({"content": "f"}), done=False))
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Half"


def test_openrouter_error_chunk_is_raised_with_what_came_before() -> None:
    error_chunk = {
        "id": "c1",
        "model": "m",
        "error": {
            "code": 502,
            "message": "Provider returned error",
            "metadata": {"raw": "upstream down"},
        },
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    with pytest.raises(errors.ServerError) as caught:
        run_stream(
            sse(chunk({"content": "Par"}), error_chunk, chunk({"content": "ignored"})),
            provider="openrouter",
        )
    assert caught.value.status_code == 502
    assert caught.value.message.startswith("Provider returned error")
    assert caught.value.partial is not None and caught.value.partial.text == "Par"


def test_groq_error_event_is_raised_as_the_mapped_error() -> None:
    error = {
        "error": {
            "message": "Tool choice is required",
            "type": "invalid_request_error",
            "code": "tool_use_failed",
            "status_code": 400,
        }
    }
    body = sse(
        chunk({"content": "maybe"}), f"event: error\ndata: {json.dumps(error)}\n\n", done=False
    )
    with pytest.raises(errors.InvalidRequestError) as caught:
        run_stream(body, provider="groq")
    assert caught.value.status_code == 400
    assert caught.value.partial is not None and caught.value.partial.text == "maybe"


def test_error_without_status_is_classified_by_type() -> None:
    body = sse({"error": {"message": "slow down", "type": "rate_limit_error"}}, done=False)
    with pytest.raises(errors.RateLimitError) as caught:
        run_stream(body)
    assert caught.value.status_code == 200


def test_garbage_chunk_is_an_invalid_response() -> None:
    with pytest.raises(errors.InvalidResponseError):
        run_stream(b"data: {not json\n\n")


def test_openrouter_reasoning_details_assembled_from_pieces() -> None:
    body = sse(
        chunk(
            {
                "reasoning": "a",
                "reasoning_details": [{"type": "reasoning.text", "text": "a", "index": 0}],
            }
        ),
        chunk(
            {
                "reasoning": "b",
                "reasoning_details": [
                    {"type": "reasoning.text", "text": "b", "index": 0, "signature": "s"}
                ],
            }
        ),
        chunk({"content": "x"}, "stop"),
    )
    response, _ = run_stream(body, provider="openrouter")
    assert response.reasoning == "ab"
    assert response.provider_data == {
        "openrouter": {
            "reasoning_details": [
                {"type": "reasoning.text", "text": "ab", "index": 0, "signature": "s"}
            ]
        }
    }


def test_done_ends_the_stream() -> None:
    parser = ChatStreamParser(provider="p")
    assert parser.feed(ServerSentEvent("[DONE]")) == []
    assert parser.feed(ServerSentEvent(json.dumps(chunk({"content": "late"})))) == []
    assert parser.finish() == []


# -- error_from_body ----------------------------------------------------------------------


def openai_error(
    message: str, code: str | None = None, kind: str = "invalid_request_error"
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, errors.InvalidRequestError, False),
        (401, errors.AuthenticationError, False),
        (403, errors.PermissionDeniedError, False),
        (404, errors.NotFoundError, False),
        (408, errors.APITimeoutError, True),
        (409, errors.APIError, True),
        (413, errors.InvalidRequestError, False),
        (422, errors.InvalidRequestError, False),
        (429, errors.RateLimitError, True),
        (500, errors.ServerError, True),
        (502, errors.ServerError, True),
        (503, errors.OverloadedError, True),
        (504, errors.APITimeoutError, True),
        (529, errors.OverloadedError, True),
        (418, errors.APIError, False),
    ],
)
def test_status_table(status: int, cls: type[errors.LLMError], retryable: bool) -> None:
    error = error_from_body(
        status, openai_error("nope"), {"x-request-id": "req_9"}, provider="p", model="m"
    )
    assert type(error) is cls
    assert error.retryable is retryable
    assert (error.status_code, error.request_id, error.provider, error.model) == (
        status,
        "req_9",
        "p",
        "m",
    )
    assert error.message == "nope"


@pytest.mark.parametrize(
    "body",
    [
        openai_error(
            "This model's maximum context length is 8192 tokens.", "context_length_exceeded"
        ),
        openai_error("Please reduce the length of the messages."),
        {
            "object": "error",
            "message": "Prompt contains 40000 tokens, too large for model with 32768 maximum context length",
            "type": "invalid_request_error",
        },
    ],
)
def test_context_length_400(body: dict[str, Any]) -> None:
    assert isinstance(error_from_body(400, body, provider="p"), errors.ContextLengthExceededError)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500"}, 1.5), ({}, None)],
)
def test_rate_limit_carries_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    error = error_from_body(
        429, openai_error("Rate limit reached", "rate_limit_exceeded"), headers, provider="groq"
    )
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == seconds
    assert error.retryable


def test_insufficient_quota_is_not_retryable() -> None:
    body = openai_error(
        "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
    )
    error = error_from_body(429, body, {"retry-after": "1"}, provider="openai")
    assert isinstance(error, errors.RateLimitError)
    assert error.retryable is False
    assert "retrying will not help" in error.message


def test_openrouter_402_is_not_retryable() -> None:
    body = {"error": {"code": 402, "message": "Insufficient credits"}}
    error = error_from_body(402, body, provider="openrouter")
    assert isinstance(error, errors.RateLimitError)
    assert error.retryable is False
    assert "credits" in error.message


def test_groq_decommissioned_model_says_it_was_retired() -> None:
    body = openai_error(
        "The model `llama-3.3-70b-versatile` has been decommissioned", "model_decommissioned"
    )
    error = error_from_body(400, body, provider="groq", model="llama-3.3-70b-versatile")
    assert isinstance(error, errors.ModelNotFoundError)
    assert "retired" in error.message


def test_404_model_not_found() -> None:
    body = openai_error("The model `x` does not exist", "model_not_found")
    assert isinstance(error_from_body(404, body, provider="p"), errors.ModelNotFoundError)
    assert type(error_from_body(404, "Not Found", provider="p")) is errors.NotFoundError


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "object": "error",
                "message": "Rate limit exceeded",
                "type": "rate_limited",
                "code": "1300",
            },
            "Rate limit exceeded",
        ),
        ({"error": "model 'x' not found"}, "model 'x' not found"),
        ("<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        ({}, "p answered HTTP 500 with no error message"),
    ],
)
def test_message_from_every_body_shape(body: Any, message: str) -> None:
    assert error_from_body(500, body, provider="p").message == message


def test_secrets_never_in_messages() -> None:
    body = openai_error(
        "Incorrect API key provided: sk-proj-abcdefghijklmnop1234. Also gsk_ABCDEFGH12345678"
    )
    error = error_from_body(401, body, provider="openai")
    assert "sk-proj-abcdefghijklmnop1234" not in str(error)
    assert "gsk_ABCDEFGH12345678" not in repr(error)


def test_developer_role_is_sent_only_where_the_client_marked_it() -> None:
    marked = Message("system", "Be brief.", provider_data={"openai": {"role": "developer"}})
    req = Request("gpt-5.6", [marked, Message.user("hi")])
    openai_roles = [m["role"] for m in to_params(req, Dialect(name="openai"))["messages"]]
    assert openai_roles == ["developer", "user"]
    groq_roles = [m["role"] for m in to_params(req, Dialect(name="groq"))["messages"]]
    assert groq_roles == ["system", "user"]


@pytest.mark.parametrize(
    ("event", "payload", "cls", "retryable"),
    [
        (
            "error",
            {"error": {"message": "boom", "type": "internal_server_error"}},
            errors.ServerError,
            True,
        ),
        ("error", {"error": {"message": "boom", "type": "server_error"}}, errors.ServerError, True),
        ("error", {"error": {"message": "boom", "type": "api_error"}}, errors.ServerError, True),
        (
            "error",
            {"error": {"message": "busy", "type": "overloaded_error"}},
            errors.OverloadedError,
            True,
        ),
        (
            "error",
            {"error": {"message": "slow down", "type": "tokens", "code": "rate_limit_exceeded"}},
            errors.RateLimitError,
            True,
        ),
        (
            "error",
            {"error": {"message": "bad", "type": "invalid_request_error"}},
            errors.InvalidRequestError,
            False,
        ),
        # OpenRouter: an error chunk with a string code and a finish reason of "error"
        (
            None,
            {
                **chunk({}, "error"),
                "error": {"code": "server_error", "message": "Provider disconnected"},
            },
            errors.ServerError,
            True,
        ),
        (None, {"error": {"message": "who knows"}}, errors.APIError, False),
    ],
)
def test_in_stream_error_without_a_status_is_classified_by_its_type(
    event: str | None, payload: dict[str, Any], cls: type[errors.LLMError], retryable: bool
) -> None:
    parser = ChatStreamParser(provider="groq", model="m")
    parser.feed(ServerSentEvent(json.dumps(chunk({"content": "Hel"}))))
    parser.feed(ServerSentEvent(json.dumps(payload), event=event))
    with pytest.raises(errors.LLMError) as caught:
        parser.finish()
    assert type(caught.value) is cls
    assert caught.value.retryable is retryable
    assert caught.value.status_code == 200  # the stream's status, as the corpus has it


# -- nothing dropped from a reply (issue 9) ----------------------------------------


def _stream_reply(body: bytes, *, cut: int | None = None) -> Response:
    """`body` through the contract's `StreamParser`, in pieces of `cut` bytes, folded."""
    from llmkit.providers._codecs.openai_chat import StreamParser

    parser = StreamParser(provider="openai", model="m")
    builder = ResponseBuilder(provider="openai")
    pieces = [body] if cut is None else [body[i : i + cut] for i in range(0, len(body), cut)]
    for piece in pieces:
        for event in parser.feed(piece):
            builder.add(event)
        if parser.error is not None:
            raise parser.error
    for event in parser.flush():
        builder.add(event)
    return builder.build()


def _sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    return ("".join(lines) + ("data: [DONE]\n\n" if done else "")).encode()


def test_a_refusal_is_kept_and_ends_with_content_filter() -> None:
    body = {
        "model": "gpt-4o",
        "choices": [
            {
                "message": {"role": "assistant", "content": None, "refusal": "I can't help."},
                "finish_reason": "stop",
            }
        ],
    }
    reply = parse_completion(body, provider="openai")
    assert reply.refusal == "I can't help."
    assert reply.text == ""
    assert reply.finish_reason is FinishReason.CONTENT_FILTER
    assert reply.raw_finish_reason == "stop"


def test_a_refusal_beside_text_keeps_the_finish_reason() -> None:
    message = {"role": "assistant", "content": "Partly: ", "refusal": "not the rest"}
    body = {"choices": [{"message": message, "finish_reason": "stop"}]}
    reply = parse_completion(body, provider="openai")
    assert (reply.text, reply.refusal) == ("Partly: ", "not the rest")
    assert reply.finish_reason is FinishReason.STOP
    assert (
        parse_completion(
            {"choices": [{"message": {"content": "ok", "refusal": None}, "finish_reason": "stop"}]},
            provider="openai",
        ).refusal
        is None
    )


@pytest.mark.parametrize("cut", [None, 5])
def test_a_streamed_refusal_is_folded_like_a_complete_one(cut: int | None) -> None:
    body = _sse(
        {"model": "gpt-4o", "choices": [{"delta": {"role": "assistant", "refusal": ""}}]},
        {"choices": [{"delta": {"refusal": "I can't "}}]},
        {"choices": [{"delta": {"refusal": "help."}}]},
        {"choices": [{"delta": {}, "finish_reason": "stop"}]},
    )
    reply = _stream_reply(body, cut=cut)
    assert reply.refusal == "I can't help."
    assert reply.text == ""
    assert reply.finish_reason is FinishReason.CONTENT_FILTER
    assert reply.raw_finish_reason == "stop"
    assert StreamEvent(refusal="x").has_content  # a refusal is progress


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ({"city": "Paris", "temp": 21}, '{"city": "Paris", "temp": 21}'),
        ([1, 2, 3], "[1, 2, 3]"),
        ([{"name": "é"}], '[{"name": "é"}]'),
        ([{"type": "text", "text": "parts stay parts"}], "parts stay parts"),
    ],
)
def test_json_content_becomes_its_json_text(content: Any, text: str) -> None:
    body = {"choices": [{"message": {"role": "assistant", "content": content}}]}
    assert parse_completion(body, provider="workers-ai").text == text
    streamed = _stream_reply(
        _sse(
            {"choices": [{"delta": {"content": content}}]},
            {"choices": [{"delta": {}, "finish_reason": "stop"}]},
        )
    )
    assert streamed.text == text


@pytest.mark.parametrize("cut", [None, 7])
def test_a_servers_error_line_ends_the_stream_with_its_text(cut: int | None) -> None:
    # llama.cpp's server: `error: {...}` after some content, then the body ends
    body = (
        _sse({"choices": [{"delta": {"content": "Hel"}}]}, done=False)
        + b'error: {"code":500,"message":"the request exceeds the available context size",'
        b'"type":"server_error"}\n\n'
    )
    with pytest.raises(errors.StreamError, match="exceeds the available context size") as caught:
        _stream_reply(body, cut=cut)
    assert caught.value.provider == "openai"


def test_an_error_line_without_a_blank_line_still_counts() -> None:
    body = _sse({"choices": [{"delta": {"content": "Hel"}}]}, done=False) + b"error: out of memory"
    with pytest.raises(errors.StreamError, match="out of memory"):
        _stream_reply(body)


def test_bytes_after_done_are_ignored() -> None:
    body = _sse({"choices": [{"delta": {"content": "ok"}, "finish_reason": "stop"}]})
    reply = _stream_reply(body + b"data: {not json\n\nerror: late\n\n")
    assert reply.text == "ok"


def test_a_body_cut_inside_the_last_event_is_a_retryable_stream_error() -> None:
    body = _sse({"choices": [{"delta": {"content": "Hel"}}]}, done=False) + b'data: {"choi'
    with pytest.raises(errors.StreamError, match="cut in the middle") as caught:
        _stream_reply(body)
    assert caught.value.retryable


def test_error_from_body_reads_raw_bytes() -> None:
    raw = b'{"error": {"message": "bad key", "type": "invalid_request_error"}}'
    error = error_from_body(401, raw, provider="openai")
    assert isinstance(error, errors.AuthenticationError)
    assert error.message == "bad key"
    assert error.body == {"error": {"message": "bad key", "type": "invalid_request_error"}}
