"""The entry point itself: --help everywhere, version, usage errors, exit codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.cli.conftest import Result

Cli = Callable[..., Result]

COMMANDS = [
    ("chat",), ("run",), ("models",), ("providers",), ("demo",),
    ("config",), ("config", "validate"), ("config", "show"), ("config", "init"), ("config", "path"),
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(cli: Cli, command: tuple[str, ...]) -> None:
    result = cli(*command, "--help")
    assert result.code == 0
    assert result.out.startswith("usage: llmkit")
    assert "examples:" in result.out
    if len(command) == 1:
        assert "exit codes: 0 ok, 1 API error" in result.out


def test_top_level_help_lists_the_commands(cli: Cli) -> None:
    out = cli("--help").out
    for name in ("chat", "run", "models", "providers", "config", "demo"):
        assert name in out


def test_version(cli: Cli) -> None:
    from llmkit import __version__

    assert cli("--version").out.strip() == f"llmkit {__version__}"


@pytest.mark.parametrize("args", [(), ("nonsense",), ("run", "--no-such-flag")])
def test_usage_errors_exit_2(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.code == 2 and "usage:" in result.err


def test_debug_is_accepted_before_and_after_the_command(cli: Cli) -> None:
    assert "Traceback" in cli("--debug", "run", "x@grok", "hi").err
    assert "Traceback" in cli("run", "--debug", "x@grok", "hi").err
    assert "Traceback" not in cli("run", "x@grok", "hi").err


def test_demo_runs_offline(cli: Cli) -> None:
    result = cli("demo")
    assert result.code == 0 and "offline demo" in result.out


def test_python_dash_m_llmkit(llmkit_process: Any) -> None:
    done = llmkit_process("run", "deepseek@fake", "hi")
    assert (done.returncode, done.stdout) == (0, "[fake:deepseek-flash] You said: hi\n")
    bad = llmkit_process("run", "deepseek@grok", "hi")
    assert bad.returncode == 2 and bad.stderr.startswith("error: 'grok' is not a provider")
