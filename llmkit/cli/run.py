"""`llmkit run`: one prompt, one reply on stdout; made for scripts and pipes."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from llmkit.cli._common import EXIT_OK, add_command, load_registry, note, provider_label
from llmkit.errors import ConfigurationError

__all__ = ["add_parser", "run", "split_target"]

EXAMPLES = """\
  llmkit run deepseek@fake "Say hi"                 # offline: the fake provider
  llmkit run deepseek@openrouter "Explain SSE in one line"
  git diff | llmkit run coder "Write a commit message for this diff"
  llmkit run claude@openrouter --model claude-sonnet-4-6 --json "hi" | jq .usage
  llmkit run --system "Answer in French" --temperature 0.2 gpt4@openai "Good morning"
"""


def add_parser(subparsers: Any) -> None:
    """Register `llmkit run`."""
    parser = add_command(
        subparsers,
        "run",
        help="send one prompt and print the reply",
        description="Send one prompt and print only the reply on stdout (logs go to stderr). "
        "Text piped on stdin is added after the PROMPT argument, or is the prompt.",
        examples=EXAMPLES,
    )
    parser.add_argument(
        "words", nargs="*", metavar="[CLIENT@PROVIDER] [PROMPT]",
        help="a configured client name or FAMILY@PROVIDER (default: default_client), "
        "then the prompt",
    )  # fmt: skip
    add_request_options(parser)
    parser.add_argument("--json", action="store_true", help="print the whole Response as JSON")
    parser.add_argument(
        "--schema", metavar="FILE",
        help="a JSON Schema file: the reply is JSON checked against it (re-asked when it "
        "does not match) and printed as JSON",
    )  # fmt: skip
    parser.add_argument(
        "--stream", action=argparse.BooleanOptionalAction, default=True,
        help="print the reply as it arrives (default: on)",
    )  # fmt: skip
    parser.add_argument(
        "--usage", action="store_true", help="print tokens, cost and latency on stderr"
    )
    parser.add_argument(
        "-a", "--attach", action="append", default=[], metavar="PATH",
        help="send a file with the prompt (image, audio, PDF, text); repeat for more",
    )  # fmt: skip
    parser.set_defaults(func=run)


def add_request_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `chat`."""
    parser.add_argument("-m", "--model", help="the model to ask for (over the client's default)")
    parser.add_argument("-p", "--provider", help="send to this provider instead")
    parser.add_argument("-s", "--system", help="a system prompt")
    parser.add_argument("-t", "--temperature", type=float, help="sampling temperature")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="cap on output tokens")
    parser.add_argument(
        "--context-strategy", choices=("keep_newest", "drop_middle"),
        help="a conversation too long for the context window is truncated, keeping the "
        "newest turns or dropping the middle ones (default: refuse it, exit code 3)",
    )  # fmt: skip


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """Client constructor options given on the command line (`--context-strategy`)."""
    strategy = getattr(args, "context_strategy", None)
    return {} if strategy is None else {"context_strategy": strategy}


def split_target(words: list[str], known: set[str]) -> tuple[str | None, str]:
    """`[target] [prompt ...]` → (target or None, prompt text).

    A lone word is the target when it looks like one (`x@y`, or a known client or
    family name) and has no spaces; otherwise it is the prompt.
    """
    if not words:
        return None, ""
    first = words[0]
    looks_like_target = " " not in first and ("@" in first or first in known)
    if len(words) == 1:
        return (first, "") if looks_like_target else (None, first)
    return first, " ".join(words[1:])


def request_params(args: argparse.Namespace) -> dict[str, Any]:
    """The per-call options given on the command line."""
    params: dict[str, Any] = {}
    for name in ("model", "system", "temperature", "max_tokens"):
        value = getattr(args, name, None)
        if value is not None:
            params[name] = value
    return params


def _read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    return sys.stdin.read()


def run(args: argparse.Namespace) -> int:
    """Send the prompt, print the reply."""
    from llmkit import registry as names
    from llmkit.cli import _ask
    from llmkit.parts import part_from_path
    from llmkit.types import Message, to_dict

    registry = load_registry(args)
    known = {*registry.client_names(), *names.client_names()}
    target, prompt = split_target(list(args.words), known)
    piped = _read_stdin()
    prompt = "\n\n".join(part for part in (prompt.strip(), piped.strip()) if part)
    attachments = [part_from_path(path) for path in getattr(args, "attach", None) or ()]
    if not prompt and not attachments:
        raise ConfigurationError(
            'No prompt: give one after the client (llmkit run deepseek@fake "hi") or pipe it on stdin'
        )
    params = request_params(args)
    model = params.pop("model", None)
    client = registry.client(target, model=model, provider=args.provider, **client_options(args))
    messages = [Message.user(prompt, *attachments) if attachments else Message.user(prompt)]
    if args.schema:
        return _run_schema(args, client, messages, params)
    if args.stream:
        out = _Writer()
        show = (lambda _event: None) if args.json else out.write
        try:
            response = _ask.stream(client, messages, show, **params)
        except KeyboardInterrupt:
            out.end_line()  # `interrupted` (on stderr) goes on a line of its own
            raise
        if not args.json and not response.text.endswith("\n"):
            sys.stdout.write("\n")
    else:
        response = _ask.generate(client, messages, **params)
        if not args.json:
            sys.stdout.write(response.text + ("" if response.text.endswith("\n") else "\n"))
    if args.json:
        sys.stdout.write(json.dumps(to_dict(response), indent=2, default=str) + "\n")
    sys.stdout.flush()
    if response.finish_reason == "length":
        note("warning: the reply was cut at the token limit (raise --max-tokens)")
    if args.usage:
        from llmkit.cli._render import usage_line

        note(usage_line(response, provider_label(registry, client, response.provider)))
    return EXIT_OK


class _Writer:
    """Writes a streamed reply to stdout, knowing whether its last line is unfinished."""

    def __init__(self) -> None:
        self.open_line = False

    def write(self, event: Any) -> None:
        if event.text:
            self.open_line = True  # before writing: Ctrl-C may land mid-write
            sys.stdout.write(event.text)
            sys.stdout.flush()
            self.open_line = not event.text.endswith("\n")

    def end_line(self) -> None:
        """End an unfinished line of the reply (after Ctrl-C)."""
        if self.open_line:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self.open_line = False


def _run_schema(args: argparse.Namespace, client: Any, messages: list[Any], params: Any) -> int:
    """`--schema FILE`: the validated JSON on stdout (with `--json`, the whole Response)."""
    import re
    from pathlib import Path

    from llmkit.cli import _ask
    from llmkit.output import JSONSchema
    from llmkit.types import to_dict

    path = Path(args.schema)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the JSON Schema {path}: {exc}") from exc
    name = re.sub(r"\W+", "_", path.name.split(".")[0]) or "output"
    response = _ask.generate(client, messages, output=JSONSchema(schema, name=name), **params)
    data = to_dict(response) if args.json else response.output
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    if args.usage:
        from llmkit.cli._common import provider_label
        from llmkit.cli._render import usage_line

        note(usage_line(response, provider_label(load_registry(args), client, response.provider)))
    return EXIT_OK
