"""`llmkit config validate|show|init|path`: write, check and inspect configuration files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmkit.cli._common import EXIT_OK, EXIT_USAGE, add_command, note
from llmkit.errors import ConfigurationError

if TYPE_CHECKING:
    from llmkit.config import Validation

__all__ = ["TEMPLATE", "add_parser", "run", "template"]

EXAMPLES = """\
  llmkit config init                     # write ./llmkit.yaml, a commented example
  llmkit config validate                 # every problem, with its path
  llmkit config validate team.yaml
  llmkit config show                     # resolved, secrets masked
  llmkit config path                     # which file llmkit would read, and where it looks
"""

TEMPLATE = """\
# llmkit configuration. Reference: docs/configuration.md
# Check it with `llmkit config validate`; see it resolved with `llmkit config show`.
# Values may read the environment: ${VAR}, or ${VAR:-default} when it may be unset.
version: 1

# The client `llmkit chat` and `llmkit run` use when none is named.
default_client: demo

providers:
  # The offline fake provider: replies name the model asked; no key, no network.
  fake: {}

  # A host: its key comes from its usual variable (GROQ_API_KEY) unless api_key says.
  groq:
    # api_key: ${MY_GROQ_KEY}
    timeout: 60                 # seconds for one attempt
    retry:
      max_attempts: 3           # 1 turns retries off
      max_delay: 8
    rate_limit:
      requests_per_minute: 30
      tokens_per_minute: 6000

  openrouter:
    timeout:                    # or a limit per phase
      connect: 10
      first_token: 60
      total: 300

  deepseek: {}

  # Any OpenAI-compatible server (vLLM, LM Studio, llama.cpp):
  # local:
  #   type: openai_compatible
  #   base_url: http://localhost:8000/v1
  #   api_key: ${LOCAL_API_KEY:-none}

clients:
  # `llmkit chat demo` works offline; `/provider openrouter` in the chat switches host.
  demo:
    family: deepseek
    provider: fake

  coder:
    family: deepseek            # @FAMILIES@
    provider: deepseek
    fallbacks: [openrouter]     # tried in order when deepseek fails
    defaults:
      temperature: 0.2
      max_tokens: 2000
    budget:
      limit_usd: 5
      on_exceed: raise          # or warn

  writer:
    family: claude
    provider: openrouter
    # model: @WRITER_MODEL@  # default: the newest the provider serves (this one today)
    defaults:
      system: You are a careful, concise editor.
"""


def template() -> str:
    """`TEMPLATE` with today's facts filled in: the model families, and the model the
    catalog picks for the `writer` client (so the file never names a stale default)."""
    from llmkit import catalog, registry

    families = [name for name in registry.client_names() if name != "fake"]
    writer = catalog.resolve("claude", "openrouter").model
    return TEMPLATE.replace("@FAMILIES@", ", ".join(families)).replace("@WRITER_MODEL@", writer)


def add_parser(subparsers: Any) -> None:
    """Register `llmkit config` and its subcommands."""
    parser = add_command(
        subparsers,
        "config",
        help="write, check and show configuration files",
        description="Write, check and show llmkit configuration files.",
        examples=EXAMPLES,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for name, text in (
        ("validate", "check a file and print every problem (exit 2 if any)"),
        ("show", "print the resolved configuration, secrets masked"),
        ("path", "print the file llmkit would read, and where it looks"),
    ):
        sub = actions.add_parser(
            name,
            help=text,
            description=text,
            epilog=f"examples:\n  llmkit config {name}\n  llmkit config {name} team.yaml",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("file", nargs="?", help="the file (default: the one llmkit finds)")
    init = actions.add_parser(
        "init",
        help="write a commented example",
        description="Write a commented example that validates as written.",
        epilog="examples:\n  llmkit config init\n  llmkit config init ~/.config/llmkit/work.yaml"
        "\n  llmkit config init - | less",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument(
        "file",
        nargs="?",
        default="llmkit.yaml",
        help="where (default: ./llmkit.yaml; - for stdout)",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the action."""
    action: int = {
        "validate": _validate,
        "show": _show,
        "path": _path,
        "init": _init,
    }[args.action](args)
    return action


def _file(args: argparse.Namespace) -> Path:
    from llmkit import config

    given = args.file or getattr(args, "config", None)
    found = config.find(given, name=getattr(args, "profile", None))
    if found is None:
        places = "\n  ".join(str(p) for p in config.search_path(given))
        raise ConfigurationError(
            f"No configuration file found; looked in:\n  {places}\n"
            "Write one with: llmkit config init"
        )
    return found


def _read(file: Path) -> Validation:
    """`config.read(file)`, its provider types and model families checked against the registry."""
    from llmkit import config, registry

    return config.read(
        file, provider_types=registry.provider_names(), families=registry.client_names()
    )


def _plural(count: int, word: str) -> str:
    """`1 provider`, `3 providers`."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def _validate(args: argparse.Namespace) -> int:

    file = _file(args)
    result = _read(file)
    for warning in result.warnings:
        print(f"warning: {warning}")
    for problem in result.problems:
        print(f"error: {problem}")
    if result.problems:
        count = len(result.problems)
        note(f"{file}: {count} problem{'s' if count != 1 else ''}")
        return EXIT_USAGE
    assert result.config is not None
    counts = (
        _plural(len(result.config.providers), "provider"),
        _plural(len(result.config.clients), "client"),
    )
    print(f"{file}: ok ({counts[0]}, {counts[1]})")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from llmkit._imports import require

    yaml = require("yaml", extra="cli")
    file = _file(args)
    result = _read(file)
    if not result.ok:
        for problem in result.problems:
            note(f"error: {problem}")
        return EXIT_USAGE
    assert result.config is not None
    data = shown(result.config)
    sys.stdout.write(f"# {file} (resolved; secrets masked)\n")
    sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return EXIT_OK


def shown(cfg: Any) -> dict[str, Any]:
    """A configuration as plain data, settings left at their default omitted, and where
    each provider's key comes from (never the key)."""
    import attrs

    from llmkit import registry

    def is_default(value: Any, attribute: Any) -> bool:
        default = attribute.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        return bool(value == default)

    def plain(value: Any) -> Any:
        if attrs.has(type(value)):
            return {
                a.name: plain(getattr(value, a.name))
                for a in attrs.fields(type(value))
                if a.name != "source" and not is_default(getattr(value, a.name), a)
            }
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    from llmkit.config import masked

    data: dict[str, Any] = masked(plain(cfg))
    for name, entry in cfg.providers.items():
        if entry.api_key:
            continue
        try:
            factory = registry.provider_factory(entry.type or name)
        except ConfigurationError:
            continue
        env = getattr(factory, "api_key_env", None)
        if env:
            state = "set" if os.environ.get(env) else "not set"
            data["providers"][name]["api_key"] = f"<from ${env}: {state}>"
    return data


def _path(args: argparse.Namespace) -> int:
    from llmkit import config

    given = args.file or getattr(args, "config", None)
    found = config.find(given, name=getattr(args, "profile", None))
    print(found if found is not None else "(none found)")
    note("looked in, in order:\n  " + "\n  ".join(str(p) for p in config.search_path(given)))
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    if args.file == "-":
        sys.stdout.write(template())
        return EXIT_OK
    path = Path(args.file).expanduser()
    if path.exists() and not args.force:
        raise ConfigurationError(f"{path} exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template(), encoding="utf-8")
    note(f"wrote {path}; check it with: llmkit config validate {path}")
    return EXIT_OK
