"""Typed structured output: schemas, validation, partial JSON, modes, and the loops.

`client.generate(prompt, output=Person)` gives `reply.output`, a validated
`Person` (see docs/structured-output.md). The pieces, each usable alone:

- `llmkit.output.schema`: the JSON Schema of a type, adapted to a host's dialect;
- `llmkit.output.document`: `JSONSchema`, an output given as a schema document;
- `llmkit.output.validate`: JSON into the type, or `Issue`s with paths;
- `llmkit.output.partial`: `PartialJSON`, the value so far of streamed JSON;
- `llmkit.output.modes`: which mode a (host, model) supports, from the catalog;
- `llmkit.output.plan`: how one call asks, reads and re-asks;
- `llmkit.output.loop`: the loops behind `generate`, `stream`, `run`, `run_stream`.
"""

from __future__ import annotations

from llmkit.output.document import JSONSchema
from llmkit.output.modes import OutputSupport, support_for
from llmkit.output.partial import PartialJSON
from llmkit.output.plan import OutputPlan, plan_output
from llmkit.output.schema import adapt, json_schema
from llmkit.output.validate import Issue

__all__ = [
    "Issue",
    "JSONSchema",
    "OutputPlan",
    "OutputSupport",
    "PartialJSON",
    "adapt",
    "json_schema",
    "plan_output",
    "support_for",
]
