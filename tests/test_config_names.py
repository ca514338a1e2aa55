"""`llmkit.config` checks provider types and families against the names it is given (the
registry passes its own): the configuration does not import the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmkit
from llmkit import registry
from llmkit.config import ConfigFileError, validate_text

TEXT = "providers:\n  mine: {type: grok}\nclients:\n  c: {family: deepsek, provider: mine}\n"


def test_without_names_only_the_files_own_references_are_checked() -> None:
    result = validate_text(TEXT, env={})
    assert result.ok, result.problems


def test_with_the_registrys_names_unknown_types_and_families_are_reported() -> None:
    result = validate_text(
        TEXT, env={}, provider_types=registry.provider_names(), families=registry.client_names()
    )
    messages = [str(problem) for problem in result.problems]
    assert any("unknown provider type 'grok' (did you mean 'groq'?)" in m for m in messages)
    assert any("unknown model family 'deepsek' (did you mean 'deepseek'?)" in m for m in messages)


def test_llmkit_load_checks_the_file_against_the_registrys_names(tmp_path: Path) -> None:
    file = tmp_path / "llmkit.yaml"
    file.write_text(TEXT)
    with pytest.raises(ConfigFileError, match="did you mean 'groq'"):
        llmkit.load(file)
