"""`llmkit embed`: JSON on stdout, a file of lines to JSON Lines, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmkit.cli import main
from llmkit.testing import fake_vector


def test_one_text_prints_its_vector(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed", "fake", "hello world", "--dimensions", "4", "--kind", "query"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "fake-embed" and data["dimensions"] == 4
    assert data["embedding"] == pytest.approx(fake_vector("fake-embed\0query\0hello world", 4))


def test_a_file_becomes_json_lines_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("alpha\n\nbeta\ngamma\n", encoding="utf-8")
    out = tmp_path / "vectors.jsonl"
    cache = tmp_path / "cache.db"
    args = ["embed", "fake", "--file", str(lines), "--out", str(out), "--batch-size", "2"]
    assert main([*args, "--cache", str(cache)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["index"], r["text"]) for r in records] == [(0, "alpha"), (1, "beta"), (2, "gamma")]
    assert records[2]["embedding"] == pytest.approx(fake_vector("fake-embed\0None\0gamma", 16))
    assert "3 vectors from fake/fake-embed" in capsys.readouterr().err
    assert main([*args, "--cache", str(cache)]) == 0
    assert "(0 tokens)" in capsys.readouterr().err  # every line came from the cache
    assert main(["cache", "stats", "--cache", str(cache), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["entries"], stats["hits"]) == (3, 3)


def test_errors_are_one_line_with_an_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed", "groq", "x"]) == 2
    assert "no embedding model for groq: pass -m ID" in capsys.readouterr().err
    assert main(["embed", "fake", "--file", "/nonexistent/lines.txt"]) == 2
    assert "cannot read --file" in capsys.readouterr().err


def test_texts_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("one\n\ntwo\n"))
    assert main(["embed", "fake", "--dimensions", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["embeddings"]) == 2 and data["usage"]["input_tokens"] == 4
