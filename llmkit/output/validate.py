"""Turn a model's JSON into an instance of the output type, or say precisely what is wrong.

`msgspec.convert` validates and converts for attrs classes, dataclasses,
`TypedDict`s, enums, `Literal`s, unions and containers; a pydantic model
validates itself (`model_validate`). Either way a failure becomes a tuple of
`Issue`s with a path in the data (`items[2].age: expected int, got "ten"`),
the text a re-ask sends back to the model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

from llmkit.output.schema import WRAPPER_KEY, is_pydantic_model

__all__ = ["Issue", "OutputInvalid", "convert", "drop_unset_nulls", "format_issues", "parse_json"]


@frozen
class Issue:
    """One reason a value does not match the output type."""

    path: str
    """Where in the data: `items[2].age`; empty for the value itself."""
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class OutputInvalid(Exception):
    """Raised by `parse_json` and `convert`; the caller re-asks or raises `OutputValidationError`."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__(format_issues(self.issues))


def format_issues(issues: Sequence[Issue]) -> str:
    """One issue per line."""
    return "\n".join(str(issue) for issue in issues)


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def parse_json(text: str) -> Any:
    """The JSON value in a reply's text: the whole text, a fenced ```json block, or the
    first `{...}` / `[...]` span (prompted models sometimes add a sentence).

    Raises:
        OutputInvalid: no JSON value could be read.
    """
    stripped = text.strip()
    if not stripped:
        raise OutputInvalid([Issue("", "the reply was empty; answer with a JSON value")])
    candidates = [stripped]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    for opener, closer in ("{}", "[]"):
        start, end = stripped.find(opener), stripped.rfind(closer)
        if 0 <= start < end:
            candidates.append(stripped[start : end + 1])
    error: ValueError | None = None
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError as exc:
            error = error or exc
    raise OutputInvalid([Issue("", f"the reply is not valid JSON ({error})")])


def convert(data: Any, tp: Any, *, wrapped: bool = False) -> Any:
    """`data` (parsed JSON) validated and converted to `tp`.

    Args:
        data: the parsed JSON value.
        tp: the output type.
        wrapped: the schema wrapped a non-object type in `{"response": ...}`; the
            value is unwrapped first (a bare value is accepted as well).

    Raises:
        OutputInvalid: with an `Issue` per problem found (msgspec stops at the first).
    """
    if wrapped and isinstance(data, Mapping) and set(data) == {WRAPPER_KEY}:
        data = data[WRAPPER_KEY]
    if is_pydantic_model(tp):
        return _pydantic(data, tp)
    from llmkit.output.document import JSONSchema, validate_document

    if isinstance(tp, JSONSchema):
        found = validate_document(data, tp)
        if found:
            raise OutputInvalid([Issue(path, message) for path, message in found])
        return data
    import msgspec

    try:
        return msgspec.convert(data, tp, strict=False)
    except msgspec.ValidationError as exc:
        raise OutputInvalid([_issue(str(exc), data)]) from None


def _pydantic(data: Any, tp: Any) -> Any:
    import pydantic

    try:
        return tp.model_validate(data)
    except pydantic.ValidationError as exc:
        issues = [Issue(_path(e.get("loc", ())), _pydantic_message(e)) for e in exc.errors()]
        raise OutputInvalid(issues) from None


def _pydantic_message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    if "input" in error and error.get("type") != "missing":
        message += f", got {_show(error['input'])}"
    return message


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# "Expected `int`, got `str` - at `$.items[2].age`"
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]+)`, got `[^`]+`$")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _issue(text: str, data: Any) -> Issue:
    match = _AT.match(text)
    assert match is not None  # the pattern matches any text
    message, path = match.group("message"), (match.group("path") or "").lstrip(".")
    expected = _EXPECTED.match(message)
    if expected is not None:
        found, value = _lookup(data, match.group("path") or "")
        if found:
            message = f"expected {expected.group('want')}, got {_show(value)}"
    return Issue(path, message[:1].lower() + message[1:])


def _lookup(data: Any, path: str) -> tuple[bool, Any]:
    for key, index in _STEP.findall(path):
        try:
            data = data[int(index)] if index else data[key]
        except (KeyError, IndexError, TypeError, ValueError):
            return False, None
    return True, data


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def drop_unset_nulls(data: Any, sent: Mapping[str, Any], original: Mapping[str, Any]) -> Any:
    """`data` without the nulls a strict schema forced onto optional fields.

    OpenAI's strict mode makes every property required, so an optional field the
    model leaves out arrives as `null`; where the original schema did not allow
    null there, the key is dropped so the type's default applies.
    """
    defs = {**(sent.get("$defs") or {}), **(original.get("$defs") or {})}
    return _drop(data, original, defs)


def _drop(data: Any, schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = defs.get(ref.removeprefix("#/$defs/"), {})
    if isinstance(data, dict) and schema.get("type") == "object":
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        out = {}
        for key, value in data.items():
            sub = properties.get(key)
            if (
                value is None
                and key not in required
                and sub is not None
                and not _nullable(sub, defs)
            ):
                continue
            out[key] = _drop(value, sub, defs) if isinstance(sub, Mapping) else value
        return out
    if isinstance(data, list) and isinstance(schema.get("items"), Mapping):
        return [_drop(item, schema["items"], defs) for item in data]
    return data


def _nullable(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> bool:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = defs.get(ref.removeprefix("#/$defs/"), {})
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if None in (schema.get("enum") or ()):
        return True
    return any(_nullable(s, defs) for s in schema.get("anyOf", ()) if isinstance(s, Mapping))
