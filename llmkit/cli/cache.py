"""`llmkit cache stats | clear`: the response cache's counts, or empty it."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from llmkit.cli._common import EXIT_OK, add_command, note

__all__ = ["add_parser", "default_spec", "run"]

EXAMPLES = """\
  llmkit cache stats                                  # ~/.cache/llmkit/cache.db
  llmkit cache stats --cache redis://localhost:6379/0 --json
  LLMKIT_CACHE=./responses.db llmkit cache clear
"""


def default_spec() -> str:
    """`$LLMKIT_CACHE`, else `cache.db` in llmkit's cache folder."""
    from llmkit.catalog import cache_dir

    return os.environ.get("LLMKIT_CACHE") or str(cache_dir() / "cache.db")


def add_parser(subparsers: Any) -> None:
    """Register `llmkit cache`."""
    parser = add_command(
        subparsers,
        "cache",
        help="show or clear the response cache",
        description="Entries, bytes, hits and misses of a response cache (a SQLite file, "
        "or a Redis server shared by every process), or remove every entry.",
        examples=EXAMPLES,
    )
    parser.add_argument("action", choices=("stats", "clear"))
    parser.add_argument(
        "--cache", metavar="SPEC", help="a file, or redis://... (default: $LLMKIT_CACHE or "
        "~/.cache/llmkit/cache.db)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the stats or clear; returns the exit code."""
    from llmkit import _sync
    from llmkit.cache import open_cache

    cache = open_cache(args.cache or default_spec())
    if args.action == "clear":
        removed = _sync.run(cache.clear)
        note(f"removed {removed} entries")
        return EXIT_OK
    stats = _sync.run(cache.stats)
    data = {
        "backend": stats.backend, "where": stats.where, "entries": stats.entries,
        "bytes": stats.bytes, "hits": stats.hits, "misses": stats.misses,
        "hit_rate": stats.hit_rate,
    }  # fmt: skip
    if args.json:
        print(json.dumps(data))
    else:
        rate = "-" if stats.hit_rate is None else f"{stats.hit_rate:.1%}"
        print(f"{stats.backend} cache at {stats.where}")
        print(f"  entries  {stats.entries}\n  bytes    {stats.bytes}")
        print(f"  hits     {stats.hits}\n  misses   {stats.misses}\n  hit rate {rate}")
    return EXIT_OK
