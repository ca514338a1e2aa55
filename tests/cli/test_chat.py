"""`llmkit chat` driven by scripted stdin: history, slash commands, switching hosts mid-chat."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmkit.errors import RateLimitError
from llmkit.testing import FakeProvider
from tests.cli.conftest import Result, write_config

Cli = Callable[..., Result]

TWO_HOSTS = """
providers:
  fake: {}
  second: {type: fake, options: {name: deepseek}}
clients:
  coder: {family: deepseek, provider: fake}
"""


def script(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


def test_switching_provider_mid_chat_keeps_the_conversation(cli: Cli, isolated: Path) -> None:
    write_config(isolated, TWO_HOSTS)
    result = cli(
        "chat", "coder",
        stdin=script("first question", "/provider second", "second question", "/export chat.json"),
    )  # fmt: skip
    assert result.code == 0
    assert result.out.splitlines() == [
        "[fake:deepseek-flash] You said: first question",
        "[deepseek:deepseek-flash] You said: second question",
    ]
    assert "now on deepseek@second" in result.err
    exported = json.loads((isolated / "chat.json").read_text())
    assert exported["provider"] == "second"
    assert [m["content"] for m in exported["messages"]] == [
        "first question",
        "[fake:deepseek-flash] You said: first question",
        "second question",
        "[deepseek:deepseek-flash] You said: second question",
    ]
    assert [r["provider"] for r in exported["responses"]] == ["fake", "deepseek"]


def test_the_new_host_receives_the_whole_history(cli: Cli, spy: FakeProvider) -> None:
    result = cli("chat", "llama@fake", stdin=script("one", "/provider spy", "two"))
    assert result.code == 0
    (request,) = spy.requests
    assert [m.content for m in request.messages] == [
        "one",
        "[fake:llama-4-maverick] You said: one",
        "two",
    ]


def test_an_unknown_provider_keeps_the_old_one(cli: Cli) -> None:
    result = cli("chat", "llama@fake", stdin=script("/provider grok", "still here"))
    assert "error: 'grok' is not a provider (did you mean 'groq'?)" in result.err
    assert result.out == "[fake:llama-4-maverick] You said: still here\n"


def test_model_switch(cli: Cli) -> None:
    result = cli("chat", "llama@fake", stdin=script("/model llama-4-scout", "/model", "hi"))
    assert result.out.splitlines() == ["llama-4-scout", "[fake:llama-4-scout] You said: hi"]


def test_reset_forgets_and_system_sets_the_prompt(cli: Cli, spy: FakeProvider) -> None:
    cli(
        "chat", "llama@spy",
        stdin=script("one", "/reset", "/system Answer in French", "/system", "two"),
    )  # fmt: skip
    assert [m.content for m in spy.requests[1].messages] == ["Answer in French", "two"]
    assert spy.requests[1].messages[0].role == "system"


def test_system_dash_removes_the_prompt(cli: Cli, spy: FakeProvider) -> None:
    result = cli(
        "chat", "llama@spy", "--system", "Be terse", stdin=script("/system -", "/system", "x")
    )
    assert "(no system prompt)" in result.out
    assert [m.role for m in spy.requests[0].messages] == ["user"]


def test_multi_line_messages(cli: Cli, spy: FakeProvider) -> None:
    cli("chat", "llama@spy", stdin=script('"""', "line one", "", "line three", '"""'))
    assert spy.requests[0].messages[-1].content == "line one\n\nline three"


def test_export_markdown(cli: Cli, isolated: Path) -> None:
    cli("chat", "claude@fake", "--system", "Be kind", stdin=script("hello", "/export out.md"))
    text = (isolated / "out.md").read_text()
    assert text.startswith("# Chat with claude@fake")
    assert "**System:** Be kind" in text
    assert "## You\n\nhello" in text and "## Assistant (fake)\n\n[fake:" in text


def test_export_without_a_file_name_says_how(cli: Cli) -> None:
    result = cli("chat", "llama@fake", stdin=script("/export"))
    assert "error: /export needs a file name" in result.err and result.code == 0


def test_an_error_reply_keeps_the_chat_going(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmkit import registry

    flaky = FakeProvider([RateLimitError("slow down", retryable=False), "fine now"])
    monkeypatch.setitem(registry._PROVIDERS.added, "flaky", lambda **_: flaky)
    result = cli("chat", "llama@flaky", stdin=script("first", "second"))
    assert result.code == 0
    assert "error: slow down" in result.err
    assert result.out == "fine now\n"
    assert [m.content for m in flaky.requests[1].messages] == ["second"]  # the failed turn is gone


def test_cost_help_and_unknown_commands(cli: Cli) -> None:
    result = cli("chat", "llama@fake", stdin=script("hi", "/cost", "/help", "/modle"))
    assert "replies: 1" in result.out and "tokens:" in result.out
    for command in ("/provider", "/model", "/export", "/cost", "/reset", "/system", "/exit"):
        assert command in result.out
    assert "unknown command /modle (did you mean /model?)" in result.err


def test_exit_stops_reading(cli: Cli, spy: FakeProvider) -> None:
    result = cli("chat", "llama@spy", stdin=script("/exit", "never sent"))
    assert result.code == 0 and spy.requests == []


def test_reasoning_is_kept_out_of_the_plain_reply_and_shown_on_request(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmkit import registry
    from llmkit.types import Response

    thinker = FakeProvider([Response(text="Four.", reasoning="2+2 is 4.")])
    monkeypatch.setitem(registry._PROVIDERS.added, "thinker", lambda **_: thinker)
    result = cli("chat", "llama@thinker", stdin=script("2+2?", "/reasoning"))
    assert result.out.splitlines() == ["Four.", "2+2 is 4."]


def test_chat_through_the_real_entry_point(llmkit_process: Any, isolated: Path) -> None:
    write_config(isolated, TWO_HOSTS)
    done = llmkit_process("chat", "coder", stdin=script("hi", "/provider second", "again"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[fake:deepseek-flash] You said: hi",
        "[deepseek:deepseek-flash] You said: again",
    ]


def test_cost_lists_every_reply_with_its_provider(cli: Cli, isolated: Path) -> None:
    write_config(isolated, TWO_HOSTS)
    lines = [f"message {n}" for n in range(7)]
    result = cli("chat", "coder", stdin=script(*lines[:4], "/provider second", *lines[4:], "/cost"))
    assert "replies: 7" in result.out
    listed = [
        line
        for line in result.out.splitlines()
        if line.strip()[:2] in {f"{n}." for n in range(1, 8)}
    ]
    assert len(listed) == 7
    assert all("fake:" in line for line in listed[:4]) and all(
        "second:" in line for line in listed[4:]
    )


def test_export_names_the_provider_of_each_reply(cli: Cli, isolated: Path) -> None:
    write_config(isolated, TWO_HOSTS)
    cli("chat", "coder", stdin=script("one", "/provider second", "two", "/export out.md"))
    text = (isolated / "out.md").read_text()
    assert text.startswith("# Chat with deepseek@fake, second")
    assert "Replies from: fake, second" in text
    assert text.index("## Assistant (fake)") < text.index("## Assistant (second)")
