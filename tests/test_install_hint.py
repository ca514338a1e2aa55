"""How llmkit says to install what is missing, and what the `all` extra holds (issue 10)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from llmkit._imports import require
from llmkit.errors import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent


def test_a_missing_sdk_says_how_to_install_from_pypi_and_from_a_clone() -> None:
    with pytest.raises(ConfigurationError) as info:
        require("llmkit_no_such_sdk.sub", extra="openai")
    message = info.value.message
    assert "'llmkit_no_such_sdk' is not installed" in message
    assert "pip install 'llmkit[openai]'" in message  # from PyPI
    assert "pip install -e '.[openai]'" in message  # from a clone, as the README installs


def test_the_all_extra_holds_every_other_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    (spec,) = extras["all"]
    included = set(spec.removeprefix("llmkit[").removesuffix("]").split(","))
    assert "plot" in included
    # every extra but the developers' and `local` (torch and transformers: gigabytes)
    assert set(extras) - {"all", "dev", "local"} <= included


def test_the_license_file_is_there_and_is_mit() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the llmkit authors" in text
