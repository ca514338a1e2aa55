"""How one call asks for, reads and re-asks for a typed answer: an `OutputPlan`.

A plan is decided once per call from the output type and the (host, model)'s
`OutputSupport`: the schema (wrapped when its root is not an object, adapted
to the host's dialect), and the mode. It then only computes values:

- `options(...)`: the call's options with the request for structured output
  added (`response_format`, the output tool and `tool_choice`, or the
  schema in the system prompt);
- `raw(response)`: the JSON the reply carries (its text, or the output tool's
  arguments), or None when the model did not answer with it;
- `parse(response)`: that JSON validated into the output type;
- `reask(response, issues)`: the messages that tell the model what was wrong.

Pure: no I/O. The loops that send are in `llmkit.output.loop`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

from llmkit.output.modes import OutputSupport
from llmkit.output.schema import adapt, json_schema, wrap
from llmkit.output.validate import Issue, OutputInvalid, convert, drop_unset_nulls, parse_json
from llmkit.types import Message, Response, ToolCall, ToolSpec

__all__ = ["OUTPUT_TOOL", "OutputPlan", "plan_output"]

OUTPUT_TOOL = "final_result"
"""The name of the tool the model calls to answer in `tool` mode."""

# DeepSeek's JSON mode wants the word "json" in the prompt (api-docs.deepseek.com/guides/json_mode)
PROMPT = (
    "Answer with one JSON value that matches this JSON Schema, and nothing else "
    "(only json: no prose, no code fence):\n{schema}"
)


@frozen
class OutputPlan:
    """The decisions for one typed call (see the module docstring)."""

    type: Any
    """The output type (`Person`, `list[Person]`, ...)."""
    support: OutputSupport
    schema: dict[str, Any]
    """The schema as sent (wrapped and adapted)."""
    original: dict[str, Any]
    """The schema before the host's adaptation (wrapped if `wrapped`)."""
    wrapped: bool
    name: str
    """The schema's name, as `response_format` and the output tool carry it."""

    @property
    def mode(self) -> str:
        """`native`, `tool` or `prompted`."""
        return self.support.mode

    def options(self, options: Mapping[str, Any], *, system: str | None) -> dict[str, Any]:
        """`options` (a call's keyword arguments) with the request for this output added.

        Args:
            options: the call's options, without `output` and its companions.
            system: the system prompt the call would otherwise use (the call's
                `system=`, else the conversation's or the client's), which prompted
                mode extends with the schema.
        """
        out = dict(options)
        if self.mode == "native":
            spec: dict[str, Any] = {"name": self.name, "schema": self.schema}
            if self.support.dialect == "openai-strict":
                spec["strict"] = True
            out["response_format"] = {"type": "json_schema", "json_schema": spec}
        elif self.mode == "tool":
            tools = [*(out.get("tools") or ()), self.tool()]
            out["tools"] = tools
            if self.support.forces_tools:
                out["tool_choice"] = "required" if len(tools) > 1 else OUTPUT_TOOL
            else:  # the host cannot force a call: ask for it
                ask = f"When you have the answer, give it by calling the {OUTPUT_TOOL} tool."
                out["system"] = f"{system}\n\n{ask}" if system else ask
        else:
            prompt = PROMPT.format(schema=json.dumps(self.schema, ensure_ascii=False))
            out["system"] = f"{system}\n\n{prompt}" if system else prompt
            if self.support.json_mode:
                out["response_format"] = {"type": "json_object"}
        return out

    def tool(self) -> ToolSpec:
        """The output tool of `tool` mode."""
        return ToolSpec(
            OUTPUT_TOOL,
            "Give the final answer: call this once, with the answer as its arguments.",
            self.schema,
        )

    def output_call(self, response: Response) -> ToolCall | None:
        """The call to the output tool in `response` (tool mode), if any."""
        return next((c for c in response.tool_calls if c.name == OUTPUT_TOOL), None)

    def answered(self, response: Response) -> bool:
        """Whether `response` is the model's final answer (not a turn of other tool calls)."""
        if self.mode == "tool":
            return self.output_call(response) is not None
        return not response.tool_calls

    def raw(self, response: Response) -> str:
        """The answer's JSON text: the reply's text, or the output tool's arguments."""
        if self.mode != "tool":
            return response.text
        call = self.output_call(response)
        if call is None:
            return response.text
        if call.raw_arguments is not None:
            return call.raw_arguments
        return json.dumps(call.arguments, ensure_ascii=False)

    def parse(self, response: Response) -> Any:
        """The answer validated into the output type.

        Raises:
            OutputInvalid: the reply holds no JSON, or JSON that does not match.
        """
        call = self.output_call(response) if self.mode == "tool" else None
        if self.mode == "tool" and call is None:
            raise OutputInvalid(
                [Issue("", f"no answer: call the {OUTPUT_TOOL} tool with the answer")]
            )
        if call is not None and call.raw_arguments is None:
            data: Any = call.arguments
        else:
            data = parse_json(self.raw(response))
        return self.convert(data)

    def convert(self, data: Any) -> Any:
        """Parsed JSON validated into the output type (strict-mode nulls dropped first)."""
        if self.support.dialect == "openai-strict" and self.mode != "prompted":
            data = drop_unset_nulls(data, self.schema, self.original)
        return convert(data, self.type, wrapped=self.wrapped)

    def unwrap(self, partial: Any) -> Any:
        """A partial JSON value as the output type's shape (the wrapper taken off)."""
        if self.wrapped and isinstance(partial, dict):
            return partial.get("response")
        return partial

    def reask(self, response: Response, issues: Sequence[Issue]) -> list[Message]:
        """The turns that send `issues` back: the model's reply, then what was wrong."""
        listed = "\n".join(f"- {issue}" for issue in issues)
        turns = [response.to_message()]
        calls = response.tool_calls
        if self.mode == "tool" and calls:
            text = (
                f"The arguments do not match the schema:\n{listed}\n"
                f"Call {OUTPUT_TOOL} again with corrected arguments."
            )
            for call in calls:
                turns.append(Message.tool(text, tool_call_id=call.id, name=call.name))
            return turns
        again = (
            f"Call {OUTPUT_TOOL} with your answer."
            if self.mode == "tool"
            else "Answer again with corrected JSON only."
        )
        text = f"Your answer does not match the schema:\n{listed}\n{again}"
        return [*turns, Message.user(text)]


def plan_output(tp: Any, support: OutputSupport) -> OutputPlan:
    """The plan for output type `tp` on a host with `support`.

    Raises:
        ConfigurationError: no schema can be written for `tp`, or the host's
            dialect cannot take it (the message says which `output_mode` would).
    """
    original, wrapped = wrap(json_schema(tp))
    schema = adapt(original, support.dialect) if support.mode != "prompted" else original
    name = getattr(tp, "__name__", None) or "output"
    if not isinstance(name, str) or not name.isidentifier():
        name = "output"
    return OutputPlan(tp, support, schema, original, wrapped, name)
