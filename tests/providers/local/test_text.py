"""ReplyText: token ids to text deltas, stop sequences and tool calls, at any cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from llmkit.providers.local.text import ReplyText, parse_tool_call


def decode(ids: Sequence[int]) -> str:
    """A stand-in tokenizer: one token per character."""
    return "".join(map(chr, ids))


def ids(text: str) -> list[int]:
    return [ord(c) for c in text]


def run(text: str, cut: int, **options: object) -> tuple[str, ReplyText]:
    reply = ReplyText(decode, **options)  # type: ignore[arg-type]
    tokens = ids(text)
    out = [reply.push(tokens[i : i + cut]) for i in range(0, len(tokens), cut)]
    out.append(reply.finish())
    return "".join(out), reply


@pytest.mark.parametrize("cut", [1, 2, 3, 7, 100])
def test_plain_text_passes_through_whole(cut: int) -> None:
    text, reply = run("hello <b>world</b> <tool", cut)
    assert text == "hello <b>world</b> <tool"
    assert not reply.stopped
    assert reply.tool_calls == []


@pytest.mark.parametrize("cut", [1, 2, 5, 100])
def test_the_reply_ends_before_the_first_stop_sequence(cut: int) -> None:
    text, reply = run("one two END three END four", cut, stop=["END", "never"])
    assert text == "one two "
    assert reply.stopped
    assert reply.push(ids("more")) == ""


@pytest.mark.parametrize("cut", [1, 3, 100])
def test_tool_calls_leave_the_text(cut: int) -> None:
    body = 'Let me check.<tool_call>{"name": "weather", "arguments": {"city": "Paris"}}</tool_call>'
    text, reply = run(
        body + '<tool_call>{"name": "time", "parameters": {}}</tool_call>', cut, tools=True
    )
    assert text == "Let me check."
    assert [(c.name, dict(c.arguments)) for c in reply.tool_calls] == [
        ("weather", {"city": "Paris"}),
        ("time", {}),
    ]
    assert [c.id for c in reply.tool_calls] == ["call_0", "call_1"]


def test_without_tools_the_markup_is_text() -> None:
    text, reply = run('<tool_call>{"name": "x"}</tool_call>', 1)
    assert text == '<tool_call>{"name": "x"}</tool_call>'
    assert reply.tool_calls == []


def test_an_unclosed_or_broken_call_keeps_its_text_as_raw_arguments() -> None:
    _, reply = run("<tool_call>{not json", 2, tools=True)
    assert reply.tool_calls[0].raw_arguments == "{not json"
    assert parse_tool_call('{"name": "f", "arguments": "{\\"a\\": 1}"}', 0).arguments == {"a": 1}


def test_a_prefix_is_emitted_first() -> None:
    text, _ = run("reasoning</think>answer", 4, prefix="<think>\n")
    assert text == "<think>\nreasoning</think>answer"


def test_a_half_finished_character_is_held_back() -> None:
    """Byte-level tokenizers decode a split UTF-8 character as U+FFFD until it completes."""
    data = "café ☕".encode()

    def byte_decode(tokens: Sequence[int]) -> str:
        return bytes(tokens).decode("utf-8", errors="replace")

    reply = ReplyText(byte_decode)
    pieces = [reply.push([b]) for b in data] + [reply.finish()]
    assert "".join(pieces) == "café ☕"
    assert all("\ufffd" not in piece for piece in pieces)


async def test_the_inbox_hands_over_everything_posted_in_order_with_one_wake_up() -> None:
    import asyncio
    import threading

    from llmkit.providers.local.generate import Done, Inbox

    loop = asyncio.get_running_loop()
    inbox = Inbox(loop)
    wakes = 0
    real = loop.call_soon_threadsafe

    def counted(callback: Any, *args: Any) -> Any:
        nonlocal wakes
        wakes += 1
        return real(callback, *args)

    loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
    try:
        posting = threading.Thread(target=lambda: [inbox.post([i]) for i in range(50)])
        posting.start()
        posting.join()  # the reader has not looked yet: fifty posts, one wake-up
        assert await inbox.take() == [[i] for i in range(50)]
        assert wakes == 1
        threading.Thread(target=lambda: inbox.post(Done(0.0, 0.0, 1))).start()
        assert await asyncio.wait_for(inbox.take(), 10) == [Done(0.0, 0.0, 1)]  # a new wake-up
        assert wakes == 2
    finally:
        del loop.call_soon_threadsafe
