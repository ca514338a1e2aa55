"""JSON Schema for an output type, and its adaptations to what each host accepts.

One generator serves every kind of type: `msgspec` writes the schema of attrs
classes, dataclasses, `TypedDict`s, enums, `Literal`s, unions and containers
(`list[Person]`); a pydantic model brings its own (`model_json_schema()`).
`adapt` then rewrites the schema for a host's dialect, or raises a
`ConfigurationError` before anything is sent:

- `openai-strict`: OpenAI's strict structured outputs need
  `additionalProperties: false` on every object and every property required
  (optional ones become nullable; `validate` drops the nulls again), and no
  `default`. https://platform.openai.com/docs/guides/structured-outputs#supported-schemas
- `anthropic`: objects closed with `additionalProperties: false`; numeric,
  string-length and array-size constraints are refused by the host, so they
  move into the description (the client still checks them).
  https://platform.claude.com/docs/en/build-with-claude/structured-outputs
- `gemini`: `responseJsonSchema` takes a subset of keywords; the rest move into
  the description, `oneOf` becomes `anyOf`, `const` a one-value `enum`.
  https://ai.google.dev/gemini-api/docs/structured-output#json-schema-support
- `json-schema`: the schema as generated (Ollama, Cohere, Mistral, Groq, ...).

Pure functions over dicts; `msgspec` and `pydantic` are imported on first use.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from llmkit.errors import ConfigurationError

__all__ = ["WRAPPER_KEY", "Dialect", "adapt", "is_pydantic_model", "json_schema", "wrap"]

Dialect = Literal["json-schema", "openai-strict", "anthropic", "gemini"]

WRAPPER_KEY = "response"
"""The one property of the object a non-object output is wrapped in (hosts and tool
calls want an object at the root)."""

_ANTHROPIC_REFUSED = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
)
_GEMINI_KEYWORDS = frozenset(
    {
        "$id",
        "$defs",
        "$ref",
        "$anchor",
        "type",
        "format",
        "title",
        "description",
        "enum",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "anyOf",
        "properties",
        "additionalProperties",
        "required",
        "propertyOrdering",
    }
)


def is_pydantic_model(tp: Any) -> bool:
    """Whether `tp` is a pydantic model class (without importing pydantic)."""
    return (
        isinstance(tp, type) and hasattr(tp, "model_json_schema") and hasattr(tp, "model_validate")
    )


def json_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema of `tp`, with a root `$ref` inlined so the root is the type itself.

    Raises:
        ConfigurationError: `tp` is not a type a schema can be written for.
    """
    from llmkit.output.document import JSONSchema

    if isinstance(tp, JSONSchema):
        schema = dict(tp.schema)
    elif is_pydantic_model(tp):
        schema = dict(tp.model_json_schema())
    else:
        import msgspec

        try:
            schema = msgspec.json.schema(tp)
        except NameError as exc:
            raise ConfigurationError(
                f"cannot write a JSON Schema for {_name(tp)}: {exc} (a class defined inside a "
                "function, with postponed annotations, cannot be resolved; define the types "
                "at module level)"
            ) from exc
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"cannot write a JSON Schema for {_name(tp)}: {exc}; `output=` takes an attrs "
                "class, a dataclass, a TypedDict, a pydantic model, an enum, a Literal, "
                "or a list/dict/union of those"
            ) from exc
    return _inline_root(schema)


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


def _inline_root(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    defs = schema.get("$defs") or {}
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return schema
    name = ref.removeprefix("#/$defs/")
    root = dict(defs[name])
    if _refers_to(defs, ref, skip=name) or _refers_to({name: root}, ref, skip=None):
        return schema  # recursive: keep the reference
    rest = {k: v for k, v in defs.items() if k != name}
    if rest:
        root["$defs"] = rest
    return root


def _refers_to(node: Any, ref: str, *, skip: str | None) -> bool:
    if isinstance(node, Mapping):
        return any(
            (k == "$ref" and v == ref) or (k != skip and _refers_to(v, ref, skip=None))
            for k, v in node.items()
        )
    if isinstance(node, list):
        return any(_refers_to(v, ref, skip=None) for v in node)
    return False


def wrap(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """`schema` if its root is an object, else an object holding it under `WRAPPER_KEY`.

    Returns:
        The schema to send, and whether it was wrapped.
    """
    if schema.get("type") == "object":
        return schema, False
    inner = {k: v for k, v in schema.items() if k != "$defs"}
    wrapped: dict[str, Any] = {
        "type": "object",
        "properties": {WRAPPER_KEY: inner},
        "required": [WRAPPER_KEY],
    }
    if "$defs" in schema:
        wrapped["$defs"] = schema["$defs"]
    return wrapped, True


def adapt(schema: Mapping[str, Any], dialect: str) -> dict[str, Any]:
    """`schema` rewritten for a host's `dialect` (see the module docstring); a new dict.

    Raises:
        ConfigurationError: an unknown dialect, or a schema the host cannot take.
    """
    rewrite = _DIALECTS.get(dialect)
    if rewrite is None:
        raise ConfigurationError(
            f"unknown structured-output schema dialect {dialect!r}; "
            f"use one of {sorted(_DIALECTS)} in the catalog's structured_output data"
        )
    adapted: dict[str, Any] = _walk(copy.deepcopy(dict(schema)), rewrite)
    return adapted


def _walk(node: Any, rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    if isinstance(node, list):
        return [_walk(item, rewrite) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: _walk(sub, rewrite) for name, sub in value.items()}
        elif key in ("enum", "const", "default", "examples", "required"):
            out[key] = value
        else:
            out[key] = _walk(value, rewrite)
    return rewrite(out)


def _plain(node: dict[str, Any]) -> dict[str, Any]:
    return node


def _strict(node: dict[str, Any]) -> dict[str, Any]:
    node.pop("default", None)
    if node.get("type") != "object":
        return node
    if node.get("additionalProperties") not in (None, False):
        raise ConfigurationError(
            "OpenAI strict structured output refuses open objects (dict[str, ...] or "
            "additionalProperties); use a class with named fields, or "
            "output_mode='prompted' to have the schema checked on the client only"
        )
    properties = node.get("properties") or {}
    required = set(node.get("required") or ())
    for name, sub in properties.items():
        if name not in required:
            properties[name] = _nullable(sub)
    node["properties"] = properties
    node["required"] = list(properties)
    node["additionalProperties"] = False
    return node


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if _allows_null(schema):
        return schema
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    return {"anyOf": [schema, {"type": "null"}]}


def _allows_null(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(s) for s in schema.get("anyOf", ()) if isinstance(s, Mapping))


def _anthropic(node: dict[str, Any]) -> dict[str, Any]:
    node.pop("default", None)
    _describe(node, [k for k in _ANTHROPIC_REFUSED if k in node])
    if node.get("minItems", 0) > 1:
        _describe(node, ["minItems"])
    if node.get("type") == "object":
        if node.get("additionalProperties") not in (None, False):
            raise ConfigurationError(
                "Anthropic structured output needs closed objects (no dict[str, ...]); "
                "use a class with named fields, or output_mode='prompted'"
            )
        node["additionalProperties"] = False
    return node


def _gemini(node: dict[str, Any]) -> dict[str, Any]:
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if "const" in node:
        node["enum"] = [node.pop("const")]
    _describe(node, [k for k in node if k not in _GEMINI_KEYWORDS])
    return node


def _describe(node: dict[str, Any], keys: list[str]) -> None:
    """Move `keys` out of the schema and into its description, so the model still reads them."""
    if not keys:
        return
    moved = ", ".join(f"{k}: {json.dumps(node.pop(k))}" for k in keys)
    description = node.get("description")
    node["description"] = f"{description} ({moved})" if description else f"({moved})"


_DIALECTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "json-schema": _plain,
    "openai-strict": _strict,
    "anthropic": _anthropic,
    "gemini": _gemini,
}
