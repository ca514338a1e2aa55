"""The CLI in a real terminal (tmux) and under real signals: Ctrl-C, line breaks, tracebacks.

The chat's terminal view (rich `Live`, prompt-toolkit) only runs on a terminal, so
these tests drive `llmkit chat` inside a tmux session and read the screen back. They
wait for what they expect to appear (bounded), never for a fixed time; they skip when
tmux is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import KEY_VARIABLES

SLOW = """
providers:
  slow: {type: fake, options: {token_delay: 0.25}}
clients:
  slow: {family: llama, provider: slow}
"""


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Screen:
    """A tmux session running one command; `text()` is what the terminal shows."""

    def __init__(self, socket: str, name: str) -> None:
        self.socket = socket
        self.name = name

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name).stdout

    def wait_for(self, needle: str) -> str:
        _wait(lambda: needle in self.text(), repr(needle))
        return self.text()


# What the terminal under test inherits. Nothing else: a COLUMNS or LINES exported by
# the shell that runs pytest would make rich lay out for a width the pane does not have
# (each live refresh then leaves a wrapped line behind), and no key may reach it.
_PASSED_ON = ("PATH", "HOME", "PYTHONPATH", "LANG", "LC_ALL", "TMPDIR")


@pytest.fixture
def terminal(isolated: Path) -> Iterator[Callable[..., Screen]]:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux")
    (isolated / "llmkit.yaml").write_text(SLOW, encoding="utf-8")
    screens: list[Screen] = []

    def start(*args: str) -> Screen:
        # A private tmux server per session: it starts with exactly this environment,
        # not with whatever a server already running on the machine was started with.
        screen = Screen(socket=f"llmkit-test-{uuid.uuid4().hex[:8]}", name="llmkit")
        env = {k: v for k, v in os.environ.items() if k in _PASSED_ON and k not in KEY_VARIABLES}
        env["XDG_STATE_HOME"] = str(isolated / "state")
        env["TERM"] = "xterm-256color"
        command = " ".join([sys.executable, "-m", "llmkit", *args]) + "; sleep 60"
        subprocess.run(
            ["tmux", "-L", screen.socket, "-f", os.devnull, "new-session", "-d", "-s", screen.name,
             "-x", "100", "-y", "30", "-c", str(isolated), command],
            env=env,
            check=True,
        )  # fmt: skip
        screens.append(screen)
        return screen

    yield start
    for screen in screens:
        subprocess.run(["tmux", "-L", screen.socket, "kill-server"], check=False)


def test_ctrl_c_during_a_reply_shows_it_once_and_says_interrupted_on_its_own_line(
    terminal: Callable[..., Screen],
) -> None:
    screen = terminal("chat", "slow", "--no-history")
    screen.wait_for("you>")
    screen.keys("alpha beta gamma delta epsilon zeta eta theta iota kappa", "Enter")
    screen.wait_for("You said: alpha")
    screen.keys("C-c")
    text = screen.wait_for("interrupted")
    lines = [line.rstrip() for line in text.splitlines()]
    assert sum("You said:" in line for line in lines) == 1, text
    assert "interrupted" in lines, text  # a line of its own
    screen.wait_for("you>")


def test_single_newlines_in_a_reply_stay_line_breaks(terminal: Callable[..., Screen]) -> None:
    screen = terminal("chat", "slow", "--no-history")
    screen.wait_for("you>")
    for line in ('"""', "roses are red", "violets are blue", '"""'):
        screen.keys(line, "Enter")
    _wait(lambda: screen.text().count("you>") == 2, "the reply, then the next prompt")
    text = screen.text()
    lines = [line.rstrip() for line in text.splitlines()]
    assert any(line.endswith("You said: roses are red") for line in lines), text
    assert "violets are blue" in lines, text


def test_run_a_second_ctrl_c_gives_no_traceback(isolated: Path) -> None:
    (isolated / "llmkit.yaml").write_text(SLOW, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    for gap in (0.0, 0.05, 0.2):
        process = subprocess.Popen(
            [sys.executable, "-m", "llmkit", "run", "slow", "one two three four five six"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=isolated,
            env=env,
        )
        assert process.stdout is not None
        first = process.stdout.read(1)  # the reply has begun
        process.send_signal(signal.SIGINT)
        time.sleep(gap)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        assert "Traceback" not in err.decode() and err.decode().endswith("interrupted\n")
        assert first == b"["


def test_run_puts_interrupted_after_the_partial_reply_not_on_its_line(isolated: Path) -> None:
    (isolated / "llmkit.yaml").write_text(SLOW, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    process = subprocess.Popen(
        [sys.executable, "-m", "llmkit", "run", "slow", "one two three four five six"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=isolated,
        env=env,
    )
    assert process.stdout is not None
    first = process.stdout.read(1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert (first + out).endswith(b"\n")  # the partial reply's line is ended
    assert err.decode() == "interrupted\n"


FINALIZERS = """
import sys
import llmkit.cli

class Raises:
    def __init__(self, error): self.error = error
    def __del__(self): raise self.error

sys.argv = ["llmkit", "--version"]
llmkit.cli.main()  # as `python -m llmkit` calls it
item = Raises(KeyboardInterrupt()); del item  # a second Ctrl-C landing in a finalizer
item = Raises(ValueError("a real fault")); del item  # still reported
"""


def test_a_ctrl_c_inside_a_finalizer_prints_no_traceback() -> None:
    """The race a second Ctrl-C can hit, made deterministic: an interrupted finalizer."""
    done = subprocess.run(
        [sys.executable, "-c", FINALIZERS], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "KeyboardInterrupt" not in done.stderr
    assert done.stderr.count("Exception ignored in") == 1 and "a real fault" in done.stderr
