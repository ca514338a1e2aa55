"""`llmkit run`: only the reply on stdout, stdin piping, --json, options, exit codes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmkit.errors import AuthenticationError
from llmkit.testing import FakeProvider
from tests.cli.conftest import Result, write_config

Cli = Callable[..., Result]


def test_the_reply_alone_goes_to_stdout(cli: Cli) -> None:
    result = cli("run", "deepseek@fake", "hi there")
    assert result.code == 0
    assert result.out == "[fake:deepseek-flash] You said: hi there\n"
    assert "You said" not in result.err


def test_words_after_the_client_form_the_prompt(cli: Cli) -> None:
    assert cli("run", "llama@fake", "two", "words").out.endswith("You said: two words\n")


def test_stdin_is_the_prompt_when_piped(llmkit_process: Any) -> None:
    done = llmkit_process("run", "llama@fake", stdin="text from a pipe\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[fake:llama-4-maverick] You said: text from a pipe\n"


def test_stdin_follows_the_prompt_argument(cli: Cli, spy: FakeProvider) -> None:
    result = cli("run", "llama@spy", "Summarise:", stdin="the piped text\n")
    assert result.code == 0
    assert spy.requests[0].messages[-1].content == "Summarise:\n\nthe piped text"


def test_a_lone_prompt_uses_the_default_client(cli: Cli, isolated: Path) -> None:
    write_config(isolated, "default_client: g\nclients:\n  g: {family: gpt4, provider: fake}\n")
    assert cli("run", "hello world").out == "[fake:gpt-5.6] You said: hello world\n"
    assert cli("run", "g", "hi").out == "[fake:gpt-5.6] You said: hi\n"


def test_json_prints_the_whole_response(cli: Cli) -> None:
    result = cli("run", "--json", "claude@fake", "hi")
    data = json.loads(result.out)
    assert data["text"].endswith("You said: hi")
    assert data["provider"] == "fake" and data["finish_reason"] == "stop"
    assert data["usage"]["output_tokens"] > 0
    assert "raw" not in data


@pytest.mark.parametrize("flag", ["--stream", "--no-stream"])
def test_stream_and_no_stream_print_the_same(cli: Cli, flag: str) -> None:
    assert cli("run", flag, "mixtral@fake", "same").out.endswith("You said: same\n")


def test_request_options_reach_the_host(cli: Cli, spy: FakeProvider) -> None:
    result = cli(
        "run", "llama@spy", "--system", "Be brief", "--temperature", "0.3",
        "--max-tokens", "7", "--model", "my-llama", "hi",
    )  # fmt: skip
    assert result.code == 0
    request = spy.requests[0]
    assert [m.role for m in request.messages] == ["system", "user"]
    assert request.messages[0].content == "Be brief"
    assert (request.temperature, request.max_tokens, request.model) == (0.3, 7, "my-llama")


def test_usage_goes_to_stderr(cli: Cli) -> None:
    result = cli("run", "--usage", "llama@fake", "hi")
    assert "in /" in result.err and "out tokens" in result.err
    assert "tokens" not in result.out


def test_no_prompt_is_a_usage_error(cli: Cli) -> None:
    result = cli("run", "llama@fake")
    assert result.code == 2
    assert result.err.startswith("error: No prompt") and result.out == ""


def test_an_unknown_provider_is_one_line_and_exit_2(cli: Cli) -> None:
    result = cli("run", "llama@grok", "hi")
    assert result.code == 2
    assert (
        result.err.strip().splitlines() == [result.err.strip()]
        and "did you mean 'groq'" in result.err
    )
    assert "Traceback" not in result.err


def test_a_missing_key_is_a_configuration_error(cli: Cli) -> None:
    result = cli("run", "gpt4@openai", "hi")
    assert result.code == 2
    assert "OPENAI_API_KEY" in result.err


def test_an_api_error_exits_1(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmkit import registry

    failing = FakeProvider([AuthenticationError("the key was revoked", provider="fake")])
    monkeypatch.setitem(registry._PROVIDERS.added, "failing", lambda **_: failing)
    result = cli("run", "llama@failing", "hi")
    assert result.code == 1
    assert "error: the key was revoked" in result.err
    assert "Traceback" not in result.err and result.out == ""


def test_debug_shows_the_traceback(cli: Cli) -> None:
    result = cli("run", "--debug", "llama@grok", "hi")
    assert result.code == 2 and "Traceback" in result.err


def test_interrupted_exits_130(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("llmkit.cli._ask.stream", interrupt)
    assert cli("run", "llama@fake", "hi").code == 130


def test_a_reply_cut_at_the_limit_is_noted_on_stderr(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmkit import registry
    from llmkit.types import FinishReason, Response

    cut = FakeProvider([Response(text="Once upon a", finish_reason=FinishReason.LENGTH)])
    monkeypatch.setitem(registry._PROVIDERS.added, "cut", lambda **_: cut)
    result = cli("run", "llama@cut", "story")
    assert result.out == "Once upon a\n"
    assert "cut at the token limit" in result.err


def test_run_and_chat_show_the_configured_provider_name(
    cli: Cli, isolated: Path, spy: FakeProvider
) -> None:
    # `spy` builds a provider that reports itself as `fake`; the file calls it `local`.
    write_config(
        isolated,
        "providers:\n  local: {type: spy}\nclients:\n  loc: {family: llama, provider: local}\n",
    )
    run = cli("run", "loc", "hi", "--usage")
    assert run.code == 0, run.err
    assert run.err.startswith("local:"), run.err
    chat = cli("chat", "loc", stdin="/quit\n")
    assert "llama@local" in chat.out + chat.err
    assert "llama@fake" not in chat.out + chat.err


def test_help_examples_name_hosts_that_serve_the_family() -> None:
    """Every `FAMILY@PROVIDER` in the commands' examples resolves in the shipped catalog."""
    import re

    from llmkit.catalog import default_catalog
    from llmkit.cli import chat, models, run

    catalog = default_catalog()
    pairs = set()
    for module in (run, models, chat):
        pairs |= set(re.findall(r"\b([a-z0-9]+)@([a-z_]+)\b", module.EXAMPLES))
        for host in re.findall(r"--provider ([a-z_]+)", module.EXAMPLES):
            assert catalog.entries(None, host), host
            assert any(e.served_on(dt.date.today()) for e in catalog.entries(None, host)), host
    assert pairs
    for family, host in pairs:
        catalog.resolve(family, host)  # raises when the host serves no current model


# -- errors in the CLI's terms, and the exit code of a refused request (issue 10) -------------


def test_errors_give_cli_advice_not_python_advice(cli: Cli) -> None:
    result = cli("run", "deepseek@groq", "hi")
    assert result.code == 2
    assert "Pass -m ID to use a specific id anyway" in result.err
    assert "model=" not in result.err


def test_a_prompt_too_long_for_the_window_is_refused_with_exit_3(cli: Cli) -> None:
    result = cli("run", "mixtral@fake", stdin="word " * 100_000)
    assert result.code == 3, result.err
    assert "context window" in result.err
    assert "--context-strategy keep_newest (or drop_middle)" in result.err
    assert "context_strategy=" not in result.err and result.out == ""


def test_context_strategy_reaches_the_client(cli: Cli) -> None:
    result = cli(
        "run", "mixtral@fake", "--context-strategy", "drop_middle", stdin="word " * 100_000
    )
    assert result.code == 3 and "even after drop_middle truncation" in result.err


def test_context_strategy_is_offered_on_run_and_chat(cli: Cli) -> None:
    for command in ("run", "chat"):
        assert "--context-strategy" in cli(command, "--help").out


def test_exit_codes_of_errors() -> None:
    from llmkit.cli import exit_code
    from llmkit.errors import (
        BudgetExceededError,
        ConfigurationError,
        ContextLengthExceededError,
        ServerError,
    )
    from llmkit.fallback import AllProvidersFailedError

    assert exit_code(BudgetExceededError("over")) == 3
    assert exit_code(ContextLengthExceededError("too long")) == 3  # llmkit's own check
    assert exit_code(ContextLengthExceededError("too long", status_code=400)) == 1  # the host's
    assert exit_code(ConfigurationError("no key")) == 2
    keys = AllProvidersFailedError([("a", ConfigurationError("x")), ("b", ConfigurationError("y"))])
    assert exit_code(keys) == 2
    mixed = AllProvidersFailedError([("a", ConfigurationError("x")), ("b", ServerError("y"))])
    assert exit_code(mixed) == 1


def test_every_fallback_failing_names_each_provider(cli: Cli, isolated: Path) -> None:
    write_config(
        isolated,
        "clients:\n  coder: {family: deepseek, provider: deepseek, fallbacks: [openrouter]}\n",
    )
    result = cli("run", "coder", "hi")
    assert result.code == 2  # both for want of a key
    assert "DEEPSEEK_API_KEY" in result.err and "OPENROUTER_API_KEY" in result.err
