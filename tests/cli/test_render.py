"""Reply rendering: live Markdown with reasoning dimmed and collapsed; plain text when piped."""

from __future__ import annotations

import io

from rich.console import Console

from llmkit.cli._render import ReplyPrinter, reasoning_summary, usage_line
from llmkit.types import Cost, Latency, Response, StreamEvent, Usage

EVENTS = [
    StreamEvent(reasoning="Two plus two "),
    StreamEvent(reasoning="is four."),
    StreamEvent(text="# Answer\n\n"),
    StreamEvent(text="**Four.**"),
    StreamEvent(usage=Usage(input_tokens=3, output_tokens=9)),
]


def test_plain_output_is_the_text_alone() -> None:
    out = io.StringIO()
    printer = ReplyPrinter(out)
    for event in EVENTS:
        printer.add(event)
    printer.finish()
    assert out.getvalue() == "# Answer\n\n**Four.**\n"
    assert printer.reasoning == "Two plus two is four."


def test_terminal_output_renders_markdown_and_collapses_reasoning() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=60, color_system=None)
    printer = ReplyPrinter(buffer, rich_console=console)
    for event in EVENTS:
        printer.add(event)
    printer.finish()
    shown = buffer.getvalue()
    assert "Answer" in shown and "**Four.**" not in shown and "Four." in shown  # Markdown rendered
    assert reasoning_summary("Two plus two is four.") in shown
    assert "▸ reasoning: 5 words (/reasoning to show)" in shown


def test_abort_keeps_what_arrived() -> None:
    out = io.StringIO()
    printer = ReplyPrinter(out)
    printer.add(StreamEvent(text="half a rep"))
    printer.abort()
    assert out.getvalue() == "half a rep\n"


def test_usage_line() -> None:
    response = Response(
        text="x", provider="groq", model="m", usage=Usage(input_tokens=12, output_tokens=48),
        cost=Cost(total=0.000031), latency=Latency(total=0.84),
    )  # fmt: skip
    assert usage_line(response) == "groq:m · 12 in / 48 out tokens · $0.000031 · 0.84 s"


def test_hard_line_breaks_keep_a_replys_single_newlines_but_not_inside_code() -> None:
    from llmkit.cli._render import hard_line_breaks

    text = "roses are red\nviolets are blue\n\n```\nx = 1\ny = 2\n```\nlast"
    assert hard_line_breaks(text) == (
        "roses are red  \nviolets are blue\n\n```\nx = 1\ny = 2\n```\nlast"
    )
    assert hard_line_breaks("one line") == "one line"
    assert hard_line_breaks("kept  \nas is") == "kept  \nas is"
