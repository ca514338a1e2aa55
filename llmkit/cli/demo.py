"""`llmkit demo`: the offline tour of llmkit on the fake provider (`_demo_tour.main`)."""

from __future__ import annotations

import argparse
from typing import Any

from llmkit.cli._common import EXIT_OK, add_command

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register `llmkit demo`."""
    parser = add_command(
        subparsers,
        "demo",
        help="a tour of llmkit that runs offline",
        description="Run llmkit's offline demo: clients, streaming, provider switching and "
        "errors, all on the fake provider (no key, no network).",
        examples="  llmkit demo\n",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the tour (`llmkit.cli._demo_tour.main`)."""
    from llmkit.cli._demo_tour import main

    code = main()
    return code if isinstance(code, int) else EXIT_OK
