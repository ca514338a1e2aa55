"""A three-tool weather-and-units loop to a typed answer, through each host's codec.

A fake host behind `httpx2.MockTransport` speaks each wire format (OpenAI Chat
Completions for OpenAI, Groq, OpenRouter, DeepSeek and Mistral; Anthropic
Messages; Gemini generateContent; Cohere v2 chat; Ollama `/api/chat`). The
model's turns are scripted: two parallel calls, one call, then the answer, in
the mode the catalog names for the host (or the forced-tool mode). What each
host receives is checked: the tools, the structured-output parameter in its
own form, and the tool results paired with their calls.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, Literal

import httpx2
import pytest

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
    OpenAIProvider,
    OpenRouterProvider,
)
from llmkit.providers.anthropic import AnthropicProvider
from llmkit.providers.gemini import GeminiProvider
from llmkit.types import Role
from tests.output.test_partial import is_prefix

Unit = Literal["C", "F"]


@dataclasses.dataclass
class Reading:
    city: str
    celsius: float


@dataclasses.dataclass
class Forecast:
    city: str
    temperature: float
    unit: Unit


def get_weather(city: str) -> Reading:
    """The current temperature in a city.

    Args:
        city: the city's name.
    """
    return Reading(city, {"Boston": 20.0}[city])


def preferred_unit(country: str) -> Unit:
    """The temperature unit people use in a country.

    Args:
        country: ISO 3166 code.
    """
    return "F" if country == "US" else "C"


async def convert_temperature(value: float, to: Unit) -> float:
    """Convert a Celsius temperature.

    Args:
        value: degrees Celsius.
        to: the unit to convert to.
    """
    return value * 9 / 5 + 32 if to == "F" else value


TOOLS = [get_weather, preferred_unit, convert_temperature]
ANSWER = {"city": "Boston", "temperature": 68.0, "unit": "F"}
TURNS: list[list[tuple[str, dict[str, Any]]]] = [
    [("get_weather", {"city": "Boston"}), ("preferred_unit", {"country": "US"})],
    [("convert_temperature", {"value": 20.0, "to": "F"})],
]


# -- one reply builder per wire format: `calls` (name, arguments) or the answer `text` --


def openai_reply(calls: list[tuple[str, dict[str, Any]]], text: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": n, "arguments": json.dumps(a)}}
            for i, (n, a) in enumerate(calls)
        ]  # fmt: skip
    return {
        "id": "c1",
        "object": "chat.completion",
        "model": "m",
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def anthropic_reply(calls: list[tuple[str, dict[str, Any]]], text: str | None) -> dict[str, Any]:
    blocks = [{"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": a}
              for i, (n, a) in enumerate(calls)]  # fmt: skip
    if text is not None:
        blocks.append({"type": "text", "text": text})
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": blocks,
        "stop_reason": "tool_use" if calls else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def gemini_reply(calls: list[tuple[str, dict[str, Any]]], text: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"functionCall": {"name": n, "args": a}} for n, a in calls]
    if text is not None:
        parts.append({"text": text})
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
        "modelVersion": "gemini",
    }


def cohere_reply(calls: list[tuple[str, dict[str, Any]]], text: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if calls:
        message["tool_calls"] = [
            {"id": f"{n}_{i}", "type": "function",
             "function": {"name": n, "arguments": json.dumps(a)}}
            for i, (n, a) in enumerate(calls)
        ]  # fmt: skip
    if text is not None:
        message["content"] = [{"type": "text", "text": text}]
    usage = {"tokens": {"input_tokens": 10, "output_tokens": 5}}
    finish = "TOOL_CALL" if calls else "COMPLETE"
    return {"id": "r", "finish_reason": finish, "message": message, "usage": usage}


def ollama_reply(calls: list[tuple[str, dict[str, Any]]], text: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text or ""}
    if calls:
        message["tool_calls"] = [{"function": {"name": n, "arguments": a}} for n, a in calls]
    return {
        "model": "m",
        "message": message,
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 10,
        "eval_count": 5,
    }


Reply = Callable[[list[tuple[str, dict[str, Any]]], str | None], dict[str, Any]]


# -- the same replies as each host streams them ----------------------------------------


def _sse(events: list[tuple[str | None, dict[str, Any]]], done: bool = False) -> bytes:
    text = "".join(
        (f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n"
        for name, data in events
    )
    return (text + ("data: [DONE]\n\n" if done else "")).encode()


def _halves(text: str) -> list[str]:
    middle = len(text) // 2
    return [text[:middle], text[middle:]]


def openai_stream(body: dict[str, Any]) -> bytes:
    (choice,) = body["choices"]
    message = choice["message"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
        return None, {"id": "c1", "object": "chat.completion.chunk", "model": "m",
                      "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip

    events = [chunk({"role": "assistant"})]
    for index, call in enumerate(message.get("tool_calls") or ()):
        head = {"index": index, "id": call["id"], "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""}}  # fmt: skip
        events.append(chunk({"tool_calls": [head]}))
        for piece in _halves(call["function"]["arguments"]):
            events.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            )
    for piece in _halves(message.get("content") or ""):
        events.append(chunk({"content": piece}))
    events.append(chunk({}, choice["finish_reason"]))
    events.append((None, {"id": "c1", "object": "chat.completion.chunk", "model": "m",
                          "choices": [], "usage": body["usage"]}))  # fmt: skip
    return _sse(events, done=True)


def anthropic_stream(body: dict[str, Any]) -> bytes:
    start = {
        **body,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    }
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for index, block in enumerate(body["content"]):
        if block["type"] == "tool_use":
            opening = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": p}
                      for p in _halves(json.dumps(block["input"]))]  # fmt: skip
        else:
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _halves(block["text"])]
        events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": opening}))  # fmt: skip
        events += [("content_block_delta", {"type": "content_block_delta", "index": index,
                                             "delta": d}) for d in deltas]  # fmt: skip
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": body["stop_reason"], "stop_sequence": None},
                                     "usage": {"output_tokens": 5}}))  # fmt: skip
    events.append(("message_stop", {"type": "message_stop"}))
    return _sse(events)


def gemini_stream(body: dict[str, Any]) -> bytes:
    (candidate,) = body["candidates"]
    parts = candidate["content"]["parts"]
    pieces: list[list[dict[str, Any]]] = []
    for part in parts:
        pieces += [[{"text": t}] for t in _halves(part["text"])] if "text" in part else [[part]]
    events = []
    for i, piece in enumerate(pieces):
        chunk = {"content": {"role": "model", "parts": piece}, "index": 0}
        if i == len(pieces) - 1:
            chunk["finishReason"] = candidate["finishReason"]
        events.append((None, {**body, "candidates": [chunk]}))
    return _sse(events)


def ollama_stream(body: dict[str, Any]) -> bytes:
    message = body["message"]
    lines = [{"model": "m", "message": {"role": "assistant", "content": t}, "done": False}
             for t in _halves(message["content"]) if t]  # fmt: skip
    if message.get("tool_calls"):
        lines.append({"model": "m", "message": {**message, "content": ""}, "done": False})
    lines.append({**body, "message": {"role": "assistant", "content": ""}})
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


STREAMS: dict[str, tuple[Callable[[dict[str, Any]], bytes], str]] = {
    "openai": (openai_stream, "text/event-stream"),
    "anthropic": (anthropic_stream, "text/event-stream"),
    "gemini": (gemini_stream, "text/event-stream"),
    "ollama": (ollama_stream, "application/x-ndjson"),
}


def tool_names(wire: str, body: dict[str, Any]) -> list[str]:
    if wire == "anthropic":
        return [t["name"] for t in body["tools"]]
    if wire == "gemini":
        return [d["name"] for t in body["tools"] for d in t.get("functionDeclarations", ())]
    return [t["function"]["name"] for t in body["tools"]]


def asked_for_structure(wire: str, mode: str, body: dict[str, Any]) -> bool:
    """Whether the first request asks for the answer in the host's own form for `mode`."""
    if mode == "tool":
        return "final_result" in tool_names(wire, body)
    if wire == "anthropic":
        return body["output_config"]["format"]["type"] == "json_schema"
    if wire == "gemini":
        return "responseJsonSchema" in body["generationConfig"]
    if wire == "ollama":
        return isinstance(body["format"], dict)
    if wire == "cohere":
        return (
            body["response_format"]["type"] == "json_object"
            and "json_schema" in body["response_format"]
        )
    if mode == "prompted":  # DeepSeek: JSON mode, the schema in the system prompt
        system = body["messages"][0]
        return body["response_format"] == {"type": "json_object"} and (
            system["role"] == "system" and '"unit"' in system["content"]
        )
    return body["response_format"]["type"] == "json_schema"


class Host:
    """Answers the scripted turns in one wire format; keeps every request body."""

    def __init__(self, reply: Reply, mode: str, wire: str = "") -> None:
        self.reply = reply
        self.mode = mode
        self.wire = wire
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        turn = len(self.bodies) - 1
        if turn < len(TURNS):
            answer = self.reply(TURNS[turn], None)
        elif self.mode == "tool":
            answer = self.reply([("final_result", ANSWER)], None)
        else:
            answer = self.reply([], json.dumps(ANSWER))
        if body.get("stream") or "streamGenerateContent" in request.url.path:
            encode, kind = STREAMS[self.wire]
            return httpx2.Response(200, headers={"content-type": kind}, content=encode(answer))
        return httpx2.Response(200, json=answer)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))


def _openai_family(provider: type[Any], client: type[ModelClient], **kw: Any) -> Any:
    return lambda c: client(provider(api_key="k", http_client=c, retry=None), **kw)


HOSTS: dict[str, tuple[str, Reply, Callable[[httpx2.AsyncClient], ModelClient]]] = {
    "openai": ("openai", openai_reply, _openai_family(OpenAIProvider, GPT4Client, api="chat")),
    "groq": ("openai", openai_reply, _openai_family(GroqProvider, GPT4Client)),
    "openrouter": ("openai", openai_reply, _openai_family(OpenRouterProvider, GPT4Client)),
    "deepseek": ("openai", openai_reply, _openai_family(DeepSeekProvider, DeepSeekClient)),
    "mistral": (
        "openai",
        openai_reply,
        _openai_family(MistralProvider, MixtralClient, model="mistral-large-latest"),
    ),
    "anthropic": ("anthropic", anthropic_reply, _openai_family(AnthropicProvider, ClaudeClient)),
    "gemini": ("gemini", gemini_reply, _openai_family(GeminiProvider, GeminiClient)),
    "cohere": (
        "cohere",
        cohere_reply,
        _openai_family(CohereProvider, GPT4Client, model="command-a-03-2025"),
    ),
    "ollama": (
        "ollama",
        ollama_reply,
        lambda c: LlamaClient(
            OllamaProvider(base_url="http://localhost:11434", http_client=c, retry=None)
        ),
    ),
}

CATALOG_MODE = {"deepseek": "prompted"}


@pytest.mark.parametrize("forced", [None, "tool"], ids=["catalog-mode", "tool-mode"])
@pytest.mark.parametrize("host", sorted(HOSTS))
async def test_the_weather_and_units_loop_ends_in_a_typed_answer(
    host: str, forced: str | None
) -> None:
    wire, reply, make = HOSTS[host]
    mode = forced or CATALOG_MODE.get(host, "native")
    fake = Host(reply, mode, wire)
    client = make(fake.client())
    result = await client.run(
        "How warm is it in Boston, in the unit people there use?",
        tools=TOOLS,
        output=Forecast,
        output_mode=forced,
    )
    assert result.output == Forecast("Boston", 68.0, "F")
    assert len(fake.bodies) == 3
    assert (result.usage.input_tokens, result.usage.output_tokens) == (30, 15)
    first, second, third = fake.bodies
    assert set(tool_names(wire, first)) - {"final_result"} == {f.__name__ for f in TOOLS}
    assert asked_for_structure(wire, mode, first)
    # both results of the parallel turn reach the host, then the conversion's
    sent = json.dumps(second)
    as_text = json.dumps('{"city":"Boston","celsius":20.0}')[1:-1]
    assert as_text in sent or '"celsius": 20.0' in sent  # Gemini sends results as JSON
    assert '\\"F\\"' in sent or '"F"' in sent
    assert "68.0" in json.dumps(third)
    roles = [m.role for m in result.messages]
    assert roles.count(Role.TOOL) >= 3


@pytest.mark.parametrize("forced", [None, "tool"], ids=["catalog-mode", "tool-mode"])
@pytest.mark.parametrize("host", sorted(h for h in HOSTS if HOSTS[h][0] in STREAMS))
async def test_the_loop_streamed_shows_the_answer_growing(host: str, forced: str | None) -> None:
    wire, reply, make = HOSTS[host]
    mode = forced or CATALOG_MODE.get(host, "native")
    fake = Host(reply, mode, wire)
    client = make(fake.client())
    stream = client.run_stream(
        "How warm is it in Boston, in the unit people there use?",
        tools=TOOLS,
        output=Forecast,
        output_mode=forced,
    )
    partials = [e.partial_output async for e in stream if e.partial_output is not None]
    assert stream.response.output == Forecast("Boston", 68.0, "F")
    assert len(fake.bodies) == 3
    assert partials[-1] == ANSWER
    # the answer arrived in pieces (Gemini and Ollama send a call's arguments whole), and
    # each partial could grow into the answer
    if mode != "tool" or wire in ("openai", "anthropic"):
        assert len({json.dumps(p, sort_keys=True) for p in partials}) > 1
    assert all(is_prefix(p, ANSWER) for p in partials)
