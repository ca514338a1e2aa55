"""One conversation with a tool-call round trip, on every host, through every client that runs there.

A fake host (`WireHost`) speaks each wire format llmkit knows (OpenAI Chat
Completions and Responses, Anthropic Messages, Gemini generateContent, Cohere v2 chat, Ollama
`/api/chat`), complete and streamed, behind a MockTransport. Every model client
runs on every host its catalog entry says serves it, and every provider also runs
the conversation bare; the llmkit values that come back (text, tool-call names and
arguments, finish reasons, usage) must be equal everywhere, and each host must get
the tool result paired with its call in its own format.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from llmkit.catalog import default_catalog
from llmkit.clients import (
    ClaudeClient,
    DeepSeekClient,
    GeminiClient,
    GPT4Client,
    LlamaClient,
    MixtralClient,
    ModelClient,
)
from llmkit.providers import (
    CohereProvider,
    DeepSeekProvider,
    GroqProvider,
    MistralProvider,
    OllamaProvider,
    OpenAICompatibleProvider,
    OpenAIProvider,
    OpenRouterProvider,
)
from llmkit.providers.anthropic import AnthropicProvider
from llmkit.providers.gemini import GeminiProvider
from llmkit.types import FinishReason, Message, Request, Response, ToolSpec, Usage

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
QUESTION = "What's the weather in Paris?"
RESULT = "Sunny, 22C"
ANSWER = "It is sunny and 22C in Paris."
ARGUMENTS = {"city": "Paris"}
USAGE = Usage(input_tokens=10, output_tokens=5)


# -- the fake host: one reply builder per wire format ----------------------------------


def _sse(events: list[tuple[str | None, dict[str, Any]]], done: bool = False) -> bytes:
    text = "".join(
        (f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n"
        for name, data in events
    )
    return (text + ("data: [DONE]\n\n" if done else "")).encode()


def openai_reply(call: bool, stream: bool) -> httpx2.Response:
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    tool_call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps(ARGUMENTS)},
    }
    finish = "tool_calls" if call else "stop"
    if not stream:
        message = {"role": "assistant", "content": None if call else ANSWER}
        if call:
            message["tool_calls"] = [tool_call]
        body = {
            "id": "cmpl-1",
            "object": "chat.completion",
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }
        return httpx2.Response(200, json=body)

    def chunk(delta: dict[str, Any], **extra: Any) -> tuple[None, dict[str, Any]]:
        choice = {"index": 0, "delta": delta, "finish_reason": extra.pop("finish", None)}
        return None, {
            "id": "c",
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [choice],
            **extra,
        }

    if call:
        head = {**tool_call, "index": 0, "function": {"name": "get_weather", "arguments": ""}}
        deltas = [
            chunk({"role": "assistant", "tool_calls": [head]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        ]
    else:
        deltas = [
            chunk({"role": "assistant", "content": ANSWER[:9]}),
            chunk({"content": ANSWER[9:]}),
        ]
    deltas.append(chunk({}, finish=finish))
    deltas.append(
        (
            None,
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "model": "m",
                "choices": [],
                "usage": usage,
            },
        )
    )
    return httpx2.Response(
        200, headers={"content-type": "text/event-stream"}, content=_sse(deltas, done=True)
    )


def anthropic_reply(call: bool, stream: bool) -> httpx2.Response:
    block = (
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": ARGUMENTS}
        if call
        else {"type": "text", "text": ANSWER}
    )
    stop = "tool_use" if call else "end_turn"
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [block],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    if not stream:
        return httpx2.Response(200, json=message)
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    }
    if call:
        opening = {**block, "input": {}}
        deltas = [
            {"type": "input_json_delta", "partial_json": '{"city": '},
            {"type": "input_json_delta", "partial_json": '"Paris"}'},
        ]
    else:
        opening = {"type": "text", "text": ""}
        deltas = [
            {"type": "text_delta", "text": ANSWER[:9]},
            {"type": "text_delta", "text": ANSWER[9:]},
        ]
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": opening},
        ),
        *[
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d})
            for d in deltas
        ],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=_sse(events))


def gemini_reply(call: bool, stream: bool) -> httpx2.Response:
    part = (
        {"functionCall": {"name": "get_weather", "args": ARGUMENTS}} if call else {"text": ANSWER}
    )
    usage = {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}

    def body(parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": "gemini"}

    if not stream:
        return httpx2.Response(200, json=body([part], "STOP"))
    pieces = [[part]] if call else [[{"text": ANSWER[:9]}], [{"text": ANSWER[9:]}]]
    events = [
        (None, body(p, "STOP" if i == len(pieces) - 1 else None)) for i, p in enumerate(pieces)
    ]
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=_sse(events))


def cohere_reply(call: bool, stream: bool) -> httpx2.Response:
    usage = {
        "billed_units": {"input_tokens": 1, "output_tokens": 1},
        "tokens": {"input_tokens": 10, "output_tokens": 5},
    }
    tool_call = {
        "id": "get_weather_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps(ARGUMENTS)},
    }
    finish = "TOOL_CALL" if call else "COMPLETE"
    if not stream:
        message: dict[str, Any] = {"role": "assistant"}
        if call:
            message.update(tool_plan="I will look it up.", tool_calls=[tool_call])
        else:
            message["content"] = [{"type": "text", "text": ANSWER}]
        return httpx2.Response(
            200, json={"id": "r", "finish_reason": finish, "message": message, "usage": usage}
        )

    def event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        return kind, {"type": kind, **fields}

    def msg(**message: Any) -> dict[str, Any]:
        return {"message": message}

    if call:
        head = {**tool_call, "function": {"name": "get_weather", "arguments": ""}}
        middle = [
            event("tool-plan-delta", delta=msg(tool_plan="I will look it up.")),
            event("tool-call-start", index=0, delta=msg(tool_calls=head)),
            event(
                "tool-call-delta",
                index=0,
                delta=msg(tool_calls={"function": {"arguments": '{"city": '}}),
            ),
            event(
                "tool-call-delta",
                index=0,
                delta=msg(tool_calls={"function": {"arguments": '"Paris"}'}}),
            ),
            event("tool-call-end", index=0),
        ]
    else:
        middle = [
            event("content-start", index=0, delta=msg(content={"type": "text", "text": ""})),
            event("content-delta", index=0, delta=msg(content={"text": ANSWER[:9]})),
            event("content-delta", index=0, delta=msg(content={"text": ANSWER[9:]})),
            event("content-end", index=0),
        ]
    events = [
        event("message-start", id="r", delta=msg(role="assistant")),
        *middle,
        event("message-end", delta={"finish_reason": finish, "usage": usage}),
    ]
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=_sse(events))


def ollama_reply(call: bool, stream: bool) -> httpx2.Response:
    message: dict[str, Any] = {"role": "assistant", "content": "" if call else ANSWER}
    if call:
        message["tool_calls"] = [{"function": {"name": "get_weather", "arguments": ARGUMENTS}}]
    final = {
        "model": "m",
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 10,
        "eval_count": 5,
    }
    if not stream:
        return httpx2.Response(200, json={**final, "message": message})
    if call:
        lines = [{"model": "m", "message": message, "done": False}]
    else:
        lines = [
            {"model": "m", "message": {"role": "assistant", "content": ANSWER[:9]}, "done": False},
            {"model": "m", "message": {"role": "assistant", "content": ANSWER[9:]}, "done": False},
        ]
    lines.append({**final, "message": {"role": "assistant", "content": ""}})
    content = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return httpx2.Response(200, headers={"content-type": "application/x-ndjson"}, content=content)


# Where each host must find the tool result: paired with its call, in its own format.


def _ids_paired(body: dict[str, Any]) -> bool:
    """OpenAI-style: the result's `tool_call_id` is the id of the call (whatever the host made of it)."""
    calls = [c["id"] for m in body["messages"] for c in m.get("tool_calls") or ()]
    results = [(m["tool_call_id"], m["content"]) for m in body["messages"] if m["role"] == "tool"]
    return len(calls) == 1 and bool(calls[0]) and results == [(calls[0], RESULT)]


openai_paired = cohere_paired = _ids_paired


def anthropic_paired(body: dict[str, Any]) -> bool:
    blocks = [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]]
    uses = [b["id"] for b in blocks if b["type"] == "tool_use"]
    results = [b for b in blocks if b["type"] == "tool_result"]
    return (
        uses == ["toolu_1"]
        and [r["tool_use_id"] for r in results] == ["toolu_1"]
        and (RESULT in json.dumps(results))
    )


def gemini_paired(body: dict[str, Any]) -> bool:
    parts = [p for c in body["contents"] for p in c["parts"]]
    calls = [p["functionCall"]["name"] for p in parts if "functionCall" in p]
    responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
    return (
        calls == ["get_weather"]
        and [r["name"] for r in responses] == ["get_weather"]
        and (RESULT in json.dumps(responses))
    )


def ollama_paired(body: dict[str, Any]) -> bool:
    calls = [c["function"]["name"] for m in body["messages"] for c in m.get("tool_calls") or ()]
    results = [m for m in body["messages"] if m["role"] == "tool"]
    return calls == ["get_weather"] and [(m.get("tool_name"), m["content"]) for m in results] == [
        ("get_weather", RESULT)
    ]


def responses_reply(call: bool, stream: bool) -> httpx2.Response:
    """OpenAI's Responses API (`/responses`): a `function_call` item, or a message."""
    if call:
        item: dict[str, Any] = {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": json.dumps(ARGUMENTS),
            "status": "completed",
        }
    else:
        text = {"type": "output_text", "text": ANSWER, "annotations": []}
        item = {"type": "message", "id": "msg_1", "role": "assistant", "content": [text]}
    usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    body = {"id": "resp_1", "model": "m", "status": "completed", "output": [item], "usage": usage}
    if not stream:
        return httpx2.Response(200, json=body)
    start = {**item, "arguments": ""} if call else {**item, "content": []}
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("response.created", {"type": "response.created", "response": {**body, "output": []}}),
        ("response.output_item.added", {"output_index": 0, "item": start}),
    ]
    pieces = ('{"city": ', '"Paris"}') if call else (ANSWER[:9], ANSWER[9:])
    kind = "response.function_call_arguments.delta" if call else "response.output_text.delta"
    events += [(kind, {"output_index": 0, "delta": piece}) for piece in pieces]
    events.append(("response.output_item.done", {"output_index": 0, "item": item}))
    events.append(("response.completed", {"response": body}))
    return httpx2.Response(
        200,
        content=_sse([(name, {"type": name, **data}) for name, data in events]),
        headers={"content-type": "text/event-stream"},
    )


def responses_paired(body: dict[str, Any]) -> bool:
    items = body["input"]
    calls = [i["call_id"] for i in items if i.get("type") == "function_call"]
    results = [
        (i["call_id"], i["output"]) for i in items if i.get("type") == "function_call_output"
    ]
    return calls == ["call_1"] and results == [("call_1", RESULT)]


WIRES: dict[str, tuple[Callable[[str], bool], Any, Callable[[dict[str, Any]], bool]]] = {
    "openai-responses": (
        lambda path: path.endswith("/responses"),
        responses_reply,
        responses_paired,
    ),
    "openai-chat": (lambda path: path.endswith("/chat/completions"), openai_reply, openai_paired),
    "anthropic-messages": (
        lambda path: path.endswith("/v1/messages"),
        anthropic_reply,
        anthropic_paired,
    ),
    "gemini": (
        lambda path: "GenerateContent" in path or "generateContent" in path,
        gemini_reply,
        gemini_paired,
    ),
    "cohere-chat": (lambda path: path.endswith("/v2/chat"), cohere_reply, cohere_paired),
    "ollama-chat": (lambda path: path.endswith("/api/chat"), ollama_reply, ollama_paired),
}


class WireHost:
    """Answers in whichever wire format the request's path asks for: a tool call first,
    then, once the request carries the tool result, the final answer."""

    def __init__(self) -> None:
        self.wires: list[str] = []
        self.paired: list[bool] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        body = json.loads(request.content)
        for wire, (matches, reply, paired) in WIRES.items():
            if matches(path):
                self.wires.append(wire)
                answering = RESULT in json.dumps(body)
                if answering:
                    self.paired.append(paired(body))
                stream = bool(body.get("stream")) or "streamGenerateContent" in path
                return reply(call=not answering, stream=stream)
        return httpx2.Response(404, json={"error": f"no such endpoint: {path}"})

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))


# -- the hosts and the clients --------------------------------------------------------

PROVIDERS: dict[str, Callable[[httpx2.AsyncClient], Any]] = {
    "openai": lambda c: OpenAIProvider(api_key="k", http_client=c, retry=None),
    "openrouter": lambda c: OpenRouterProvider(api_key="k", http_client=c, retry=None),
    "deepseek": lambda c: DeepSeekProvider(api_key="k", http_client=c, retry=None),
    "groq": lambda c: GroqProvider(api_key="k", http_client=c, retry=None),
    "mistral": lambda c: MistralProvider(api_key="k", http_client=c, retry=None),
    "openai-compatible": lambda c: OpenAICompatibleProvider(
        api_key="k", base_url="http://vllm.local/v1", http_client=c, retry=None
    ),
    "anthropic": lambda c: AnthropicProvider(api_key="k", http_client=c, retry=None),
    "gemini": lambda c: GeminiProvider(api_key="k", http_client=c, retry=None),
    "cohere": lambda c: CohereProvider(api_key="k", http_client=c, retry=None),
    "ollama": lambda c: OllamaProvider(
        base_url="http://localhost:11434", http_client=c, retry=None
    ),
}

CLIENTS: dict[str, type[ModelClient]] = {
    "claude": ClaudeClient,
    "deepseek": DeepSeekClient,
    "gemini": GeminiClient,
    "gpt4": GPT4Client,
    "llama": LlamaClient,
    "mixtral": MixtralClient,
}


def matrix() -> list[Any]:
    """(family, host) for every host the catalog says serves each client's family."""
    catalog = default_catalog()
    pairs = [
        pytest.param(family, host, id=f"{family}-on-{host}")
        for family in sorted(CLIENTS)
        for host in catalog.providers_for(family)
        if host in PROVIDERS
    ]
    assert pairs, "the catalog names no host for any client"
    return pairs


def shape(response: Response) -> dict[str, Any]:
    """What must be equal on every host (ids are each host's own)."""
    return {
        "text": response.text,
        "reasoning": response.reasoning,
        "tool_calls": [(c.name, c.arguments, c.raw_arguments) for c in response.tool_calls],
        "finish_reason": response.finish_reason,
        "usage": (response.usage.input_tokens, response.usage.output_tokens),
    }


EXPECTED_CALL = {
    "text": "",
    "reasoning": None,
    "tool_calls": [("get_weather", ARGUMENTS, None)],
    "finish_reason": FinishReason.TOOL_CALLS,
    "usage": (10, 5),
}
EXPECTED_ANSWER = {
    **EXPECTED_CALL,
    "text": ANSWER,
    "tool_calls": [],
    "finish_reason": FinishReason.STOP,
}


async def _round_trip(send: Callable[[list[Message]], Any]) -> tuple[Response, Response]:
    conversation = [Message.user(QUESTION)]
    first = await send(conversation)
    (call,) = first.tool_calls
    assert call.id, "every call gets an id the result can answer (minted where the host has none)"
    conversation += [first.to_message(), Message.tool(RESULT, tool_call_id=call.id, name=call.name)]
    second = await send(conversation)
    return first, second


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize(("family", "host"), matrix())
async def test_each_client_on_each_host_that_serves_it(
    family: str, host: str, streaming: bool
) -> None:
    wire = WireHost()
    client = CLIENTS[family](PROVIDERS[host](wire.client()))

    async def send(conversation: list[Message]) -> Response:
        if streaming:
            return await client.stream(conversation, tools=[WEATHER]).collect()
        return await client.generate(conversation, tools=[WEATHER])

    first, second = await _round_trip(send)
    assert shape(first) == EXPECTED_CALL
    assert shape(second) == EXPECTED_ANSWER
    assert wire.paired == [True], f"{host} did not get the tool result paired with its call"
    assert len(set(wire.wires)) == 1


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("host", sorted(PROVIDERS))
async def test_every_provider_gives_the_same_values(host: str, streaming: bool) -> None:
    """Bare providers too: Cohere, Groq and Mistral serve no client family in the catalog."""
    wire = WireHost()
    provider = PROVIDERS[host](wire.client())
    model = "gemini-2.5-flash" if host == "gemini" else "some-model"

    async def send(conversation: list[Message]) -> Response:
        request = Request(model, conversation, tools=[WEATHER], max_tokens=100)
        if streaming:
            return await provider.stream(request).collect()
        return await provider.complete(request)

    first, second = await _round_trip(send)
    assert shape(first) == EXPECTED_CALL
    assert shape(second) == EXPECTED_ANSWER
    assert wire.paired == [True]


async def test_a_conversation_moves_between_hosts_mid_tool_call() -> None:
    """The call made on one host is answered on another: each gets the pair in its own format."""
    wire = WireHost()
    hosts = [
        PROVIDERS[h](wire.client()) for h in ("anthropic", "ollama", "cohere", "gemini", "openai")
    ]
    for made_on, answered_on in itertools.pairwise(hosts):
        conversation = [Message.user(QUESTION)]
        first = await made_on.complete(
            Request("gemini-2.5-flash", conversation, tools=[WEATHER], max_tokens=100)
        )
        (call,) = first.tool_calls
        conversation += [
            first.to_message(),
            Message.tool(RESULT, tool_call_id=call.id, name=call.name),
        ]
        second = await answered_on.complete(
            Request("gemini-2.5-flash", conversation, tools=[WEATHER], max_tokens=100)
        )
        assert shape(second) == EXPECTED_ANSWER, (made_on.name, answered_on.name)
    assert len(wire.paired) == len(hosts) - 1
