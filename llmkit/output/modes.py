"""Which structured-output mode a (host, model) supports, from the catalog's data.

The catalog's `structured_output` section says, per host, the mode that works
(`native`: the host's own schema parameter; `tool`: one forced tool call;
`prompted`: the schema in the prompt, plus JSON mode where the host has one),
the schema dialect the host takes (see `llmkit.output.schema.adapt`), whether
the host enforces the schema, and per-model exceptions keyed by id prefix:

    "anthropic": {"mode": "native", "dialect": "anthropic", "enforced": true,
                  "models": {"claude-3": {"mode": "tool"}}}

llmkit validates every reply on the client whatever the host promises; `enforced`
only documents it (and `llmkit models` can show it). Pure: takes the catalog data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from attrs import evolve, frozen

from llmkit.errors import ConfigurationError

__all__ = ["MODES", "Mode", "OutputSupport", "support_for"]

Mode = Literal["native", "tool", "prompted"]
MODES: tuple[Mode, ...] = ("native", "tool", "prompted")


@frozen
class OutputSupport:
    """How to ask one (host, model) for structured output."""

    mode: Mode = "prompted"
    dialect: str = "json-schema"
    """The schema dialect the host's native parameter and tools take."""
    enforced: bool = False
    """Whether the host constrains decoding to the schema (llmkit validates anyway)."""
    json_mode: bool = True
    """Whether the host has a JSON mode (`response_format: json_object`) for `prompted`."""
    native_with_tools: bool = True
    """Whether `native` mode works alongside function tools; if not, `run` with tools
    answers through the output tool instead (unless `output_mode=` says otherwise)."""
    forces_tools: bool = True
    """Whether the host can force a tool call (`tool_choice`); if not, `tool` mode asks in
    the system prompt instead."""
    note: str | None = None


_UNKNOWN_HOST = OutputSupport(mode="prompted", dialect="json-schema", enforced=False)


def support_for(
    data: Mapping[str, Any],
    provider: str,
    model: str,
    *,
    override: str | None = None,
    with_tools: bool = False,
) -> OutputSupport:
    """The structured-output support of `model` on `provider`, with `override` as its mode.

    Args:
        data: the catalog document (`Catalog.data`).
        provider: the provider's name.
        model: the host's model id.
        override: `output_mode=` from the call (`native`, `tool`, `prompted`), or None.
        with_tools: the call also offers function tools (`client.run`).

    Raises:
        ConfigurationError: an unknown `override`.
    """
    if override is not None and override not in MODES:
        raise ConfigurationError(f"output_mode must be one of {', '.join(MODES)}, not {override!r}")
    hosts = (data.get("structured_output") or {}).get("hosts") or {}
    host = hosts.get(provider)
    support = _UNKNOWN_HOST if host is None else _support(host)
    if host is not None:
        for prefix, fields in sorted(
            (host.get("models") or {}).items(), key=lambda kv: -len(kv[0])
        ):
            if model.startswith(prefix) or model.split("/")[-1].startswith(prefix):
                support = _support({**host, **fields})
                break
    if override is not None:
        support = evolve(support, mode=override)
    elif with_tools and support.mode == "native" and not support.native_with_tools:
        support = evolve(support, mode="tool")
    return support


def _support(fields: Mapping[str, Any]) -> OutputSupport:
    mode = fields.get("mode", "prompted")
    if mode not in MODES:
        raise ConfigurationError(
            f"catalog structured_output mode {mode!r} is not one of {', '.join(MODES)}"
        )
    return OutputSupport(
        mode=mode,
        dialect=fields.get("dialect", "json-schema"),
        enforced=bool(fields.get("enforced", False)),
        json_mode=bool(fields.get("json_mode", True)),
        forces_tools=bool(fields.get("forces_tools", True)),
        native_with_tools=bool(fields.get("native_with_tools", True)),
        note=fields.get("note"),
    )
