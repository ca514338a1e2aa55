"""`llmkit cache stats | clear` on a disk cache."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from llmkit.cache import DiskCache
from llmkit.cli import main


def test_stats_and_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.db"
    cache = DiskCache(path)

    async def fill() -> None:
        await cache.set("a", b"12345")
        await cache.get("a")
        await cache.get("b")

    anyio.run(fill)
    cache.close()
    monkeypatch.setenv("LLMKIT_CACHE", str(path))
    assert main(["cache", "stats"]) == 0
    text = capsys.readouterr().out
    assert "entries  1" in text and "hit rate 50.0%" in text
    assert main(["cache", "clear"]) == 0
    assert "removed 1 entries" in capsys.readouterr().err
    assert main(["cache", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == 0
