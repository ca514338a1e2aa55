"""Schemas for each kind of output type, and their adaptation to each host's dialect."""

from __future__ import annotations

import dataclasses
import enum
from typing import Literal, NotRequired, TypedDict

import attrs
import pydantic
import pytest

from llmkit.errors import ConfigurationError
from llmkit.output.schema import WRAPPER_KEY, adapt, json_schema, wrap


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.define
class Pet:
    name: str
    kind: Literal["cat", "dog"]


@dataclasses.dataclass
class Person:
    """A person."""

    name: str
    age: int
    pets: list[Pet]
    color: Color = Color.RED
    nick: str | None = None


class Point(TypedDict):
    x: int
    label: NotRequired[str]


class Model(pydantic.BaseModel):
    title: str
    score: float = 0.5


def test_a_dataclass_is_the_root_object_with_its_docstring_and_required_fields() -> None:
    schema = json_schema(Person)
    assert schema["type"] == "object"
    assert schema["description"] == "A person."
    assert schema["required"] == ["name", "age", "pets"]
    assert schema["properties"]["pets"] == {"type": "array", "items": {"$ref": "#/$defs/Pet"}}
    assert set(schema["$defs"]) == {"Pet", "Color"}  # the root itself is inlined


def test_an_attrs_class_keeps_its_literal_as_an_enum() -> None:
    schema = json_schema(Pet)
    assert schema["properties"]["kind"] == {"enum": ["cat", "dog"]}
    assert "$defs" not in schema


def test_a_typeddict_marks_notrequired_keys_optional() -> None:
    schema = json_schema(Point)
    assert schema["required"] == ["x"]
    assert set(schema["properties"]) == {"x", "label"}


def test_a_pydantic_model_brings_its_own_schema() -> None:
    schema = json_schema(Model)
    assert schema["properties"]["score"]["default"] == 0.5
    assert schema["required"] == ["title"]


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (Literal["a", "b"], {"enum": ["a", "b"]}),
        (int | str, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
    ],
)
def test_plain_types(tp: object, expected: dict[str, object]) -> None:
    assert json_schema(tp) == expected


def test_an_enum_root_is_inlined() -> None:
    assert json_schema(Color) == {"title": "Color", "enum": ["blue", "red"]}


def test_a_list_of_classes_keeps_the_class_in_defs() -> None:
    schema = json_schema(list[Pet])
    assert schema["items"] == {"$ref": "#/$defs/Pet"}
    assert "Pet" in schema["$defs"]


def test_a_type_with_no_schema_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot write a JSON Schema for object"):
        json_schema(object)


def test_non_object_roots_are_wrapped_and_objects_are_not() -> None:
    wrapped, did = wrap(json_schema(list[Pet]))
    assert did
    assert wrapped["type"] == "object"
    assert wrapped["required"] == [WRAPPER_KEY]
    assert wrapped["properties"][WRAPPER_KEY]["type"] == "array"
    assert "Pet" in wrapped["$defs"]  # the definitions stay at the root
    same, did = wrap(json_schema(Pet))
    assert not did and same == json_schema(Pet)


def test_openai_strict_closes_objects_and_makes_optional_fields_nullable_and_required() -> None:
    schema = adapt(json_schema(Person), "openai-strict")
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "age", "pets", "color", "nick"]
    assert "default" not in schema["properties"]["color"]
    assert schema["properties"]["color"] == {"anyOf": [{"$ref": "#/$defs/Color"}, {"type": "null"}]}
    # already nullable: not wrapped twice
    assert schema["properties"]["nick"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert schema["$defs"]["Pet"]["additionalProperties"] is False


def test_openai_strict_refuses_open_objects_before_sending() -> None:
    with pytest.raises(ConfigurationError, match="output_mode='prompted'"):
        adapt(json_schema(dict[str, int]) | {"type": "object"}, "openai-strict")


def test_anthropic_moves_refused_constraints_into_the_description() -> None:
    schema = {
        "type": "object",
        "properties": {"age": {"type": "integer", "minimum": 0, "description": "years"}},
        "required": ["age"],
    }
    adapted = adapt(schema, "anthropic")
    assert adapted["additionalProperties"] is False
    assert adapted["properties"]["age"] == {"type": "integer", "description": "years (minimum: 0)"}
    assert schema["properties"]["age"]["minimum"] == 0  # the input is not touched


def test_gemini_takes_its_subset() -> None:
    schema = {
        "type": "object",
        "properties": {
            "kind": {"const": "x"},
            "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "code": {"type": "string", "pattern": "^[A-Z]+$"},
        },
    }
    adapted = adapt(schema, "gemini")
    assert adapted["properties"]["kind"] == {"enum": ["x"]}
    assert adapted["properties"]["either"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert adapted["properties"]["code"] == {
        "type": "string",
        "description": '(pattern: "^[A-Z]+$")',
    }


def test_a_property_named_like_a_keyword_is_not_mistaken_for_one() -> None:
    schema = {"type": "object", "properties": {"default": {"type": "string"}}, "required": []}
    adapted = adapt(schema, "openai-strict")
    assert adapted["properties"]["default"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_an_unknown_dialect_names_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="openai-strict"):
        adapt({}, "yaml")
