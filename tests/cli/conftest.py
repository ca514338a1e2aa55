"""CLI tests: the real entry point (`main([...])` or `python -m llmkit`), offline, isolated."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from attrs import frozen

from llmkit import registry
from llmkit.cli import main
from llmkit.testing import FakeProvider

KEY_VARIABLES = (
    "GROQ_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY", "MISTRAL_API_KEY",
    "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "CO_API_KEY", "OLLAMA_API_KEY",
)  # fmt: skip


@frozen
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test in its own folder, with no user configuration and no keys."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    for variable in ("LLMKIT_CONFIG", "LLMKIT_PROFILE", *KEY_VARIABLES):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """`cli("run", "deepseek@fake", "hi", stdin="...")` through `llmkit.cli.main`."""

    def run(*args: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def llmkit_process(isolated: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`python -m llmkit ...` in a subprocess: the real console entry point."""

    def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Any:
        clean = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
        clean.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "llmkit", *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            cwd=isolated,
            env=clean,
            timeout=60,
        )

    return run


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    """A provider named `spy` whose requests the test can read (and whose replies it scripts)."""
    fake = FakeProvider(name="fake")
    monkeypatch.setitem(registry._PROVIDERS.added, "spy", lambda **_: fake)
    yield fake


def write_config(folder: Path, text: str) -> Path:
    path = folder / "llmkit.yaml"
    path.write_text(text, encoding="utf-8")
    return path
