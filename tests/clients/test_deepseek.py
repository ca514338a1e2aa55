"""DeepSeekClient: thinking options per host, reasoning never in the text, R1 conventions."""

from __future__ import annotations

from typing import Any

import pytest

from llmkit.clients import DeepSeekClient
from llmkit.clients.deepseek import ask_for_reasoning, fold_system_for_r1, is_r1
from llmkit.errors import ConfigurationError
from llmkit.testing import FakeProvider
from llmkit.types import Message, Request, Response

REQ = Request("deepseek-flash", [Message.user("hi")])


@pytest.mark.parametrize(
    ("host", "thinking", "effort", "extra"),
    [
        ("deepseek", None, None, {}),
        ("deepseek", True, None, {"thinking": {"type": "enabled"}}),
        ("deepseek", False, None, {"thinking": {"type": "disabled"}}),
        ("deepseek", True, "medium", {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}),
        ("deepseek", None, "minimal", {"reasoning_effort": "low"}),
        ("deepseek", None, "max", {"reasoning_effort": "max"}),
        ("deepseek", False, "max", {"thinking": {"type": "disabled"}}),
        ("openrouter", None, None, {}),
        ("openrouter", True, None, {"reasoning": {"enabled": True}}),
        ("openrouter", False, "high", {"reasoning": {"enabled": False}}),
        ("openrouter", None, "max", {"reasoning": {"enabled": True, "effort": "xhigh"}}),
        ("groq", None, None, {"reasoning_format": "parsed"}),
        ("groq", False, None, {"reasoning_format": "hidden"}),
        ("ollama", None, None, {}),
        ("ollama", True, None, {"think": True}),
        ("openai-compatible", True, "high", {}),
        ("fake", True, "high", {}),
    ],
)
def test_ask_for_reasoning_per_host(
    host: str, thinking: bool | None, effort: str | None, extra: dict[str, Any]
) -> None:
    assert ask_for_reasoning(REQ, host, thinking, effort).extra == extra


def test_callers_extra_wins_over_the_thinking_options() -> None:
    request = Request("m", [Message.user("x")], extra={"thinking": {"type": "disabled"}})
    out = ask_for_reasoning(request, "deepseek", True, None)
    assert out.extra["thinking"] == {"type": "disabled"}


@pytest.mark.parametrize(
    ("model", "r1"),
    [
        ("deepseek-r1", True),
        ("deepseek-r1:32b", True),
        ("deepseek-r1-distill-llama-70b", True),
        ("deepseek/deepseek-r1", True),
        ("deepseek-flash", False),
        ("deepseek-v4-pro", False),
        ("r10-model", False),
    ],
)
def test_is_r1(model: str, r1: bool) -> None:
    assert is_r1(model) is r1


def test_r1_gets_its_system_prompt_in_the_user_turn() -> None:
    conversation = [Message.system("Be brief."), Message.user("Why?")]
    assert fold_system_for_r1(Request("deepseek-r1", conversation)).messages == (
        Message.user("Be brief.\n\nWhy?"),
    )
    v4 = Request("deepseek-flash", conversation)
    assert fold_system_for_r1(v4) is v4


def test_bad_effort_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="reasoning_effort"):
        DeepSeekClient(FakeProvider(), reasoning_effort="extreme")  # type: ignore[arg-type]


async def test_inline_think_tags_end_up_in_reasoning() -> None:
    client = DeepSeekClient(FakeProvider(["<think>Add.</think>\n\nFour."], name="ollama"))
    reply = await client.generate("2+2?")
    assert (reply.text, reply.reasoning) == ("Four.", "Add.")


async def test_streamed_think_tags_end_up_in_reasoning() -> None:
    client = DeepSeekClient(FakeProvider(["<think>Add two and two.</think>Four, of course."]))
    stream = client.stream("2+2?")
    events = [e async for e in stream]
    assert "<" not in "".join(e.text for e in events)
    assert "".join(e.reasoning for e in events) == "Add two and two."
    assert (stream.response.text, stream.response.reasoning) == (
        "Four, of course.",
        "Add two and two.",
    )


async def test_streamed_and_complete_replies_agree() -> None:
    raw = "<think>\nStep one.\n</think>\n\nDone."
    client = DeepSeekClient(FakeProvider([raw, raw]))
    complete = await client.generate("x")
    stream = client.stream("x")
    streamed = await stream.collect()
    assert (streamed.text, streamed.reasoning, streamed.finish_reason) == (
        complete.text,
        complete.reasoning,
        complete.finish_reason,
    )


async def test_reasoning_from_a_host_field_is_kept() -> None:
    fake = FakeProvider([Response(text="Four.", reasoning="2+2")], name="deepseek")
    reply = await DeepSeekClient(fake, thinking=True, reasoning_effort="max").generate("2+2?")
    assert (reply.text, reply.reasoning) == ("Four.", "2+2")
    assert fake.requests[0].extra == {"thinking": {"type": "enabled"}, "reasoning_effort": "max"}


async def test_temperature_goes_through_unchanged() -> None:
    fake = FakeProvider(name="deepseek")
    await DeepSeekClient(fake, thinking=True).generate("x", temperature=0.6, top_p=0.95)
    assert (fake.requests[0].temperature, fake.requests[0].top_p) == (0.6, 0.95)
