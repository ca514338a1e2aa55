"""`did_you_mean`: the one helper behind every "(did you mean 'x'?)" in llmkit's errors."""

from __future__ import annotations

from pathlib import Path

import llmkit
from llmkit._hints import closest, did_you_mean


def test_did_you_mean_names_the_closest_choice_or_nothing() -> None:
    assert did_you_mean("grok", ["groq", "openai"]) == " (did you mean 'groq'?)"
    assert did_you_mean("zzzz", ["groq", "openai"]) == ""
    assert closest("keep_newst", ("keep_newest", "drop_middle")) == "keep_newest"
    assert closest("x", ()) is None


def test_no_module_keeps_its_own_copy_of_the_helper() -> None:
    package = Path(llmkit.__file__).parent
    copies = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "_hints.py" and "get_close_matches" in path.read_text(encoding="utf-8")
    ]
    assert copies == []
