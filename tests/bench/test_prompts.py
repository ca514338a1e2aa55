"""Prompt sets: the built-in ones, and files in each accepted layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmkit.bench import BUILTIN, load_prompts
from llmkit.errors import ConfigurationError


@pytest.mark.parametrize("name", ["short", "medium", "long"])
def test_builtin_sets_are_there_and_grow_in_length(name: str) -> None:
    prompts = load_prompts(name)
    assert prompts == BUILTIN[name] and len(prompts) >= 3
    assert all(isinstance(p, str) and p for p in prompts)


def test_long_prompts_are_longer_than_short_ones() -> None:
    assert min(map(len, BUILTIN["long"])) > max(map(len, BUILTIN["medium"])) > 0


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("p.txt", "first\n\n  second  \n", ("first", "second")),
        ("p.json", '["a", {"prompt": "b"}]', ("a", "b")),
        ("p.jsonl", '"a"\n{"prompt": "b", "id": 2}\n', ("a", "b")),
    ],
)
def test_prompt_files(tmp_path: Path, name: str, content: str, expected: tuple[str, ...]) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert load_prompts(str(path)) == expected


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.txt", "\n\n", "holds no prompts"),
        ("p.json", "{not json", "not valid JSON"),
        ("p.json", '{"prompt": "a"}', "must be a list"),
        ("p.jsonl", '{"text": "a"}', "'prompt' string"),
    ],
)
def test_bad_prompt_files_say_what_is_wrong(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        load_prompts(str(path))


def test_an_unknown_name_lists_the_builtin_sets() -> None:
    with pytest.raises(ConfigurationError, match="short, medium, long"):
        load_prompts("tiny")
