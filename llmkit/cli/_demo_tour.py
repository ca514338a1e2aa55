"""The offline demo: `python -m llmkit demo` (no keys, no network).

A `DeepSeekClient` talks to two `FakeProvider`s named like real hosts: one
returns reasoning in its own field (as DeepSeek's API does), the other inline
in `<think>` tags (as self-hosted R1 does). The demo generates, switches hosts
with `set_provider`, streams with the reasoning shown apart from the text,
and runs a tool call round trip, printing usage and latency as it goes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from llmkit.clients import DeepSeekClient
from llmkit.testing import FakeProvider
from llmkit.types import Message, Request, Response, ToolCall, ToolSpec

__all__ = ["main", "run"]

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _weather(city: str) -> str:
    """The demo's 'tool': a canned forecast."""
    return json.dumps({"city": city, "forecast": "sunny", "celsius": 21})


def _tool_turns(request: Request) -> Response:
    """The fake model: ask for the weather, then answer from the tool's result."""
    last = request.messages[-1]
    if last.role == "tool":
        data = json.loads(last.text)
        return Response(
            text=f"It is {data['forecast']} and {data['celsius']} °C in {data['city']}."
        )
    return Response(
        reasoning="The user wants the weather; I should call get_weather.",
        tool_calls=(ToolCall("call_demo_1", "get_weather", {"city": "Lisbon"}),),
    )


def hosts(token_delay: float = 0.02) -> tuple[FakeProvider, FakeProvider]:
    """Two fake hosts: `deepseek` (reasoning in a field) and `openrouter` (inline `<think>`)."""
    deepseek = FakeProvider(
        [
            Response(
                text="Quicksort picks a pivot, partitions around it, and recurses on both sides.",
                reasoning="Explain the three steps: pivot, partition, recurse.",
            ),
        ],
        name="deepseek",
        token_delay=token_delay,
        first_token_delay=0.05,
    )
    openrouter = FakeProvider(
        [
            "<think>Mergesort: split in halves, sort each, merge.</think>"
            "Mergesort splits the list in halves, sorts each half, then merges them in order.",
            _tool_turns,
            _tool_turns,
        ],
        name="openrouter",
        token_delay=token_delay,
        first_token_delay=0.05,
    )
    return deepseek, openrouter


def _usage(reply: Response) -> str:
    u, lat = reply.usage, reply.latency
    first = f"{lat.first_token * 1000:.0f} ms" if lat.first_token is not None else "n/a"
    total = f"{lat.total * 1000:.0f} ms" if lat.total is not None else "n/a"
    return (
        f"    usage: {u.input_tokens} in / {u.output_tokens} out"
        f" | latency: first token {first}, total {total}"
    )


async def run(write: Callable[[str], None], *, token_delay: float = 0.02) -> Sequence[Message]:
    """Run the demo, writing text with `write` as it streams; returns the tool conversation."""

    def out(line: str) -> None:
        write(line + "\n")

    deepseek, openrouter = hosts(token_delay)
    client = DeepSeekClient(provider=deepseek)
    out(f"1. DeepSeekClient on {client.provider.name} (model {client.model})")
    reply = await client.generate("Explain quicksort in one sentence")
    out(f"    reasoning: {reply.reasoning}")
    out(f"    text:      {reply.text}")
    out(_usage(reply))

    client.set_provider(openrouter)
    out(f"2. set_provider -> {client.provider.name} (model {client.model}); streaming:")
    stream = client.stream("And mergesort?")
    section = ""
    async for event in stream:
        for kind, delta in (("reasoning", event.reasoning), ("text", event.text)):
            if delta:
                if section != kind:
                    write(f"\n    {kind + ':':<10} " if section else f"    {kind + ':':<10} ")
                    section = kind
                write(delta)
    write("\n")
    out(f"    (the <think> tags were split out: reasoning = {stream.response.reasoning!r})")
    out(_usage(stream.response))

    out("3. Tool call round trip")
    conversation: list[Message] = [Message.user("What's the weather in Lisbon?")]
    reply = await client.generate(conversation, tools=[WEATHER])
    for call in reply.tool_calls:
        out(f"    model calls {call.name}({json.dumps(call.arguments)})")
        conversation += [
            reply.to_message(),
            Message.tool(_weather(**call.arguments), tool_call_id=call.id, name=call.name),
        ]
    reply = await client.generate(conversation, tools=[WEATHER])
    conversation.append(reply.to_message())
    out(f"    answer:    {reply.text}")
    out(_usage(reply))
    out(f"Requests served: {deepseek.name}={deepseek.calls}, {openrouter.name}={openrouter.calls}")
    return conversation


def main(argv: Sequence[str] | None = None, *, stream: TextIO | None = None) -> int:
    """Entry point of `python -m llmkit demo` (and the CLI's `llmkit demo`)."""

    target = stream or sys.stdout

    def write(text: str) -> None:
        target.write(text)
        target.flush()

    write("llmkit offline demo: FakeProvider hosts, no keys, no network\n\n")
    asyncio.run(run(write))
    return 0
