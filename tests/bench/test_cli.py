"""`llmkit bench` end to end on the offline demo profiles, replayed fast (tiny n)."""

from __future__ import annotations

import csv
import http.server
import importlib.util
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmkit.bench import cli, load_recording
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
        (["bench", "--demo", "--replay", "run.jsonl"], "Say what to benchmark"),
        (["bench", "--demo", "--base-url", "http://127.0.0.1:9/v1"], "give one of them"),
        (["bench", "--demo", "deepseek", "--providers", "groq"], "no longer serves"),
        (["bench", "--demo", "gpt4", "-m", "gpt-5.6", "--providers", "groq"], "no profile of"),
        (["bench", "--demo", "--providers", "groq", "-m", "grok=x"], "did you mean 'groq'"),
        (["bench", "--providers", "groq,ollama", "-m", "groq=x"], "No model for ollama"),
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


def test_a_provider_named_twice_gets_a_command_line_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "deepseek", "--providers", "fake,fake", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--providers names fake more than once" in err and "mapping" not in err


def test_ctrl_c_exits_130_with_a_partial_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SIGINT after 3 samples: asyncio.run cancels the run, which keeps what finished."""
    real = cli.run_targets

    async def interrupted_after_three(*args: Any, **kwargs: Any) -> Any:
        seen: list[object] = []

        def on_sample(sample: object) -> None:
            seen.append(sample)
            if len(seen) == 3:
                signal.raise_signal(signal.SIGINT)

        return await real(*args, **{**kwargs, "on_sample": on_sample})

    monkeypatch.setattr(cli, "run_targets", interrupted_after_three)
    path = tmp_path / "partial.json"
    argv = ["bench", "--demo", "-n", "20", "--warmup", "0", "--speed", "20", "--no-progress"]
    assert main([*argv, "--json", str(path)]) == 130
    out, err = capsys.readouterr()
    assert "INTERRUPTED" in out and "interrupted" in err
    data = json.loads(path.read_text())
    assert data["interrupted"] is True
    counts = [p["count"] for p in data["providers"].values()]
    assert sum(counts) >= 3 and all(count < 20 for count in counts)


class _OpenAICompatibleServer(http.server.BaseHTTPRequestHandler):
    """Answers POST /v1/chat/completions with a short OpenAI-style stream; logs the bodies."""

    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        chunk = {"id": "c1", "object": "chat.completion.chunk", "model": "qwen3"}
        pieces = [
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}]},
            {**chunk, "choices": [{"index": 0, "delta": {"content": " there"}}]},
            {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {**chunk, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
        ]
        body = "".join(f"data: {json.dumps(p)}\n\n" for p in pieces) + "data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    """An OpenAI-compatible server on 127.0.0.1 (a free port), stopped after the test."""
    _OpenAICompatibleServer.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OpenAICompatibleServer)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_base_url_benchmarks_a_local_openai_compatible_server(
    local_server: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no llmkit configuration found
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for variable in ("LLMKIT_CONFIG", "LLMKIT_PROFILE", "OPENAI_COMPATIBLE_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    argv = ["bench", "--model", "qwen3", "--base-url", local_server, "-n", "3", "--no-progress"]
    assert main([*argv, "--warmup", "1", "--max-tokens", "16", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    local = data["providers"]["local"]
    assert list(data["providers"]) == ["local"] and data["model"] == "qwen3"
    assert (local["count"], local["errors"], local["output_tokens"]) == (3, 0, 6)
    bodies = _OpenAICompatibleServer.bodies
    assert len(bodies) == 4  # one warm-up, three measured
    assert {b["model"] for b in bodies} == {"qwen3"} and all(b["stream"] for b in bodies)
    assert bodies[0]["messages"][-1]["role"] == "user"


def test_base_url_needs_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--base-url", "http://127.0.0.1:9/v1", "--no-progress"]) == 2
    assert "--base-url needs --model" in capsys.readouterr().err


# -- one model on every host, and which model each row is (issue 10) -------------------------

HEADLINE = ["gpt4", "-m", "gpt-oss-120b", "--providers", "groq,openrouter,ollama"]


def test_the_docs_headline_example_runs_on_demo_profiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "runs.csv"
    assert main(["bench", *HEADLINE, *FAST, "--json", "--csv", str(path)]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["models"] == {
        "groq": "openai/gpt-oss-120b",
        "openrouter": "openai/gpt-oss-120b",
        "ollama": "gpt-oss:120b",
    }
    assert data["same_model"] is True and "DIFFERENT MODELS" not in err
    assert {p["model"] for p in data["providers"].values()} == set(data["models"].values())
    rows = list(csv.DictReader(path.open()))
    assert {(r["provider"], r["model"]) for r in rows} == set(data["models"].items())
    assert f"wrote 6 rows (CSV) to {path}" in err


def test_a_family_alone_picks_the_one_model_every_host_serves(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # gpt4's newest on OpenRouter is gpt-5.6; the one model all three serve is gpt-oss-120b
    assert main(["bench", "gpt4", "--providers", "groq,openrouter,ollama", *FAST, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["models"]["openrouter"] == "openai/gpt-oss-120b" and data["same_model"] is True


def test_the_table_names_each_hosts_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", *HEADLINE, *FAST]) == 0
    out = capsys.readouterr().out
    assert "model" in out and "openai/gpt-oss-120b" in out and "gpt-oss:120b" in out


def test_different_models_are_warned_about_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "bench",
        "--providers",
        "groq,ollama",
        "-m",
        "groq=openai/gpt-oss-20b,ollama=gpt-oss:120b",
    ]
    assert main([*argv, *FAST, "--json"]) == 0
    out, err = capsys.readouterr()
    assert err.count("WARNING: the hosts run DIFFERENT MODELS") == 2  # before and after
    assert "groq=openai/gpt-oss-20b, ollama=gpt-oss:120b" in err
    data = json.loads(out)
    assert data["same_model"] is False
    assert data["models"] == {"groq": "openai/gpt-oss-20b", "ollama": "gpt-oss:120b"}


def test_the_plain_demo_names_its_models_and_says_they_differ(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", *FAST, "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["models"]["deepseek"] == "deepseek-flash"
    assert data["models"]["groq"] == "openai/gpt-oss-20b"
    assert data["same_model"] is False and "DIFFERENT MODELS" in err


def test_hand_picked_ids_reach_each_host(capsys: pytest.CaptureFixture[str]) -> None:
    from llmkit.bench._models import parse_model_option

    option = parse_model_option("groq=openai/gpt-oss-120b, ollama=gpt-oss:120b", ["groq", "ollama"])
    assert option.for_host("groq") == "openai/gpt-oss-120b"
    assert option.for_host("ollama") == "gpt-oss:120b"
    assert parse_model_option("gpt-oss-120b", ["groq"]).for_host("groq") == "gpt-oss-120b"
    assert main(["bench", "--providers", "groq", "-m", "groq=x,y", *FAST]) == 2
    assert "host=id pairs" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs llmkit[plot]")
def test_the_plot_title_says_synthetic_names_the_models_and_the_path_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmkit.bench import _report

    titles: list[str] = []
    real = _report.plot_title
    monkeypatch.setattr(
        _report, "plot_title", lambda *a, **k: titles.append(real(*a, **k)) or titles[-1]
    )
    path = tmp_path / "latency.png"
    assert main(["bench", *HEADLINE, *FAST, "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote the plot to {path}" in capsys.readouterr().err
    (title,) = titles
    assert (
        title.startswith("SYNTHETIC data")
        and "openai/gpt-oss-120b" in title
        and "gpt-oss:120b" in title
    )


def test_live_hosts_of_a_family_run_the_same_model(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The issue's case: DeepSeek's newest is deepseek-flash, OpenRouter's deepseek-v4-pro."""
    from llmkit import registry
    from llmkit.testing import FakeProvider

    monkeypatch.chdir(tmp_path)
    fakes = {name: FakeProvider(name=name) for name in ("openrouter", "deepseek")}
    for name, fake in fakes.items():
        monkeypatch.setitem(registry._PROVIDERS.added, name, lambda _f=fake, **_: _f)
    argv = ["bench", "deepseek", "--providers", "openrouter,deepseek", "-n", "2", "--warmup", "0"]
    assert main([*argv, "--no-progress", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["models"] == {
        "openrouter": "deepseek/deepseek-v4-pro",
        "deepseek": "deepseek-v4-pro",
    }
    assert data["same_model"] is True
    assert {r.model for r in fakes["deepseek"].requests} == {"deepseek-v4-pro"}
    assert {r.model for r in fakes["openrouter"].requests} == {"deepseek/deepseek-v4-pro"}
