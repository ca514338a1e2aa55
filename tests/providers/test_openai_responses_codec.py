"""The `openai_responses` codec (request items, replies, stream events, errors) and the
`api="responses"` switch of the OpenAI-compatible providers and `GPT4Client`.

The recorded replies of real hosts are replayed in tests/conformance/test_openai_responses.py;
these tests pin what the corpus cannot show: the request side, the turn-to-turn round
trip of encrypted reasoning, and the in-stream errors no recording has.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from llmkit import errors
from llmkit.clients import GPT4Client
from llmkit.providers import AzureOpenAIProvider, OpenAIProvider, OpenRouterProvider
from llmkit.providers._codecs import openai_responses as codec
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.providers._stream import ResponseBuilder
from llmkit.types import FinishReason, Message, Request, ToolCall, ToolSpec

OPENAI = Dialect(name="openai")
WEATHER = ToolSpec("get_weather", "Weather of a city.", {"type": "object", "properties": {}})

REASONING_ITEM = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [
        {"type": "summary_text", "text": "**Weather**\n\nLook it up."},
        {"type": "summary_text", "text": "**Then**\n\nAnswer."},
    ],
    "encrypted_content": "gAAAA-secret-blob",
    "status": "completed",
}
CALL_ITEM = {
    "type": "function_call",
    "id": "fc_1",
    "call_id": "call_1",
    "name": "get_weather",
    "arguments": '{"city": "Paris"}',
    "status": "completed",
}
USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"cached_tokens": 20},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 80,
}


def reply(*items: dict[str, Any], status: str = "completed", **more: Any) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "model": "gpt-5.6-2026",
        "status": status,
        "output": list(items),
        "usage": USAGE,
        **more,
    }


def message_item(text: str = "Sunny.", kind: str = "output_text") -> dict[str, Any]:
    part = {"type": kind, kind.replace("output_", ""): text}
    return {"type": "message", "id": "msg_1", "role": "assistant", "content": [part]}


# -- request ------------------------------------------------------------------------


def test_leading_system_prompts_become_instructions_and_later_ones_stay_in_place() -> None:
    later = Message.system("Now in French.")
    later = Message(later.role, later.content, provider_data={"openai": {"role": "developer"}})
    request = Request(
        model="gpt-5.6",
        messages=[Message.system("Be brief."), Message.user("Hi"), later],
    )
    body = codec.to_params(request, OPENAI)
    assert body["instructions"] == "Be brief."
    assert body["input"] == [
        {"role": "user", "content": "Hi"},
        {"role": "developer", "content": "Now in French."},
    ]


def test_tool_round_trip_as_items_with_ids_minted_and_results_paired_by_name() -> None:
    call = ToolCall(None, "get_weather", {"city": "Paris"})
    request = Request(
        model="gpt-4.1",
        messages=[
            Message.user("Weather?"),
            Message.assistant("Let me look.", tool_calls=[call]),
            Message.tool("Sunny", tool_call_id=None, name="get_weather"),
        ],
        tools=[WEATHER],
        tool_choice="get_weather",
    )
    body = codec.to_params(request, OPENAI)
    assert body["input"][1:] == [
        {"role": "assistant", "content": "Let me look."},
        {
            "type": "function_call",
            "call_id": "call_1_0",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_1_0", "output": "Sunny"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather of a city.",
            "parameters": {"type": "object", "properties": {}},
        }
    ]
    assert body["tool_choice"] == {"type": "function", "name": "get_weather"}


def test_structured_output_effort_and_limits_in_the_responses_names() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    request = Request(
        model="gpt-5.6",
        messages=[Message.user("Give me a")],
        max_tokens=300,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "A", "schema": schema, "strict": True},
        },
        extra={"reasoning_effort": "high", "reasoning": {"summary": "auto"}, "store": False},
    )
    body = codec.to_params(request, OPENAI, stream=True)
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "A", "schema": schema, "strict": True}
    }
    assert body["reasoning"] == {"summary": "auto", "effort": "high"}
    assert "reasoning_effort" not in body
    assert (body["max_output_tokens"], body["stream"], body["store"]) == (300, True, False)
    json_mode = Request(model="m", messages=[], response_format={"type": "json_object"})
    assert codec.to_params(json_mode)["text"] == {"format": {"type": "json_object"}}


@pytest.mark.parametrize(("field", "value"), [("stop", ["\n"]), ("seed", 7), ("seed", 0)])
def test_what_the_responses_api_has_no_field_for_fails_before_sending(
    field: str, value: Any
) -> None:
    request = Request(model="gpt-5.6", messages=[Message.user("hi")], **{field: value})
    with pytest.raises(errors.InvalidRequestError, match=f"no {field}.*api='chat'"):
        codec.to_params(request, OPENAI)


def test_text_and_media_parts_go_as_responses_input_parts() -> None:
    from llmkit.types import Image, Text

    texts = Request(model="m", messages=[Message.user("What", Text("is this?"))])
    assert codec.to_params(texts)["input"] == [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What"},
                {"type": "input_text", "text": "is this?"},
            ],
        }
    ]
    image = Image.from_url("https://example.com/cat.png")
    media = Request(model="m", messages=[Message.user("What is this?", image)])
    part = codec.to_params(media)["input"][0]["content"][1]
    assert part == {
        "type": "input_image",
        "image_url": "https://example.com/cat.png",
        "detail": "auto",
    }


# -- reply --------------------------------------------------------------------------


def test_reply_text_summary_calls_usage_and_the_items_kept_for_next_turn() -> None:
    response = codec.parse_reply(
        reply(REASONING_ITEM, message_item("Checking."), CALL_ITEM), provider="openai"
    )
    assert response.text == "Checking."
    assert response.reasoning == "**Weather**\n\nLook it up.**Then**\n\nAnswer."
    assert response.tool_calls == (ToolCall("call_1", "get_weather", {"city": "Paris"}),)
    assert (response.finish_reason, response.raw_finish_reason) == (
        FinishReason.TOOL_CALLS,
        "completed",
    )
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens) == (50, 30)
    assert (usage.reasoning_tokens, usage.cached_input_tokens) == (12, 20)
    assert response.model == "gpt-5.6-2026" and response.id == "resp_1"
    items = response.provider_data["openai"]["items"]
    assert items[0] == {k: v for k, v in REASONING_ITEM.items() if k != "status"}
    assert items[1:] == [
        {"type": "message", "id": "msg_1"},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1"},
    ]


def test_reasoning_text_is_used_where_a_host_sends_no_summary() -> None:
    item = {
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "Hm."}],
    }
    response = codec.parse_reply(reply(item, message_item()), provider="deepseek")
    assert response.reasoning == "Hm."


def test_a_reply_without_reasoning_keeps_no_provider_data() -> None:
    response = codec.parse_reply(reply(message_item()), provider="openai")
    assert response.provider_data == {} and response.finish_reason is FinishReason.STOP


def test_a_refusal_is_not_text_and_a_refusal_only_reply_ends_content_filter() -> None:
    response = codec.parse_reply(reply(message_item("I can't.", "refusal")), provider="openai")
    assert (response.text, response.refusal) == ("", "I can't.")
    assert response.finish_reason is FinishReason.CONTENT_FILTER
    assert response.raw_finish_reason == "completed"


def test_an_incomplete_reply_says_why() -> None:
    body = reply(
        message_item("Half"),
        status="incomplete",
        incomplete_details={"reason": "max_output_tokens"},
    )
    response = codec.parse_reply(body, provider="openai")
    assert (response.finish_reason, response.raw_finish_reason) == (
        FinishReason.LENGTH,
        "max_output_tokens",
    )


@pytest.mark.parametrize(
    ("code", "error_type"),
    [("server_error", errors.ServerError), ("rate_limit_exceeded", errors.RateLimitError)],
)
def test_a_failed_response_raises_its_error(code: str, error_type: type[Exception]) -> None:
    body = reply(status="failed", error={"code": code, "message": "it broke"})
    with pytest.raises(error_type, match="it broke"):
        codec.parse_reply(body, provider="openai")


def test_a_body_that_is_not_a_response_is_invalid() -> None:
    with pytest.raises(errors.InvalidResponseError):
        codec.parse_reply(["not", "an", "object"], provider="openai")


def test_http_errors_use_the_openai_shapes() -> None:
    body = {
        "error": {
            "message": "Your input exceeds the context window",
            "code": "context_length_exceeded",
        }
    }
    error = codec.error_from_body(400, json.dumps(body), provider="openai", model="gpt-5.6")
    assert isinstance(error, errors.ContextLengthExceededError) and error.status_code == 400


# -- the next turn -------------------------------------------------------------------


def test_encrypted_reasoning_goes_back_with_the_ids_of_its_items() -> None:
    first = codec.parse_reply(
        reply(REASONING_ITEM, message_item("Checking."), CALL_ITEM), provider="openai"
    )
    request = Request(
        model="gpt-5.6",
        messages=[
            Message.user("Weather?"),
            first.to_message(),
            Message.tool("Sunny", tool_call_id="call_1"),
        ],
        extra={"store": False, "include": ["reasoning.encrypted_content"]},
    )
    sent = codec.to_params(request, OPENAI)["input"]
    assert sent[1] == {k: v for k, v in REASONING_ITEM.items() if k != "status"}
    assert sent[2]["id"] == "msg_1" and sent[2]["content"][0]["text"] == "Checking."
    assert sent[3] == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
        "id": "fc_1",
    }
    assert sent[4] == {"type": "function_call_output", "call_id": "call_1", "output": "Sunny"}
    assert sent[0] == {"role": "user", "content": "Weather?"}
    assert sent[1]["encrypted_content"] == "gAAAA-secret-blob"
    assert len(sent) == 5


def test_unencrypted_reasoning_is_left_out_when_nothing_is_stored() -> None:
    plain = {k: v for k, v in REASONING_ITEM.items() if k != "encrypted_content"}
    first = codec.parse_reply(reply(plain, message_item()), provider="openai")
    history = [Message.user("Hi"), first.to_message(), Message.user("More")]
    stored = codec.to_params(Request(model="m", messages=history), OPENAI)["input"]
    stateless = codec.to_params(
        Request(model="m", messages=history, extra={"store": False}), OPENAI
    )["input"]
    assert [i.get("type") for i in stored][:2] == [None, "reasoning"]
    assert "reasoning" not in [i.get("type") for i in stateless]
    assert stateless[1]["content"][0]["text"] == "Sunny."


def test_another_hosts_items_never_travel() -> None:
    first = codec.parse_reply(reply(REASONING_ITEM, message_item()), provider="openai")
    history = [Message.user("Hi"), first.to_message()]
    sent = codec.to_params(Request(model="m", messages=history), Dialect(name="openrouter"))
    assert sent["input"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Sunny."},
    ]


# -- stream -------------------------------------------------------------------------


def sse(*events: dict[str, Any]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def streamed_call() -> bytes:
    final = reply(REASONING_ITEM, CALL_ITEM)
    added = {**CALL_ITEM, "arguments": "", "status": "in_progress"}
    return sse(
        {"type": "response.created", "response": {**final, "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning"}},
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 0,
            "delta": "**Weather**\n\nLook it up.",
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 0,
            "delta": "**Then**\n\nAnswer.",
        },
        {"type": "response.output_item.done", "output_index": 0, "item": REASONING_ITEM},
        {"type": "response.output_item.added", "output_index": 1, "item": added},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '{"city": '},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '"Paris"}'},
        {
            "type": "response.function_call_arguments.done",
            "output_index": 1,
            "arguments": '{"city": "Paris"}',
        },
        {"type": "response.output_item.done", "output_index": 1, "item": CALL_ITEM},
        {"type": "response.completed", "response": final},
    )


def collect(body: bytes, chunk: int | None = None, provider: str = "openai") -> Any:
    parser = codec.StreamParser(provider=provider, model="gpt-5.6")
    builder = ResponseBuilder(provider=provider)
    pieces = [body] if chunk is None else [body[i : i + chunk] for i in range(0, len(body), chunk)]
    for piece in pieces:
        for event in parser.feed(piece):
            builder.add(event)
    for event in parser.flush():
        builder.add(event)
    return parser, builder.build()


@pytest.mark.parametrize("chunk", [None, 1, 5, 64])
def test_a_streamed_reply_equals_the_whole_one_however_it_is_cut(chunk: int | None) -> None:
    parser, streamed = collect(streamed_call(), chunk)
    whole = codec.parse_reply(reply(REASONING_ITEM, CALL_ITEM), provider="openai")
    assert parser.done and parser.error is None
    for name in ("text", "reasoning", "tool_calls", "finish_reason", "raw_finish_reason"):
        assert getattr(streamed, name) == getattr(whole, name), name
    assert streamed.usage == whole.usage and streamed.model == whole.model
    assert streamed.provider_data == whole.provider_data


def test_call_arguments_arriving_only_in_the_done_item_are_not_lost() -> None:
    body = sse(
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**CALL_ITEM, "arguments": ""},
        },
        {"type": "response.output_item.done", "output_index": 0, "item": CALL_ITEM},
        {"type": "response.completed", "response": reply(CALL_ITEM)},
    )
    _, response = collect(body)
    assert response.tool_calls == (ToolCall("call_1", "get_weather", {"city": "Paris"}),)


def test_reasoning_text_deltas_count_only_for_an_item_without_summary() -> None:
    body = sse(
        {"type": "response.reasoning_text.delta", "output_index": 0, "delta": "raw "},
        {"type": "response.reasoning_summary_text.delta", "output_index": 1, "delta": "sum"},
        {"type": "response.reasoning_text.delta", "output_index": 1, "delta": "hidden"},
        {"type": "response.output_text.delta", "output_index": 2, "delta": "Hi"},
        {"type": "response.completed", "response": reply()},
    )
    _, response = collect(body)
    assert (response.reasoning, response.text) == ("raw sum", "Hi")


def test_an_error_event_stops_the_stream_with_what_came_before() -> None:
    body = sse(
        {"type": "response.output_text.delta", "output_index": 0, "delta": "Par"},
        {"type": "error", "code": "server_error", "message": "The server had an error"},
        {"type": "response.output_text.delta", "output_index": 0, "delta": "is"},
    )
    parser = codec.StreamParser(provider="openai")
    events = parser.feed(body)
    assert [e.text for e in events] == ["Par"]
    assert isinstance(parser.error, errors.ServerError)
    assert "The server had an error" in parser.error.message
    with pytest.raises(errors.ServerError):
        parser.flush()


def test_a_failed_response_event_is_the_hosts_error() -> None:
    failed = reply(status="failed", error={"code": "rate_limit_exceeded", "message": "Slow down"})
    parser = codec.StreamParser(provider="openai")
    parser.feed(sse({"type": "response.failed", "response": failed}))
    assert isinstance(parser.error, errors.RateLimitError)


def test_a_stream_cut_before_its_terminal_event_is_a_stream_error() -> None:
    parser = codec.StreamParser(provider="openai")
    parser.feed(sse({"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"}))
    with pytest.raises(errors.StreamError, match=r"response\.completed"):
        parser.flush()


# -- providers and GPT4Client ---------------------------------------------------------


class Host:
    """Records each request and answers with the Responses body given (or a chat one)."""

    def __init__(self, *bodies: dict[str, Any]) -> None:
        self.bodies = list(bodies)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return httpx2.Response(200, json=self.bodies.pop(0))

    def sent(self, n: int = 0) -> Any:
        return json.loads(self.requests[n].content)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))


CHAT = {
    "id": "c",
    "model": "gpt-5.6",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
}


async def test_openai_provider_with_api_responses_posts_to_responses() -> None:
    host = Host(reply(message_item()))
    provider = OpenAIProvider(api_key="k", http_client=host.client(), api="responses", retry=None)
    response = await provider.complete(Request(model="gpt-4.1", messages=[Message.user("Hi")]))
    assert str(host.requests[0].url) == "https://api.openai.com/v1/responses"
    assert host.sent()["input"] == [{"role": "user", "content": "Hi"}]
    assert response.text == "Sunny."


@pytest.mark.parametrize(
    ("options", "url"),
    [
        ({}, "https://r.openai.azure.com/openai/v1/responses"),
        (
            {"api_version": "2025-03-01-preview"},
            "https://r.openai.azure.com/openai/responses?api-version=2025-03-01-preview",
        ),
    ],
)
async def test_azure_serves_the_responses_api_without_a_deployment_path(
    options: dict[str, Any], url: str
) -> None:
    host = Host(reply(message_item()))
    provider = AzureOpenAIProvider(
        endpoint="https://r.openai.azure.com",
        api_key="k",
        http_client=host.client(),
        api="responses",
        retry=None,
        **options,
    )
    await provider.complete(Request(model="my-deployment", messages=[Message.user("Hi")]))
    assert str(host.requests[0].url) == url


async def test_openrouter_serves_the_responses_api() -> None:
    host = Host(reply(message_item()))
    provider = OpenRouterProvider(
        api_key="k", http_client=host.client(), api="responses", retry=None
    )
    await provider.complete(Request(model="openai/gpt-5.6", messages=[Message.user("Hi")]))
    assert str(host.requests[0].url) == "https://openrouter.ai/api/v1/responses"


def test_an_unknown_api_is_a_configuration_error() -> None:
    with pytest.raises(errors.ConfigurationError, match="'chat' or 'responses'"):
        OpenAIProvider(api_key="k", api="completions")  # type: ignore[arg-type]


async def test_gpt4_client_gets_a_reasoning_summary_back_and_sends_the_reasoning_next_turn() -> (
    None
):
    host = Host(reply(REASONING_ITEM, message_item()), reply(message_item("Still sunny.")))
    client = GPT4Client(
        OpenAIProvider(api_key="k", http_client=host.client(), retry=None),
        reasoning_effort="high",
        system="Be brief.",
    )
    assert client.api_for() == "responses"
    first = await client.generate("Weather?")
    assert first.reasoning == "**Weather**\n\nLook it up.**Then**\n\nAnswer."
    assert str(host.requests[0].url).endswith("/v1/responses")
    body = host.sent(0)
    assert body["reasoning"] == {"summary": "auto", "effort": "high"}
    assert (body["store"], body["include"]) == (False, ["reasoning.encrypted_content"])
    assert body["instructions"] == "Be brief." and "llmkit_api" not in body
    await client.generate([Message.user("Weather?"), first.to_message(), Message.user("Now?")])
    again = host.sent(1)["input"]
    assert again[1]["type"] == "reasoning"
    assert again[1]["encrypted_content"] == "gAAAA-secret-blob"


async def test_gpt4_client_api_chat_and_classic_models_keep_chat_completions() -> None:
    host = Host(CHAT, CHAT)
    provider = OpenAIProvider(api_key="k", http_client=host.client(), retry=None)
    await GPT4Client(provider, api="chat").generate("Hi")
    await GPT4Client(provider, model="gpt-4.1").generate("Hi")
    assert [r.url.path for r in host.requests] == ["/v1/chat/completions"] * 2
    assert GPT4Client(provider, model="gpt-4.1").api_for() == "chat"


async def test_gpt4_client_api_responses_for_a_classic_model_and_no_summary_when_off() -> None:
    host = Host(reply(message_item()), reply(message_item()))
    provider = OpenAIProvider(api_key="k", http_client=host.client(), retry=None)
    await GPT4Client(provider, model="gpt-4.1", api="responses").generate("Hi")
    await GPT4Client(provider, reasoning_summary=None).generate("Hi")
    assert [r.url.path for r in host.requests] == ["/v1/responses"] * 2
    assert "reasoning" not in host.sent(0) and "store" not in host.sent(0)
    assert "reasoning" not in host.sent(1) and host.sent(1)["store"] is False


def test_gpt4_client_refuses_unknown_api_settings() -> None:
    provider = OpenAIProvider(api_key="k")
    with pytest.raises(errors.ConfigurationError, match="auto, chat, responses"):
        GPT4Client(provider, api="rest")  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigurationError, match="reasoning_summary"):
        GPT4Client(provider, reasoning_summary="long")  # type: ignore[arg-type]


def test_content_parts_go_out_as_responses_input_parts() -> None:
    from llmkit.providers._codecs import openai_responses
    from llmkit.types import CachePoint, Document, Image

    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    message = Message.user(
        "Compare", Image.from_bytes(png), CachePoint(), Document.from_url("https://e.x/a.pdf")
    )
    body = openai_responses.to_params(Request("gpt-5.6", [message]))
    content = body["input"][0]["content"]
    assert [part["type"] for part in content] == ["input_text", "input_image", "input_file"]
    assert content[1]["image_url"].startswith("data:image/png;base64,")
    assert content[2] == {"type": "input_file", "file_url": "https://e.x/a.pdf"}
