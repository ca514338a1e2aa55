"""Validation into the output type, with the path of what is wrong."""

from __future__ import annotations

import dataclasses
import enum
from typing import Literal, TypedDict

import attrs
import pydantic
import pytest

from llmkit.output.schema import adapt, json_schema, wrap
from llmkit.output.validate import Issue, OutputInvalid, convert, drop_unset_nulls, parse_json


@attrs.define
class Item:
    name: str
    age: int


@dataclasses.dataclass
class Basket:
    items: list[Item]
    owner: str | None = None


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class Row(TypedDict):
    mood: Mood
    kind: Literal["a", "b"]


class Shape(pydantic.BaseModel):
    sides: int
    name: str


def issues(data: object, tp: object, **kwargs: bool) -> tuple[Issue, ...]:
    with pytest.raises(OutputInvalid) as info:
        convert(data, tp, **kwargs)
    return info.value.issues


def test_the_path_and_the_value_of_a_wrong_type() -> None:
    data = {
        "items": [{"name": "a", "age": 1}, {"name": "b", "age": 2}, {"name": "c", "age": "ten"}]
    }
    (issue,) = issues(data, Basket)
    assert str(issue) == 'items[2].age: expected int, got "ten"'


def test_a_missing_field_and_a_bad_literal() -> None:
    (missing,) = issues({"items": [{"name": "a"}]}, Basket)
    assert missing.path == "items[0]"
    assert "age" in missing.message
    (literal,) = issues({"mood": "happy", "kind": "c"}, Row)
    assert literal.path == "kind"


def test_values_are_converted_to_the_types() -> None:
    basket = convert({"items": [{"name": "a", "age": 3}]}, Basket)
    assert basket == Basket([Item("a", 3)])
    row = convert({"mood": "sad", "kind": "a"}, Row)
    assert row == {"mood": Mood.SAD, "kind": "a"}
    assert convert(["1", 2], list[int]) == [1, 2]  # lax: numbers in strings are accepted


def test_pydantic_reports_every_error_with_its_path() -> None:
    found = issues({"sides": "many"}, Shape)
    assert [i.path for i in found] == ["sides", "name"]
    assert 'got "many"' in found[0].message
    assert convert({"sides": 3, "name": "tri"}, Shape) == Shape(sides=3, name="tri")


def test_a_wrapped_value_is_unwrapped_and_a_bare_one_accepted() -> None:
    assert convert({"response": [1, 2]}, list[int], wrapped=True) == [1, 2]
    assert convert([1, 2], list[int], wrapped=True) == [1, 2]


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  {"a": 1}\n',
        'Here you go:\n```json\n{"a": 1}\n```',
        'Sure! {"a": 1} Hope that helps.',
    ],
)
def test_json_is_found_in_the_reply(text: str) -> None:
    assert parse_json(text) == {"a": 1}


@pytest.mark.parametrize(("text", "says"), [("", "empty"), ("no json here", "not valid JSON")])
def test_no_json_is_an_issue(text: str, says: str) -> None:
    with pytest.raises(OutputInvalid, match=says):
        parse_json(text)


@dataclasses.dataclass
class Opt:
    name: str
    level: int = 3
    note: str | None = "x"


@dataclasses.dataclass
class Leaf:
    size: int = 1


@dataclasses.dataclass
class Tree:
    leaves: list[Leaf]


def test_strict_mode_nulls_on_optional_fields_are_dropped_so_defaults_apply() -> None:
    original, _ = wrap(json_schema(Opt))
    sent = adapt(original, "openai-strict")
    data = drop_unset_nulls({"name": "n", "level": None, "note": None}, sent, original)
    # level cannot be null: dropped (default 3); note may be null: kept
    assert data == {"name": "n", "note": None}
    assert convert(data, Opt) == Opt("n", 3, None)


def test_nulls_are_dropped_inside_lists_of_referenced_objects() -> None:
    original, _ = wrap(json_schema(Tree))
    sent = adapt(original, "openai-strict")
    data = drop_unset_nulls({"leaves": [{"size": None}, {"size": 4}]}, sent, original)
    assert convert(data, Tree) == Tree([Leaf(1), Leaf(4)])
