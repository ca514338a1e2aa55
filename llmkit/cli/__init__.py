"""The `llmkit` command line: chat, run, models, providers, config, demo, bench.

One module per command, each with `add_parser(subparsers)` (which sets `func`) and
`run(args) -> int`. `main` parses, dispatches and turns errors into one line on
stderr and an exit code scripts can rely on:

    0    ok
    1    the host answered with an error or could not be reached (`LLMError`)
    2    usage or configuration error (bad arguments, unknown name, broken file, missing key;
         also when every provider of a fallback chain failed for such a reason)
    3    the request was refused before it was sent: it does not fit the context window,
         or it could cross the budget (nothing was sent or spent)
    130  interrupted (Ctrl-C)

Error messages are said in the CLI's terms (`-m ID`, `--context-strategy`), not
the Python API's (`model=`, `context_strategy=`): see `cli_terms`.

`--debug` adds the traceback. The CLI sits above every other layer: it imports
llmkit, and nothing in llmkit imports it.

Adding a command (how `bench` plugs in): a module with `add_parser(subparsers)` that
calls `subparsers.add_parser(...)` and `set_defaults(func=run)` with `run(args) -> int`,
listed in `COMMANDS` below. A module that is missing (not yet installed) is skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
from collections.abc import Sequence
from typing import Any

from llmkit.cli._common import (
    EPILOG_EXIT_CODES,
    EXIT_API,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    cli_terms,
    note,
)

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = (
    "llmkit.cli.chat",
    "llmkit.cli.run",
    "llmkit.cli.models",
    "llmkit.cli.providers",
    "llmkit.cli.config_cmd",
    "llmkit.cli.demo",
    "llmkit.cli.embed",
    "llmkit.cli.cache",
    "llmkit.cli.batch_cmd",
    "llmkit.cli.serve",
    "llmkit.bench.cli",
)
"""Modules that each add one subcommand, in `--help` order. `llmkit.bench.cli` is H7's."""

_EXAMPLES = """examples:
  llmkit run deepseek@fake "Say hi"          # offline, no key needed
  echo "Explain SSE" | llmkit run coder       # a client named in llmkit.yaml
  llmkit chat claude@openrouter               # interactive; /provider anthropic to switch
  llmkit config init && llmkit config validate
"""


def _global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "-c", "--config", metavar="PATH", default=default,
        help="configuration file or folder (default: $LLMKIT_CONFIG, ./llmkit.yaml, "
        "~/.config/llmkit/config.yaml)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", metavar="NAME", default=default,
        help="a named configuration in the folder (NAME.yaml; default: $LLMKIT_PROFILE)",
    )  # fmt: skip
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks on errors"
    )


def build_parser() -> argparse.ArgumentParser:
    """The `llmkit` parser with every available subcommand."""
    from llmkit import __version__

    parser = argparse.ArgumentParser(
        prog="llmkit",
        description="Model clients over swappable LLM hosts, from the command line.",
        epilog=f"{_EXAMPLES}\n{EPILOG_EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"llmkit {__version__}")
    _global_options(parser, default=None)
    # The same options after the subcommand (`llmkit run --debug ...`), not overriding
    # what was given before it.
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, default=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue  # a command that is not installed (yet)
            raise
        module.add_parser(_WithParents(subparsers, common))
    return parser


class _WithParents:
    """Wraps `subparsers` so that every command also takes the global options."""

    def __init__(self, subparsers: Any, common: argparse.ArgumentParser) -> None:
        self._subparsers = subparsers
        self._common = common

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parents = [*kwargs.pop("parents", []), self._common]
        parser: argparse.ArgumentParser = self._subparsers.add_parser(
            name, parents=parents, **kwargs
        )
        return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `llmkit` command line with `argv` (default: `sys.argv[1:]`); the exit code.

    Ctrl-C anywhere (even while the commands load) exits with 130 and one
    `interrupted` line, never a traceback; a second Ctrl-C while it winds down is
    ignored.
    """
    if argv is None:  # the process's own entry point
        sys.unraisablehook = _quiet_interrupts(sys.unraisablehook)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return _interrupted(process=argv is None)


def _interrupted(*, process: bool) -> int:
    """Say `interrupted`; as the process's own entry point (`argv` None), ignore Ctrl-C
    from here to the exit, so a second one cannot end it with a traceback."""
    if process:
        with contextlib.suppress(ValueError):  # ValueError: not the main thread
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    note("interrupted")
    return EXIT_INTERRUPTED


def _quiet_interrupts(hook: Any) -> Any:
    """`hook`, except for a `KeyboardInterrupt` raised inside a finalizer.

    A second Ctrl-C that lands while the first one unwinds (before `_interrupted`
    ignores Ctrl-C) can interrupt an object's `__del__` or a generator's close, which
    Python reports as "Exception ignored in: ... Traceback ... KeyboardInterrupt"
    on stderr. The process is already exiting with 130: say nothing more.
    """

    def quiet(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            return
        hook(unraisable)

    return quiet


def _main(argv: Sequence[str] | None) -> int:
    from llmkit.errors import LLMError

    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # words after options (`run x --max-tokens 5 more words`) join the prompt
            if not hasattr(args, "words") or any(e.startswith("-") for e in extra):
                parser.error(f"unrecognized arguments: {' '.join(extra)}")
            args.words = [*args.words, *extra]
    except SystemExit as exc:  # --help, --version, or a usage error (argparse printed it)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    debug = bool(getattr(args, "debug", False))
    try:
        code: int = args.func(args)
        return code
    except BrokenPipeError:  # `llmkit run ... | head`: the reader left; not an error
        _silence_stdout()
        return EXIT_OK
    except LLMError as exc:
        _report(exc, debug)
        return exit_code(exc)


def exit_code(error: BaseException) -> int:
    """The exit code of an llmkit error (see the module docstring)."""
    from llmkit.errors import BudgetExceededError, ConfigurationError, ContextLengthExceededError
    from llmkit.fallback import AllProvidersFailedError

    if isinstance(error, AllProvidersFailedError):
        codes = {exit_code(e) for e in error.errors}
        return codes.pop() if len(codes) == 1 else EXIT_API
    if isinstance(error, ConfigurationError):
        return EXIT_USAGE
    if isinstance(error, BudgetExceededError):
        return EXIT_REFUSED
    if isinstance(error, ContextLengthExceededError) and error.status_code is None:
        return EXIT_REFUSED  # llmkit's own check, before sending (the host's is a 400: sent)
    return EXIT_API


def _report(exc: BaseException, debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    from llmkit.config import hide_secrets

    note(f"error: {cli_terms(hide_secrets(str(exc)))}")


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
