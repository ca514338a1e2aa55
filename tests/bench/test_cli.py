"""`llmkit bench` end to end on the offline demo profiles, replayed fast (tiny n)."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmkit.bench import load_recording
from llmkit.cli import main

FAST = ["--demo", "-n", "2", "--warmup", "0", "--speed", "50", "--no-progress"]


def test_demo_json_holds_the_figures_per_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", *FAST, "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert "SYNTHETIC" in err
    assert data["synthetic"] is True and data["n"] == 2 and data["interrupted"] is False
    assert set(data["providers"]) == {"deepseek", "groq", "ollama", "openrouter"}
    for figures in data["providers"].values():
        assert figures["count"] == 2
        assert isinstance(figures["errors"], int)
        for metric in ("ttft", "total", "output_tokens_per_second"):
            if figures["errors"] < 2:
                assert set(figures[metric]) >= {"p50", "p90", "p99", "mean", "ci95"}
    groq = data["providers"]["groq"]
    assert set(groq["host_timings"]) == {
        "queue_time",
        "prompt_time",
        "completion_time",
        "total_time",
    }
    assert (
        groq["output_tokens_per_second"]["p50"]
        > data["providers"]["ollama"]["output_tokens_per_second"]["p50"]
    )


def test_demo_prints_a_table_and_writes_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "runs.csv"
    assert main(["bench", *FAST, "--csv", str(path)]) == 0
    out = capsys.readouterr().out
    assert "groq" in out and "TTFT" in out and "host-reported" in out
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 8
    assert {r["provider"] for r in rows} == {"deepseek", "groq", "ollama", "openrouter"}


def test_record_then_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.jsonl"
    assert main(["bench", *FAST, "--record", str(path), "--json"]) == 0
    recorded = json.loads(capsys.readouterr().out)
    assert recorded["synthetic"] is True and "replay_of" not in recorded
    replay = [
        "--replay",
        str(path),
        "-n",
        "2",
        "--warmup",
        "0",
        "--speed",
        "50",
        "--seed",
        "1",
        "--no-progress",
        "--json",
    ]
    assert main(["bench", *replay]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert set(replayed["providers"]) == set(recorded["providers"])
    for name, figures in replayed["providers"].items():
        assert figures["count"] == 2
        assert figures["errors"] == recorded["providers"][name]["errors"]


def test_recording_a_demo_or_a_replay_stays_synthetic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo, again = tmp_path / "demo.jsonl", tmp_path / "again.jsonl"
    assert main(["bench", *FAST, "--record", str(demo), "--json"]) == 0
    capsys.readouterr()
    recording = load_recording(demo)
    assert recording.meta["synthetic"] is True and "SYNTHETIC" in recording.meta["note"]
    assert set(recording.meta["sources"]) == {"deepseek", "groq", "ollama", "openrouter"}
    assert all("SYNTHETIC" in note for note in recording.meta["sources"].values())

    replay = ["--replay", str(demo), "-n", "1", "--warmup", "0", "--speed", "50", "--no-progress"]
    assert main(["bench", *replay, "--record", str(again), "--json"]) == 0
    out, err = capsys.readouterr()
    assert "SYNTHETIC" in err and json.loads(out)["synthetic"] is True
    twice = load_recording(again)
    assert twice.meta["synthetic"] is True and "SYNTHETIC" in twice.meta["note"]
    assert twice.meta["sources"] == recording.meta["sources"]

    assert main(["bench", "--replay", str(again), *replay[2:], "--json"]) == 0
    assert "SYNTHETIC" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench"], "Say what to benchmark"),
        (["bench", "--demo", "--providers", "groq"], "Say what to benchmark"),
        (["bench", "--providers", "groq"], "Name a model family"),
        (["bench", "--demo", "-n", "0"], "at least 1"),
        (["bench", "--demo", "--prompts", "nope"], "neither a built-in prompt set"),
    ],
)
def test_usage_errors_exit_2_with_the_fix(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_plot_without_matplotlib_names_the_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmkit import _imports

    real = _imports.importlib.import_module

    def without_matplotlib(name: str, package: str | None = None) -> object:
        if name.split(".")[0] == "matplotlib":
            raise ImportError("No module named 'matplotlib'")
        return real(name)

    monkeypatch.setattr(_imports.importlib, "import_module", without_matplotlib)
    assert main(["bench", *FAST, "--plot", "out.png"]) == 2
    assert "llmkit[plot]" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs llmkit[plot]")
def test_plot_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "latency.png"
    assert main(["bench", *FAST, "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_to_a_file_keeps_the_table_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bench.json"
    assert main(["bench", *FAST, "--json", str(path)]) == 0
    assert "TTFT" in capsys.readouterr().out
    assert json.loads(path.read_text())["providers"]["groq"]["count"] == 2


def test_importing_bench_loads_no_vendor_sdk_nor_rich() -> None:
    code = (
        "import sys, llmkit.bench, llmkit.bench.cli; "
        "print([m for m in ('rich', 'matplotlib', 'openai', 'groq', 'anthropic') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
