"""`llmkit run -a FILE` and `/attach FILE` in the chat send the file as a content part."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from llmkit import Document, Image
from llmkit.testing import FakeProvider
from tests.cli.conftest import Result

Cli = Callable[..., Result]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def test_run_attaches_files_in_order(cli: Cli, spy: FakeProvider, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4 report")
    png = tmp_path / "chart.png"
    png.write_bytes(PNG)
    result = cli("run", "claude@spy", "Summarise", "-a", str(pdf), "--attach", str(png))
    assert result.code == 0, result.err
    (request,) = spy.requests
    content = request.messages[-1].content
    assert content[0].text == "Summarise"
    assert content[1] == Document(
        data=b"%PDF-1.4 report", media_type="application/pdf", filename="report.pdf"
    )
    assert isinstance(content[2], Image) and content[2].media_type == "image/png"


def test_run_with_a_missing_file_says_so(cli: Cli, tmp_path: Path) -> None:
    result = cli("run", "claude@fake", "hi", "-a", str(tmp_path / "nope.pdf"))
    assert result.code != 0
    assert "no such file" in result.err


def test_chat_attach_goes_with_the_next_message(
    cli: Cli, spy: FakeProvider, tmp_path: Path
) -> None:
    png = tmp_path / "cat.png"
    png.write_bytes(PNG)
    result = cli("chat", "claude@spy", stdin=f"/attach {png}\nwhat is this?\nand now?\n")
    assert result.code == 0, result.err
    first, second = spy.requests
    assert first.messages[-1].content[1] == Image(
        data=PNG, media_type="image/png", filename="cat.png"
    )
    assert second.messages[-1].content == "and now?"  # sent once
    assert second.messages[0].content[1].filename == "cat.png"  # kept in the history
    assert "attached cat.png" in result.err + result.out
