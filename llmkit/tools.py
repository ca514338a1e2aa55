"""Tools from Python functions: their specs, their argument checks, and running them.

    def get_weather(city: str, unit: Literal["C", "F"] = "C") -> dict[str, float]:
        '''The current temperature in a city.

        Args:
            city: the city's name, in English.
            unit: Celsius or Fahrenheit.
        '''

    reply = await client.run("Is it warm in Oslo?", tools=[get_weather])

A function becomes a `Tool` (a `ToolSpec` that can be called): its name, the
docstring's description, and a parameter schema written from the signature by
the same generator as `output=` (`llmkit.output.schema`), each parameter
described from the docstring's Google (`Args:`), NumPy (`Parameters`) or
Sphinx (`:param x:`) section. Arguments from the model are validated and
converted to the annotated types before the call (`Person` arrives as a
`Person`); a failure, or an exception from the tool, becomes the tool's
result, so the model can correct itself. Sync functions run in a worker
thread, async ones on the loop; `call_tools` runs a turn's calls concurrently.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Annotated, Any

import anyio
from attrs import field, frozen

from llmkit.errors import ConfigurationError
from llmkit.output.schema import is_pydantic_model, json_schema
from llmkit.output.validate import OutputInvalid, convert, format_issues
from llmkit.types import Message, ToolCall, ToolSpec

__all__ = [
    "Tool",
    "as_tool_specs",
    "as_tools",
    "call_tool",
    "call_tools",
    "parse_docstring",
    "tool_from_function",
]


@frozen
class Tool(ToolSpec):
    """A `ToolSpec` with the function that answers it (`ToolSpec.from_function` makes one)."""

    function: Callable[..., Any] = field(kw_only=True, eq=False, repr=False)
    """The Python function, sync or async."""
    arguments_type: Any = field(kw_only=True, default=None, eq=False, repr=False)
    """The type the model's arguments are validated into (a dataclass or pydantic model)."""

    def spec(self) -> ToolSpec:
        """The plain `ToolSpec`, as a `Request` carries it."""
        return ToolSpec(self.name, self.description, self.parameters)


# -- docstrings ---------------------------------------------------------------------

_GOOGLE_ARGS = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Kwargs):\s*$")
_GOOGLE_SECTION = re.compile(
    r"^(Returns|Return|Yields|Raises|Examples?|Notes?|Attributes|See Also|Warnings?|Todo"
    r"|References|Other Parameters):\s*$"
)
_GOOGLE_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_RULE = re.compile(r"^-{3,}\s*$")
_NUMPY_ITEM = re.compile(r"^(\w+)\s*(?::.*)?$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SPHINX_FIELD = re.compile(r"^:\w+")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """A docstring's description and its per-parameter docs (Google, NumPy or Sphinx).

    Returns:
        The text before the first section, and parameter name → its doc, each
        continuation line joined with a space.
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    params: dict[str, list[str]] = {}
    description: list[str] = []
    current: list[str] | None = None
    section = "description"
    indent = 0
    for index, line in enumerate(lines):
        stripped = line.strip()
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _NUMPY_RULE.match(following) and stripped and not line.startswith(" "):
            section = "numpy-params" if stripped in ("Parameters", "Other Parameters") else "other"
            current = None
            continue
        if _NUMPY_RULE.match(stripped):
            continue
        if not line.startswith(" ") and _GOOGLE_ARGS.match(stripped):
            section, current = "google-params", None
            continue
        if not line.startswith(" ") and _GOOGLE_SECTION.match(stripped):
            section, current = "other", None
            continue
        if match := _SPHINX_PARAM.match(stripped):
            section = "sphinx"
            current = params.setdefault(match.group(1), [])
            current.append(match.group(2))
            continue
        if _SPHINX_FIELD.match(stripped):
            section, current = "other", None
            continue
        if section == "description":
            description.append(line)
        elif section == "google-params":
            depth = len(line) - len(line.lstrip())
            match = _GOOGLE_ITEM.match(stripped)
            if match and (current is None or depth <= indent):
                indent = depth
                current = params.setdefault(match.group(1), [])
                current.append(match.group(2))
            elif current is not None and stripped:
                current.append(stripped)
        elif section == "numpy-params":
            match = _NUMPY_ITEM.match(stripped)
            if match and not line.startswith(" "):
                current = params.setdefault(match.group(1), [])
            elif current is not None and stripped:
                current.append(stripped)
        elif section == "sphinx" and current is not None and line.startswith(" ") and stripped:
            current.append(stripped)
    text = "\n".join(description).strip()
    return text, {name: " ".join(p for p in parts if p) for name, parts in params.items()}


# -- functions to tools -------------------------------------------------------------


def tool_from_function(
    function: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> Tool:
    """A `Tool` for `function`: name, description and parameter schema from its signature
    and docstring.

    Raises:
        ConfigurationError: `*args`/`**kwargs`, annotations that cannot be resolved,
            or a parameter type no schema can be written for.
    """
    label = name or getattr(function, "__name__", None) or type(function).__name__
    try:
        signature = inspect.signature(function)
        hints = typing.get_type_hints(function, include_extras=True)
    except (NameError, TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot read the signature of tool {label!r}: {exc}; annotate its parameters "
            "with types importable where the function is defined"
        ) from exc
    summary, docs = parse_docstring(inspect.getdoc(function))
    fields: list[tuple[str, Any, Any]] = []
    pydantic = False
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigurationError(
                f"tool {label!r} takes *{param.name}: a tool's parameters must be named, "
                "so the model knows what to send"
            )
        annotation = hints.get(param.name, Any)
        pydantic = pydantic or is_pydantic_model(annotation)
        fields.append((param.name, annotation, param.default))
    arguments = (_pydantic_arguments if pydantic else _dataclass_arguments)(label, fields, docs)
    schema = json_schema(arguments)
    schema.pop("title", None)
    schema.pop("description", None)
    schema.setdefault("properties", {})
    return Tool(
        label,
        summary if description is None else description,
        schema,
        function=function,
        arguments_type=arguments,
    )


def _dataclass_arguments(
    name: str, fields: list[tuple[str, Any, Any]], docs: Mapping[str, str]
) -> Any:
    import msgspec

    specs: list[Any] = []
    for param, annotation, default in fields:
        if param in docs:
            annotation = Annotated[annotation, msgspec.Meta(description=docs[param])]
        if default is inspect.Parameter.empty:
            specs.append((param, annotation))
        elif isinstance(default, _IMMUTABLE):
            specs.append((param, annotation, dataclasses.field(default=default)))
        else:
            specs.append(
                (param, annotation, dataclasses.field(default_factory=partial(_copy, default)))
            )
    return dataclasses.make_dataclass(f"{_camel(name)}Arguments", specs, kw_only=True)


def _pydantic_arguments(
    name: str, fields: list[tuple[str, Any, Any]], docs: Mapping[str, str]
) -> Any:
    import pydantic

    definitions: dict[str, Any] = {}
    for param, annotation, default in fields:
        value = ... if default is inspect.Parameter.empty else default
        definitions[param] = (annotation, pydantic.Field(value, description=docs.get(param)))
    return pydantic.create_model(f"{_camel(name)}Arguments", **definitions)


_IMMUTABLE = (str, int, float, bool, type(None), bytes, tuple, frozenset, enum.Enum)


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\W]+", name) if part)


def as_tools(tools: Iterable[Any]) -> list[Tool]:
    """The tools of a `run`: functions become `Tool`s; a bare `ToolSpec` cannot be run.

    Raises:
        ConfigurationError: a `ToolSpec` with no function, something not callable,
            or two tools with one name.
    """
    out: list[Tool] = []
    for tool in tools:
        if isinstance(tool, Tool):
            out.append(tool)
        elif isinstance(tool, ToolSpec):
            raise ConfigurationError(
                f"tool {tool.name!r} is a ToolSpec without a function, so run() cannot call "
                "it; pass the function itself or ToolSpec.from_function(fn)"
            )
        elif callable(tool):
            out.append(tool_from_function(tool))
        else:
            raise ConfigurationError(
                f"a tool is a function or a ToolSpec, not {type(tool).__name__}"
            )
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"two tools share a name: {sorted(names)}; pass name= to one")
    return out


def as_tool_specs(tools: Iterable[Any] | None) -> tuple[ToolSpec, ...]:
    """`tools` as plain `ToolSpec`s for a `Request` (functions described, never carried)."""
    out: list[ToolSpec] = []
    for tool in tools or ():
        if isinstance(tool, Tool):
            out.append(tool.spec())
        elif isinstance(tool, ToolSpec):
            out.append(tool)
        elif callable(tool):
            out.append(tool_from_function(tool).spec())
        else:
            raise ConfigurationError(
                f"a tool is a function or a ToolSpec, not {type(tool).__name__}"
            )
    return tuple(out)


# -- calling ------------------------------------------------------------------------


async def call_tool(tool: Tool | None, call: ToolCall, *, available: Sequence[str] = ()) -> Message:
    """Run one call and return the tool turn answering it: the result, or what went wrong
    (unknown tool, invalid arguments, the exception the tool raised)."""
    if tool is None:
        text = (
            f"Error: there is no tool named {call.name!r}; the tools are: {', '.join(available)}."
        )
        return Message.tool(text, tool_call_id=call.id, name=call.name)
    try:
        kwargs = _arguments(tool, call)
    except OutputInvalid as exc:
        text = (
            f"Error: invalid arguments for {tool.name}:\n{format_issues(exc.issues)}\n"
            "Call it again with corrected arguments."
        )
        return Message.tool(text, tool_call_id=call.id, name=call.name)
    try:
        if inspect.iscoroutinefunction(tool.function):
            result = await tool.function(**kwargs)
        else:
            result = await anyio.to_thread.run_sync(partial(tool.function, **kwargs))
            if inspect.isawaitable(result):
                result = await result
    except Exception as exc:  # the model may recover: the error is the tool's result
        return Message.tool(
            f"Error: {type(exc).__name__}: {exc}", tool_call_id=call.id, name=call.name
        )
    return Message.tool(_result_text(result), tool_call_id=call.id, name=call.name)


def _arguments(tool: Tool, call: ToolCall) -> dict[str, Any]:
    if call.raw_arguments is not None:
        from llmkit.output.validate import Issue

        raise OutputInvalid(
            [Issue("", f"the arguments are not a JSON object: {call.raw_arguments[:200]}")]
        )
    if tool.arguments_type is None:
        return dict(call.arguments)
    value = convert(dict(call.arguments), tool.arguments_type)
    if is_pydantic_model(tool.arguments_type):
        return {name: getattr(value, name) for name in type(value).model_fields}
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


def _result_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    if is_pydantic_model(type(result)):
        return str(result.model_dump_json())
    import msgspec

    try:
        return msgspec.json.encode(result).decode("utf-8")
    except (TypeError, ValueError):
        return json.dumps(result, default=str, ensure_ascii=False)


async def call_tools(tools: Sequence[Tool], calls: Sequence[ToolCall]) -> list[Message]:
    """Run a turn's calls concurrently; the tool turns come back in the calls' order."""
    by_name = {tool.name: tool for tool in tools}
    names = sorted(by_name)
    results: list[Message | None] = [None] * len(calls)

    async def one(index: int, call: ToolCall) -> None:
        results[index] = await call_tool(by_name.get(call.name), call, available=names)

    async with anyio.create_task_group() as group:
        for index, call in enumerate(calls):
            group.start_soon(one, index, call)
    return [r for r in results if r is not None]
