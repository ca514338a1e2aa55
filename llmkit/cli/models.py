"""`llmkit models`: the catalog as a table, and a host's live model list where it has one."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from llmkit.cli._common import EXIT_OK, add_command, console, load_registry

__all__ = ["add_parser", "catalog_rows", "run"]

EXAMPLES = """\
  llmkit models                          # every model the catalog says is served today
  llmkit models --provider openrouter    # what OpenRouter serves, with prices
  llmkit models --family deepseek --all  # retired ones too
  llmkit models --provider openai --live # ask the host (needs its key)
  llmkit models --json | jq '.[] | select(.family == "claude")'
"""

COLUMNS = ("family", "model", "provider", "id", "context", "in $/M", "out $/M", "status")


def add_parser(subparsers: Any) -> None:
    """Register `llmkit models`."""
    parser = add_command(
        subparsers,
        "models",
        help="list models: the catalog, and live lists from hosts",
        description="List the models llmkit's catalog knows (context window, prices per "
        "million tokens, which client family), and with --live the host's own list.",
        examples=EXAMPLES,
    )
    parser.add_argument("--provider", "-p", help="only this provider")
    parser.add_argument("--family", "-f", help="only this model family (client)")
    parser.add_argument("--all", action="store_true", help="include retired models")
    parser.add_argument(
        "--live", action="store_true", help="also ask the provider for its list (needs a key)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _price(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def catalog_rows(
    entries: list[Any], *, today: dt.date, include_retired: bool
) -> list[dict[str, Any]]:
    """Table rows for catalog entries (pure: the tests feed it entries)."""
    rows = []
    for entry in entries:
        served = entry.served_on(today)
        if not served and not include_retired:
            continue
        prices = entry.prices
        rows.append(
            {
                "family": entry.family,
                "model": entry.model,
                "provider": entry.provider,
                "id": entry.id,
                "context": entry.context_window,
                "in $/M": prices.input if prices else None,
                "out $/M": prices.output if prices else None,
                "status": "served" if served else entry.retirement(),
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    """Print the table."""
    from llmkit.catalog import default_catalog

    catalog = default_catalog()
    provider_type = args.provider
    registry = None
    if args.family:
        _check_name("model family", args.family, catalog.families())
    if args.provider:
        registry = load_registry(args)
        hosts = {entry.provider for entry in catalog.entries()}
        _check_name("provider", args.provider, [*registry.provider_names(), *sorted(hosts)])
        entry = registry.provider_config(args.provider)
        provider_type = (entry.type if entry else None) or args.provider
    rows = catalog_rows(
        catalog.entries(args.family, provider_type),
        today=dt.date.today(),
        include_retired=args.all,
    )
    live: list[Any] = []
    if args.live:
        from llmkit import _sync
        from llmkit.errors import ConfigurationError

        if registry is None or not args.provider:
            raise ConfigurationError("--live needs --provider NAME")
        live = _sync.run(registry.provider(args.provider).list_models)
    if args.json:
        document: Any = rows
        if args.live:
            document = {"catalog": rows, "live": [_live_row(m) for m in live]}
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
        return EXIT_OK
    _print_table("catalog", COLUMNS, [[_cell(row[c]) for c in COLUMNS] for row in rows])
    if args.live:
        known = {row["id"] for row in rows}
        live_rows = [
            [m.id, _cell(m.context_window), m.shutdown_date or "", "yes" if m.id in known else ""]
            for m in live
        ]
        _print_table(
            f"live from {args.provider}", ("id", "context", "shutdown", "in catalog"), live_rows
        )
    return EXIT_OK


def _check_name(kind: str, name: str, known: list[str]) -> None:
    """Refuse a name that is neither known nor in the catalog (an empty table would say
    nothing of the typo), with the closest known one.

    Raises:
        ConfigurationError: `name` is not in `known` (exit code 2).
    """
    from llmkit._hints import did_you_mean
    from llmkit.errors import ConfigurationError

    choices = list(dict.fromkeys(known))
    if name not in choices:
        raise ConfigurationError(
            f"'{name}' is not a {kind}{did_you_mean(name, choices)}; known: {', '.join(choices)}"
        )


def _live_row(model: Any) -> dict[str, Any]:
    return {
        "id": model.id,
        "context": model.context_window,
        "shutdown_date": model.shutdown_date,
        "owned_by": model.owned_by,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return _price(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _print_table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False)
    for column in columns:
        numeric = column in ("context", "in $/M", "out $/M")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    out = console()
    out.print(table)
    if not rows:
        out.print("(no models)", style="dim")
