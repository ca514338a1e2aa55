"""An output given as a JSON Schema document instead of a Python type.

    spec = JSONSchema(json.load(open("person.schema.json")), name="person")
    reply = await client.generate("Who wrote Dune?", output=spec)
    reply.output   # the JSON value (dicts and lists), checked against the schema

For callers whose schema comes from outside Python (`llmkit run --schema`).
The schema is sent like a generated one (wrapped, adapted to the host's
dialect); the answer is validated with the `jsonschema` library (Draft 2020-12
unless the document says otherwise), imported on first use from the `cli`
extra, with each error's path, as for typed outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import field, frozen

from llmkit._imports import require
from llmkit.errors import ConfigurationError

__all__ = ["JSONSchema", "validate_document"]


def _schema(value: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"a JSON Schema is a JSON object, not {type(value).__name__}")
    return dict(value)


@frozen
class JSONSchema:
    """`output=` as a JSON Schema document; `reply.output` is the validated JSON value."""

    schema: dict[str, Any] = field(converter=_schema)
    name: str = "output"
    """The name the host sees (`response_format.json_schema.name`)."""

    @property
    def __name__(self) -> str:  # what messages and the host call it
        return self.name


def validate_document(data: Any, spec: JSONSchema) -> list[tuple[str, str]]:
    """(path, message) for each way `data` breaks `spec.schema`; empty when it conforms.

    Raises:
        ConfigurationError: `jsonschema` is missing, or the schema itself is invalid.
    """
    jsonschema = require("jsonschema", extra="cli")
    cls = jsonschema.validators.validator_for(spec.schema)
    try:
        cls.check_schema(spec.schema)
    except jsonschema.SchemaError as exc:
        raise ConfigurationError(
            f"the output schema is not a valid JSON Schema: {exc.message}"
        ) from exc
    validator = cls(spec.schema)
    found = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ""
        for part in error.absolute_path:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        found.append((path, str(error.message)))
    return found
