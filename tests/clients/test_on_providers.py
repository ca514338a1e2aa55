"""Clients over the real OpenAI-compatible providers, with a MockTransport standing in for the host.

What the host receives (the JSON body) and what the caller gets back are both
checked, so the client's rewrites and the codec are tested together.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from llmkit.clients import ClaudeClient, DeepSeekClient, GeminiClient, GPT4Client, MixtralClient
from llmkit.errors import InvalidRequestError
from llmkit.providers import (
    DeepSeekProvider,
    GroqProvider,
    OpenAICompatibleProvider,
    OpenRouterProvider,
)
from llmkit.providers.anthropic import AnthropicProvider
from llmkit.providers.gemini import GeminiProvider
from llmkit.types import FinishReason, Message, ToolCall, ToolSpec

TOOL = ToolSpec(
    "get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}
)


class Host:
    """A fake host: records request bodies, answers with queued JSON bodies or SSE streams."""

    def __init__(self, *answers: dict[str, Any] | list[dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.bodies.append(json.loads(request.content))
        answer = self.answers.pop(0)
        if isinstance(answer, list):
            sse = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in answer) + "data: [DONE]\n\n"
            return httpx2.Response(
                200, headers={"content-type": "text/event-stream"}, content=sse.encode()
            )
        return httpx2.Response(200, json=answer)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))


def completion(message: dict[str, Any], finish: str = "stop", model: str = "m") -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def chunks(*deltas: dict[str, Any], finish: str = "stop") -> list[dict[str, Any]]:
    out = [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [{"index": 0, "delta": d}],
        }
        for d in deltas
    ]
    out.append(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        }
    )
    return out


Make = Callable[..., Any]


def provider(cls: Make, host: Host, **kwargs: Any) -> Any:
    return cls(api_key="test-key", http_client=host.client(), retry=None, **kwargs)


async def test_deepseek_thinking_on_deepseeks_api() -> None:
    host = Host(completion({"content": "Four.", "reasoning_content": "2+2=4"}))
    client = DeepSeekClient(
        provider(DeepSeekProvider, host), thinking=True, reasoning_effort="xhigh"
    )
    reply = await client.generate("2+2?")
    assert (reply.text, reply.reasoning, reply.provider) == ("Four.", "2+2=4", "deepseek")
    body = host.bodies[0]
    assert body["model"] == "deepseek-flash"
    assert body["thinking"] == {"type": "enabled"} and body["reasoning_effort"] == "high"


async def test_deepseek_on_openrouter_asks_for_reasoning_and_reads_it() -> None:
    host = Host(completion({"content": "Four.", "reasoning": "2+2=4"}))
    client = DeepSeekClient(provider(OpenRouterProvider, host), reasoning_effort="max")
    reply = await client.generate("2+2?")
    assert (reply.text, reply.reasoning) == ("Four.", "2+2=4")
    assert host.bodies[0]["reasoning"] == {"enabled": True, "effort": "xhigh"}
    assert host.bodies[0]["model"] == "deepseek/deepseek-v4-pro"


async def test_r1_on_a_self_hosted_server_think_tags_streamed_in_pieces() -> None:
    pieces = ["<th", "ink>\nCount", " them.</thi", "nk>\n\nFo", "ur."]
    host = Host(
        completion({"content": "<think>\nCount them.</think>\n\nFour."}),
        chunks(*({"content": p} for p in pieces)),
    )
    server = provider(OpenAICompatibleProvider, host, base_url="http://vllm.local/v1")
    client = DeepSeekClient(server, model="deepseek-r1", system="Answer briefly.")
    complete = await client.generate("2+2?")
    stream = client.stream("2+2?")
    events = [e async for e in stream]
    assert "".join(e.text for e in events) == "Four."
    assert "".join(e.reasoning for e in events) == "Count them."
    streamed = stream.response
    for reply in (complete, streamed):
        assert (reply.text, reply.reasoning, reply.finish_reason) == (
            "Four.",
            "Count them.",
            FinishReason.STOP,
        )
    # R1: no system prompt, its instructions fold into the user turn
    assert host.bodies[0]["messages"] == [{"role": "user", "content": "Answer briefly.\n\n2+2?"}]


async def test_a_deepseek_tool_conversation_moves_from_deepseek_to_openrouter() -> None:
    call = {
        "id": "call_0",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
    }
    deepseek_host = Host(
        completion(
            {"content": "", "reasoning_content": "Need weather.", "tool_calls": [call]},
            "tool_calls",
        )
    )
    openrouter_host = Host(completion({"content": "Cold in Oslo."}))
    client = DeepSeekClient(provider(DeepSeekProvider, deepseek_host))
    conversation = [Message.user("Weather in Oslo?")]
    reply = await client.generate(conversation, tools=[TOOL])
    assert reply.tool_calls == (ToolCall("call_0", "get_weather", {"city": "Oslo"}),)
    assert reply.reasoning == "Need weather."
    conversation += [
        reply.to_message(),
        Message.tool('{"c": -5}', tool_call_id="call_0", name="get_weather"),
    ]

    client.set_provider(provider(OpenRouterProvider, openrouter_host))
    answer = await client.generate(conversation, tools=[TOOL])
    assert answer.text == "Cold in Oslo."
    sent = openrouter_host.bodies[0]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_0"
    assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Oslo"}
    assert sent[2] == {"role": "tool", "tool_call_id": "call_0", "content": '{"c": -5}'}

    # and back to DeepSeek: thinking mode needs reasoning_content on the tool-call turn
    deepseek_host.answers.append(completion({"content": "Still cold."}))
    client.set_provider(provider(DeepSeekProvider, deepseek_host))
    await client.generate(
        [*conversation, answer.to_message(), Message.user("And now?")], tools=[TOOL]
    )
    assert deepseek_host.bodies[1]["messages"][1]["reasoning_content"] == "Need weather."


async def test_groq_is_asked_for_parsed_reasoning_with_an_explicit_model() -> None:
    host = Host(completion({"content": "ok", "reasoning": "thought"}))
    client = DeepSeekClient(provider(GroqProvider, host), model="deepseek-r1-distill-llama-70b")
    reply = await client.generate("hi")
    assert host.bodies[0]["reasoning_format"] == "parsed"
    assert reply.reasoning == "thought"


async def test_gpt4_reasoning_model_refused_before_the_host_sees_it() -> None:
    from llmkit.providers import OpenAIProvider

    host = Host(completion({"content": "ok"}))
    client = GPT4Client(provider(OpenAIProvider, host), api="chat")
    with pytest.raises(InvalidRequestError, match=r"temperature=0\.2"):
        await client.generate("hi", temperature=0.2)
    assert host.bodies == []
    await client.generate("hi", max_tokens=100)
    assert host.bodies[0]["max_completion_tokens"] == 100 and "temperature" not in host.bodies[0]


async def test_gpt4_reasoning_model_gets_the_developer_role_on_openai_only() -> None:
    from llmkit.providers import OpenAIProvider

    host = Host(completion({"content": "ok"}), completion({"content": "ok"}))
    await GPT4Client(provider(OpenAIProvider, host), system="Be brief.", api="chat").generate("hi")
    await GPT4Client(provider(OpenRouterProvider, host), system="Be brief.").generate("hi")
    assert [m["role"] for m in host.bodies[0]["messages"]] == ["developer", "user"]
    assert [m["role"] for m in host.bodies[1]["messages"]] == ["system", "user"]


async def test_mixtral_system_prompt_folded_on_a_self_hosted_server() -> None:
    host = Host(completion({"content": "ok"}))
    server = provider(OpenAICompatibleProvider, host, base_url="http://tgi.local/v1")
    await MixtralClient(server, model="mixtral-8x7b", system="Be terse.").generate("Hi")
    assert host.bodies[0]["messages"] == [{"role": "user", "content": "Be terse.\n\nHi"}]
    assert host.bodies[0]["model"] == "mixtral-8x7b"


async def test_claude_on_anthropics_own_api() -> None:
    answer = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5",
        "content": [{"type": "text", "text": "Hello."}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 9, "output_tokens": 2},
    }
    host = Host(answer)
    client = ClaudeClient(provider(AnthropicProvider, host), system="Be kind.")
    reply = await client.generate([Message.user("Hi"), Message.user("there")])
    assert (reply.text, reply.finish_reason) == ("Hello.", FinishReason.STOP)
    body = host.bodies[0]
    assert body["model"] == "claude-sonnet-5" and body["max_tokens"] == 4096
    assert body["system"] in ("Be kind.", [{"type": "text", "text": "Be kind."}])
    assert [m["role"] for m in body["messages"]] == ["user"]  # the two user turns merged


def test_gemini_on_googles_own_api_resolves_its_model() -> None:
    client = GeminiClient(GeminiProvider(api_key="test-key"))
    assert client.model == "gemini-3.8-flash"
