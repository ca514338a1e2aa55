"""`llmkit providers`: each provider, whether its key is set (never the key), and a health check."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from llmkit.cli._common import EXIT_API, EXIT_OK, add_command, console, load_registry

__all__ = ["add_parser", "key_status", "run"]

EXAMPLES = """\
  llmkit providers                 # which keys are set
  llmkit providers --check         # list models on each host that has a key, with latency
  llmkit providers --check groq fake
"""


def add_parser(subparsers: Any) -> None:
    """Register `llmkit providers`."""
    parser = add_command(
        subparsers,
        "providers",
        help="list providers, whether their keys are set, and check them",
        description="List the configured and built-in providers and whether each has a key "
        "(the key itself is never shown). --check asks each one for its model list and "
        "times it; exit code 1 if a check fails.",
        examples=EXAMPLES,
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these providers")
    parser.add_argument("--check", action="store_true", help="call each host and time it")
    parser.add_argument(
        "--timeout", type=float, default=15.0, metavar="SECONDS", help="per check (default 15)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def key_status(factory: Any, configured_key: str | None, env: Any = None) -> tuple[str, str]:
    """`(status, where)` of a provider's key: `set`/`missing`/`not needed`, and its source.

    Never returns the key.
    """
    env = os.environ if env is None else env
    if configured_key:
        return "set", "config"
    variable = getattr(factory, "api_key_env", None)
    if not getattr(factory, "requires_api_key", True) or (
        variable is None and not hasattr(factory, "api_key")
    ):
        return "not needed", ""
    if variable and env.get(variable):
        return "set", f"${variable}"
    return "missing", f"${variable}" if variable else "api_key"


def _rows(registry: Any, names: list[str]) -> list[dict[str, Any]]:
    from llmkit import registry as registry_module
    from llmkit.errors import ConfigurationError

    rows = []
    for name in names:
        entry = registry.provider_config(name)
        kind = (entry.type if entry else None) or name
        row: dict[str, Any] = {
            "name": name,
            "type": kind,
            "configured": entry is not None,
            "origin": registry_module.provider_origin(kind),
        }
        try:
            factory = registry_module.provider_factory(kind)
        except ConfigurationError as exc:
            row.update(key="error", key_source="", base_url="", error=str(exc))
            rows.append(row)
            continue
        status, source = key_status(factory, entry.api_key if entry else None)
        base_url = (entry.base_url if entry else None) or getattr(factory, "default_base_url", "")
        row.update(key=status, key_source=source, base_url=base_url or "")
        rows.append(row)
    return rows


async def _check(provider: Any, seconds: float) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            models = await provider.list_models()
    except TimeoutError:
        return {"ok": False, "detail": f"no answer in {seconds:g} s"}
    except Exception as exc:  # reported per provider; the others still run
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    elapsed = (time.perf_counter() - start) * 1000
    return {"ok": True, "latency_ms": round(elapsed), "detail": f"{len(models)} models"}


def run(args: argparse.Namespace) -> int:
    """Print the providers, and check them if asked."""
    from llmkit import _sync
    from llmkit.errors import redact

    registry = load_registry(args)
    names = list(args.names) or registry.provider_names()
    rows = _rows(registry, names)
    failed = False
    if args.check:
        targets = [r for r in rows if r["key"] in ("set", "not needed")]

        async def check_all() -> list[dict[str, Any]]:
            checks = []
            for row in targets:
                try:
                    provider = registry.provider(row["name"])
                except Exception as exc:
                    checks.append(_failed(exc))
                    continue
                checks.append(_check(provider, args.timeout))
            return list(await asyncio.gather(*(_as_task(c) for c in checks)))

        for row, result in zip(targets, _sync.run(check_all), strict=True):
            row["check"] = {**result, "detail": redact(str(result["detail"]))}
            failed = failed or not result["ok"]
        for row in rows:
            row.setdefault("check", {"ok": None, "detail": f"skipped: key {row['key']}"})
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        _print(rows, checked=args.check)
    return EXIT_API if failed else EXIT_OK


async def _failed(exc: BaseException) -> dict[str, Any]:
    return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}


async def _as_task(awaitable: Any) -> dict[str, Any]:
    result: dict[str, Any] = await awaitable
    return result


def _print(rows: list[dict[str, Any]], *, checked: bool) -> None:
    from rich.table import Table

    table = Table(show_edge=False)
    for column in ("provider", "type", "key", "from", "base url", *(("check",) if checked else ())):
        table.add_column(column, no_wrap=column != "check")
    styles = {"set": "green", "missing": "red", "not needed": "dim", "error": "red"}
    for row in rows:
        cells = [
            row["name"] + _origin_label(row),
            row["type"],
            f"[{styles.get(row['key'], '')}]{row['key']}[/]",
            row["key_source"],
            row["base_url"],
        ]
        if checked:
            check = row["check"]
            if check["ok"]:
                cells.append(f"[green]ok[/] {check['latency_ms']} ms, {check['detail']}")
            elif check["ok"] is None:
                cells.append(f"[dim]{check['detail']}[/]")
            else:
                cells.append(f"[red]failed[/] {check['detail']}")
        table.add_row(*cells)
    out = console()
    out.print(table)
    for row in rows:  # in full, not squashed into a column
        if row.get("error"):
            out.print(
                f"[red]{row['name']}:[/] {row['error']}",
                markup=True,
                highlight=False,
                soft_wrap=True,
            )


def _origin_label(row: dict[str, Any]) -> str:
    """` (built-in)` or ` (plugin)` after a name the configuration does not declare."""
    if row["configured"]:
        return ""
    origin = row.get("origin")
    return f" ({origin})" if origin in ("built-in", "plugin") else ""
