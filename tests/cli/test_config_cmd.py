"""`llmkit config init|validate|show|path`: the round trip a new user makes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from llmkit.cli.config_cmd import template
from tests.cli.conftest import Result, write_config

Cli = Callable[..., Result]

BROKEN = """
providers:
  groq: {timeout: soon, retyr: {}}
clients:
  coder: {family: deepseek, provider: grok}
  writer: {family: clod, provider: fake}
"""


def test_init_validate_run_chat_round_trip(cli: Cli, isolated: Path) -> None:
    init = cli("config", "init")
    assert init.code == 0 and (isolated / "llmkit.yaml").read_text() == template()
    assert "llmkit config validate" in init.err
    validate = cli("config", "validate")
    assert validate.code == 0, validate.out
    assert validate.out.strip().endswith("ok (4 providers, 3 clients)")
    assert cli("run", "hi").out == "[fake:deepseek-flash] You said: hi\n"  # default_client: demo
    chat = cli("chat", stdin="hello\n")
    assert chat.out == "[fake:deepseek-flash] You said: hello\n"


def test_the_template_coder_client_runs_end_to_end(
    cli: Cli, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`coder` (budget + OpenRouter fallback) is runnable: the fallback is priced, not refused."""
    from llmkit import registry
    from llmkit.errors import ServerError
    from llmkit.testing import FakeProvider

    down = FakeProvider(name="deepseek", errors={1: ServerError("overloaded", provider="deepseek")})
    routed = FakeProvider(name="openrouter")
    monkeypatch.setitem(registry._PROVIDERS.added, "deepseek", lambda **_: down)
    monkeypatch.setitem(registry._PROVIDERS.added, "openrouter", lambda **_: routed)
    assert cli("config", "init").code == 0
    result = cli("run", "coder", "--no-stream", stdin="hi\n")
    assert result.code == 0, result.err
    assert result.out == "[openrouter:deepseek/deepseek-v4-pro] You said: hi\n"
    assert "note: deepseek failed (ServerError: overloaded); trying openrouter" in result.err
    assert routed.requests[0].model == "deepseek/deepseek-v4-pro"


def test_the_template_coder_client_without_keys_names_the_primary_key(
    cli: Cli, isolated: Path
) -> None:
    assert cli("config", "init").code == 0
    result = cli("run", "coder", stdin="hi\n")
    assert result.code == 2
    assert "No API key for deepseek" in result.err and "DEEPSEEK_API_KEY" in result.err
    assert "Budget" not in result.err and "price" not in result.err


def test_init_refuses_to_overwrite_without_force(cli: Cli, isolated: Path) -> None:
    write_config(isolated, "providers: {}\n")
    result = cli("config", "init")
    assert result.code == 2 and "--force" in result.err
    assert (isolated / "llmkit.yaml").read_text() == "providers: {}\n"
    assert cli("config", "init", "--force").code == 0
    assert (isolated / "llmkit.yaml").read_text() == template()


def test_init_to_stdout_and_to_a_named_file(cli: Cli, isolated: Path) -> None:
    assert cli("config", "init", "-").out == template()
    assert cli("config", "init", "conf/team.yaml").code == 0
    assert cli("config", "validate", "conf/team.yaml").code == 0


def test_validate_prints_every_problem_and_exits_2(cli: Cli, isolated: Path) -> None:
    write_config(isolated, BROKEN)
    result = cli("config", "validate")
    assert result.code == 2
    errors = [line for line in result.out.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3
    assert any("providers.groq.timeout: expected a number" in e for e in errors)
    assert any(
        "clients.coder.provider: unknown provider 'grok' (did you mean 'groq'?)" in e
        for e in errors
    )
    assert any(
        "clients.writer.family: unknown model family 'clod' (did you mean 'claude'?)" in e
        for e in errors
    )
    assert (
        "warning:" in result.out
        and "providers.groq.retyr: unknown key (did you mean 'retry'?)" in result.out
    )
    assert "3 problems" in result.err


def test_a_broken_file_stops_other_commands_with_exit_2(cli: Cli, isolated: Path) -> None:
    write_config(isolated, BROKEN)
    result = cli("run", "llama@fake", "hi")
    assert result.code == 2 and "has 3 problems" in result.err


def test_validate_without_a_file_says_where_it_looked(cli: Cli) -> None:
    result = cli("config", "validate")
    assert result.code == 2
    assert "No configuration file found" in result.err and "llmkit config init" in result.err


def test_show_masks_secrets(cli: Cli, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "gsk_" + "TopSecretValue123456"
    monkeypatch.setenv("MY_GROQ", secret)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-" + "AlsoSecret98765")
    write_config(
        isolated,
        "providers:\n  groq: {api_key: '${MY_GROQ}', options: {token: abc123xyz}}\n  openrouter: {}\n",
    )
    result = cli("config", "show")
    assert result.code == 0
    assert (
        secret not in result.out
        and "AlsoSecret" not in result.out
        and "abc123xyz" not in result.out
    )
    assert "api_key: '***'" in result.out and "token: '***'" in result.out
    assert "<from $OPENROUTER_API_KEY: set>" in result.out


def test_show_masks_passwords_inside_urls(
    cli: Cli, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_PASS", "Hunter2Redis")
    write_config(
        isolated,
        "providers:\n"
        "  groq: {rate_limit: {requests_per_minute: 3, redis_url: 'redis://:${REDIS_PASS}@cache:6379/0'}}\n"
        "  local: {type: openai_compatible, base_url: 'http://bob:Pa55word@gpu:8000/v1'}\n",
    )
    result = cli("config", "show")
    assert result.code == 0, result.err
    assert "Hunter2Redis" not in result.out and "Pa55word" not in result.out
    assert "redis://***@cache:6379/0" in result.out
    assert "http://***@gpu:8000/v1" in result.out


def test_errors_never_show_a_password_inside_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    from llmkit.cli import _report
    from llmkit.errors import ConfigurationError

    _report(
        ConfigurationError("check that Redis is running at redis://:Hunter2Redis@cache/0"), False
    )
    err = capsys.readouterr().err
    assert "Hunter2Redis" not in err and "redis://***@cache/0" in err


def test_path_shows_the_file_and_the_search_order(cli: Cli, isolated: Path) -> None:
    assert cli("config", "path").out.strip() == "(none found)"
    file = write_config(isolated, "providers: {}\n")
    result = cli("config", "path")
    assert Path(result.out.strip()) == file and "looked in" in result.err


def test_the_config_option_and_profiles(cli: Cli, isolated: Path) -> None:
    folder = isolated / "xdg" / "llmkit"
    folder.mkdir(parents=True)
    (folder / "work.yaml").write_text(
        "default_client: w\nclients:\n  w: {family: gpt4, provider: fake}\n"
    )
    assert cli("--profile", "work", "run", "hi").out == "[fake:gpt-5.6] You said: hi\n"
    other = isolated / "other.yaml"
    other.write_text("default_client: o\nclients:\n  o: {family: claude, provider: fake}\n")
    assert cli("run", "--config", str(other), "hi").out.startswith("[fake:claude")
    missing = cli("--profile", "wrok", "run", "hi")
    assert missing.code == 2 and "did you mean 'work'" in missing.err


def test_the_template_names_todays_default_model_and_every_family() -> None:
    from llmkit import catalog, registry

    text = template()
    assert f"# model: {catalog.resolve('claude', 'openrouter').model} " in text
    assert "claude-sonnet-4-6" not in text and "@WRITER_MODEL@" not in text
    for family in registry.client_names():
        assert family == "fake" or family in text


def test_validate_counts_in_the_singular_too(cli: Cli, isolated: Path) -> None:
    write_config(
        isolated, "providers:\n  fake: {}\nclients:\n  c: {family: llama, provider: fake}\n"
    )
    result = cli("config", "validate")
    assert result.code == 0 and result.out.strip().endswith("ok (1 provider, 1 client)")
