"""What every command shares: exit codes, loading the registry, stdout/stderr consoles.

Rich is imported here on first use, never at import time: `llmkit --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from llmkit.registry import Registry

EXIT_OK = 0
"""The command did what was asked."""
EXIT_API = 1
"""The host answered with an error, or could not be reached."""
EXIT_USAGE = 2
"""Bad arguments, an unknown name, a broken configuration file, a missing key or SDK."""
EXIT_REFUSED = 3
"""The request was refused before it was sent: it does not fit the model's context
window, or it could cross the client's budget. Nothing was sent, nothing was spent."""
EXIT_INTERRUPTED = 130
"""Ctrl-C."""

EPILOG_EXIT_CODES = (
    "exit codes: 0 ok, 1 API error, 2 usage or configuration error, "
    "3 refused before sending (context window, budget), 130 interrupted"
)


# Python advice in llmkit's messages, and how the command line says the same thing.
_CLI_TERMS = (
    ("Pass `model=` to use a specific id anyway", "Pass -m ID to use a specific id anyway"),
    ("pass `model=`", "pass -m ID"),
    ("Pass `model=`", "Pass -m ID"),
    (
        "pass context_strategy='keep_newest' (or 'drop_middle') to the client",
        "pass --context-strategy keep_newest (or drop_middle)",
    ),
)


def cli_terms(message: str) -> str:
    """`message` with the Python API's advice (`model=`) put in the CLI's terms (`-m ID`)."""
    for python, cli in _CLI_TERMS:
        message = message.replace(python, cli)
    return message


def add_command(
    subparsers: Any, name: str, *, help: str, description: str, examples: str
) -> argparse.ArgumentParser:
    """A subcommand parser whose `--help` ends with examples and the exit codes."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        epilog=f"examples:\n{examples.rstrip()}\n\n{EPILOG_EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def load_registry(args: argparse.Namespace) -> Registry:
    """The registry of the configuration the global options point at (or none found).

    Configuration warnings (unknown keys) go to stderr, one line each.
    """
    from llmkit.registry import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = load(getattr(args, "config", None), name=getattr(args, "profile", None))
    for warning in caught:
        note(f"warning: {warning.message}")
    return registry


def note(text: str) -> None:
    """One line for the user on stderr (never on stdout, which holds only results)."""
    print(text, file=sys.stderr, flush=True)


def console(file: TextIO | None = None, *, stderr: bool = False) -> Any:
    """A `rich.console.Console` on stdout (or stderr), colour only on a terminal."""
    from llmkit._imports import require

    rich_console = require("rich.console", extra="cli")
    target = file or (sys.stderr if stderr else sys.stdout)
    # Piped tables keep their full width instead of being cut to 80 columns.
    width = None if is_tty(target) else 200
    return rich_console.Console(file=target, highlight=False, soft_wrap=False, width=width)


def is_tty(stream: TextIO) -> bool:
    """Whether `stream` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def provider_label(registry: Registry, client: Any, reported: str | None = None) -> str:
    """The configured name of the provider that served (`reported`) or serves `client`.

    Providers report their type's name (`openai-compatible`); the user knows the
    name their configuration gave it (`local`).
    """
    providers = [client.provider, *getattr(client, "fallbacks", ())]
    for provider in providers:
        if reported is None or provider.name == reported:
            return registry.name_of(provider)
    return reported or "?"
