"""The incremental JSON parser, cut at every byte: what it shows is always a prefix of the end."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmkit.output.partial import PartialJSON

DOCUMENTS = [
    '{"name": "Ada \\u00e9\\"x\\\\", "age": 36, "tags": ["a", {"k": [1, -2.5e3, true, null]}],'
    ' "empty": {}, "none": [], "z": false}',
    '[{"city": "Oslo", "temp": -3.5}, {"city": "Rome", "temp": 21}]',
    '{"emoji": "\\ud83d\\ude00 ok", "nested": {"deep": {"deeper": ["x"]}}}',
    'Sure, here it is:\n```json\n{"a": [1, 2], "b": "c"}\n```\nAnything else?',
]


def final_value(document: str) -> Any:
    start = min(i for i in (document.find("{"), document.find("[")) if i >= 0)
    end = max(document.rfind("}"), document.rfind("]")) + 1
    return json.loads(document[start:end])


def is_prefix(partial: Any, final: Any) -> bool:
    """Whether `partial` could grow into `final`: members a subset, lists and strings prefixes."""
    if isinstance(partial, dict):
        return isinstance(final, dict) and all(
            k in final and is_prefix(v, final[k]) for k, v in partial.items()
        )
    if isinstance(partial, list):
        return (
            isinstance(final, list)
            and len(partial) <= len(final)
            and all(is_prefix(a, b) for a, b in zip(partial, final, strict=False))
        )
    if isinstance(partial, str):
        return isinstance(final, str) and final.startswith(partial)
    return partial == final  # numbers and literals appear only once complete


CASES = [(d, cut) for d in DOCUMENTS for cut in range(len(d) + 1)]


@pytest.mark.parametrize(
    ("document", "cut"), CASES, ids=[f"{DOCUMENTS.index(d)}-{c}" for d, c in CASES]
)
def test_cut_anywhere_the_value_is_a_prefix_and_the_rest_completes_it(
    document: str, cut: int
) -> None:
    parser = PartialJSON()
    early = parser.feed(document[:cut])
    final = final_value(document)
    assert early is None or is_prefix(early, final), (document[:cut], early)
    assert parser.feed(document[cut:]) == final
    assert parser.done


@pytest.mark.parametrize("document", DOCUMENTS)
def test_fed_one_character_at_a_time_the_values_only_grow(document: str) -> None:
    parser = PartialJSON()
    final = final_value(document)
    previous: Any = None
    for char in document:
        value = parser.feed(char)
        assert value is None or is_prefix(value, final)
        if previous is not None:
            assert is_prefix(previous, value), (previous, value)
        previous = value if value is not None else previous
    assert previous == final


def test_open_strings_show_their_text_but_numbers_wait_for_their_end() -> None:
    parser = PartialJSON()
    assert parser.feed('{"name": "Ad') == {"name": "Ad"}
    assert parser.feed('a", "age": 3') == {"name": "Ada"}
    assert parser.feed("6") == {"name": "Ada"}
    assert parser.feed("}") == {"name": "Ada", "age": 36}


def test_a_half_key_or_a_key_without_value_is_not_shown() -> None:
    parser = PartialJSON()
    assert parser.feed('{"a": 1, "lo') == {"a": 1}
    assert parser.feed('ng": ') == {"a": 1}
    assert parser.feed('"') == {"a": 1, "long": ""}


def test_a_cut_escape_is_held_back() -> None:
    parser = PartialJSON()
    assert parser.feed('["caf\\u00') == ["caf"]
    assert parser.feed("e9") == ["café"]


def test_text_before_the_root_and_after_it_is_ignored() -> None:
    parser = PartialJSON()
    assert parser.feed("Sure: ") is None
    assert parser.feed('{"a": [1') == {"a": []}
    assert parser.feed("]} and more [1, 2]") == {"a": [1]}
    assert parser.text.endswith("[1, 2]")
