"""`<think>` splitting: push-style, cut anywhere, streamed and whole replies agree."""

from __future__ import annotations

import pytest

from llmkit.clients._thinking import ThinkTagRewriter, ThinkTagSplitter, split_think_tags
from llmkit.types import FinishReason, Response, StreamEvent, ToolCallDelta, Usage

CASES = [
    ("<think>2+2 is 4.</think>Four.", "Four.", "2+2 is 4."),
    ("<think>\nR1 thinks.\n\n</think>\n\nAnswer.", "Answer.", "R1 thinks."),
    ("\n<think>a < b</think>x<y", "x<y", "a < b"),
    ("no tags at all", "no tags at all", ""),
    ("  leading space kept", "  leading space kept", ""),
    ("<think>unclosed at the end  ", "", "unclosed at the end"),
    ("text <thin", "text <thin", ""),
    ("<think>one</think>mid<think>two</think>end", "midend", "onetwo"),
    ("<think></think>Empty thoughts.", "Empty thoughts.", ""),
]


def _run(splitter: ThinkTagSplitter, pieces: list[str]) -> tuple[str, str]:
    events = [e for p in pieces for e in splitter.feed(p)] + splitter.flush()
    return "".join(e.text for e in events), "".join(e.reasoning for e in events)


@pytest.mark.parametrize(("raw", "text", "reasoning"), CASES)
def test_think_tags_split_at_any_chunk_boundary(raw: str, text: str, reasoning: str) -> None:
    for cut in range(len(raw) + 1):
        assert _run(ThinkTagSplitter(), [raw[:cut], raw[cut:]]) == (text, reasoning), cut


@pytest.mark.parametrize(("raw", "text", "reasoning"), CASES)
def test_think_tags_split_one_character_at_a_time(raw: str, text: str, reasoning: str) -> None:
    assert _run(ThinkTagSplitter(), list(raw)) == (text, reasoning)


def test_three_way_cuts_across_both_tags() -> None:
    raw = "<think>ab</think>cd"
    for i in range(len(raw) + 1):
        for j in range(i, len(raw) + 1):
            assert _run(ThinkTagSplitter(), [raw[:i], raw[i:j], raw[j:]]) == ("cd", "ab")


def test_partial_tag_is_held_back_until_decided() -> None:
    splitter = ThinkTagSplitter()
    assert splitter.feed("Hi <thi") == [StreamEvent(text="Hi ")]
    assert splitter.feed("nk>x ") == [StreamEvent(reasoning="x")]  # trailing space held
    assert splitter.feed("y</") == [StreamEvent(reasoning=" y")]
    assert splitter.feed("think> \n") == []  # whitespace after the block is dropped
    assert splitter.feed(" z") == [StreamEvent(text="z")]


def test_template_that_opens_the_block_in_the_prompt() -> None:
    assert _run(ThinkTagSplitter(inside=True), ["reason</think>", "answer"]) == ("answer", "reason")


@pytest.mark.parametrize(("raw", "text", "reasoning"), CASES)
def test_split_think_tags_matches_the_streamed_split(raw: str, text: str, reasoning: str) -> None:
    response = split_think_tags(Response(text=raw))
    if "<think>" in raw:
        assert (response.text, response.reasoning or "") == (text, reasoning)
    else:
        assert response.text == raw and response.reasoning is None


def test_split_think_tags_leaves_host_reasoning_alone() -> None:
    response = Response(text="<think>x</think>y", reasoning="from the field")
    assert split_think_tags(response) is response


def test_rewriter_keeps_tool_calls_finish_and_usage() -> None:
    rewriter = ThinkTagRewriter()
    call = ToolCallDelta(0, id="c1", name="f")
    last = StreamEvent(finish_reason=FinishReason.STOP, usage=Usage(input_tokens=3))
    events = [
        StreamEvent(text="<thi", model="m", id="r1"),
        StreamEvent(text="nk>why</think>so"),
        StreamEvent(tool_call=call),
        last,
    ]
    out = [o for e in events for o in rewriter.feed(e)] + rewriter.flush()
    assert "".join(e.text for e in out) == "so"
    assert "".join(e.reasoning for e in out) == "why"
    assert any(e.tool_call == call for e in out)
    assert last in out
    assert [e.model for e in out if e.model] == ["m"]


def test_rewriter_keeps_an_event_with_text_and_finish() -> None:
    rewriter = ThinkTagRewriter()
    out = rewriter.feed(StreamEvent(text="done", finish_reason=FinishReason.STOP))
    assert "".join(e.text for e in out) == "done"
    assert [e.finish_reason for e in out if e.finish_reason] == [FinishReason.STOP]


HELD_AT_THE_END = [
    # (raw text, text, reasoning): each ends with something the splitter holds back
    ("<think>why</think>so <", "so <", "why"),
    ("<think>why</think>so</thi", "so</thi", "why"),
    ("<think>\nwhy\n</think>\n\nso", "so", "why"),
    ("<think>still thinking <", "", "still thinking <"),
    ("plain text <thi", "plain text <thi", ""),
    ("<think>why</think>  ", "", "why"),
    ("  ", "  ", ""),
]


def _cuts(raw: str) -> list[list[str]]:
    """`raw` cut in three at every pair of positions (empty pieces included)."""
    return [
        [raw[:i], raw[i:j], raw[j:]] for i in range(len(raw) + 1) for j in range(i, len(raw) + 1)
    ]


@pytest.mark.parametrize("finish_carries_text", [False, True], ids=["bare-finish", "text-finish"])
@pytest.mark.parametrize(("raw", "text", "reasoning"), HELD_AT_THE_END)
def test_held_back_text_is_flushed_before_the_finish_and_no_event_is_empty(
    raw: str, text: str, reasoning: str, finish_carries_text: bool
) -> None:
    usage = Usage(input_tokens=3, output_tokens=5)
    for pieces in _cuts(raw):
        rewriter = ThinkTagRewriter()
        incoming = [StreamEvent(text=pieces[0], model="m", id="r1")]
        incoming += [StreamEvent(text=p) for p in pieces[1:-1] if p]
        last = StreamEvent(finish_reason=FinishReason.STOP, usage=usage)
        if finish_carries_text:
            last = StreamEvent(text=pieces[-1], finish_reason=FinishReason.STOP, usage=usage)
        elif pieces[-1]:
            incoming.append(StreamEvent(text=pieces[-1]))
        incoming = [e for e in incoming if e.text or e.model] + [last]
        out = [o for e in incoming for o in rewriter.feed(e)] + rewriter.flush()
        where = f"cut as {pieces!r}"
        assert "".join(e.text for e in out) == text, where
        assert "".join(e.reasoning for e in out) == reasoning, where
        assert out[-1].finish_reason is FinishReason.STOP, where
        assert out[-1].usage == usage, where
        assert [e.finish_reason for e in out if e.finish_reason] == [FinishReason.STOP], where
        for event in out:
            assert event.has_content or event.finish_reason or event.usage, (where, event)
        assert [(e.model, e.id) for e in out if e.model or e.id] == [("m", "r1")], where
