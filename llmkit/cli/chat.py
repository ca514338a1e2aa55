"""`llmkit chat`: an interactive conversation that can change host and model as it goes.

On a terminal, input comes through prompt-toolkit (history kept across sessions,
Alt-Enter or a `\"\"\"` block for several lines) and replies stream as live Markdown.
Otherwise lines are read plainly from stdin and replies written as plain text, so a
chat can be scripted: `printf 'hi\\n/provider groq\\nand now?\\n' | llmkit chat deepseek@fake`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmkit.cli import _ask
from llmkit.cli._common import (
    EXIT_OK,
    add_command,
    cli_terms,
    console,
    is_tty,
    load_registry,
    note,
    provider_label,
)
from llmkit.cli._render import ReplyPrinter, usage_line
from llmkit.cli.run import add_request_options, client_options, request_params
from llmkit.errors import ConfigurationError, LLMError
from llmkit.types import Message, Response, Role

__all__ = ["COMMANDS", "ChatSession", "add_parser", "export_markdown", "run"]

EXAMPLES = """\
  llmkit chat deepseek@fake                  # offline: the fake provider
  llmkit chat coder                          # a client named in llmkit.yaml
  llmkit chat claude@anthropic --system "Be terse"
  printf 'hi\\n/provider openrouter\\nsame question\\n/export chat.md\\n' | llmkit chat claude@fake

in the chat:
  /help  /reset  /system [TEXT|-]  /provider NAME  /model [NAME]  /reasoning
  /export FILE(.md|.json)  /cost  /attach PATH  /exit   \"\"\" starts and ends a multi-line message
"""

COMMANDS = {
    "help": "show the commands",
    "reset": "forget the conversation (the system prompt stays)",
    "system": "show the system prompt; /system TEXT sets it, /system - removes it",
    "provider": "send the rest of the conversation to another host: /provider NAME",
    "model": "show the model; /model NAME asks for another one",
    "reasoning": "show the last reply's reasoning in full",
    "export": "save the conversation: /export FILE.md or FILE.json",
    "cost": "tokens and cost so far",
    "attach": "send a file (image, audio, PDF, text) with your next message: /attach PATH",
    "exit": "leave (Ctrl-D too)",
}


def add_parser(subparsers: Any) -> None:
    """Register `llmkit chat`."""
    parser = add_command(
        subparsers,
        "chat",
        help="chat interactively (switch host with /provider)",
        description="Chat with a model. Type /help in the chat for its commands.",
        examples=EXAMPLES,
    )
    parser.add_argument(
        "target", nargs="?", metavar="CLIENT@PROVIDER",
        help="a configured client name or FAMILY@PROVIDER (default: default_client)",
    )  # fmt: skip
    add_request_options(parser)
    parser.add_argument(
        "--no-history", action="store_true", help="do not read or write the input history"
    )
    parser.set_defaults(func=run)


def history_path() -> Path:
    """Where the input history lives: `$XDG_STATE_HOME/llmkit/chat_history`."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "llmkit" / "chat_history"


class ChatSession:
    """A conversation: its history, its client, and the slash commands that change them."""

    def __init__(
        self,
        registry: Any,
        target: str | None,
        *,
        provider: str | None = None,
        params: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        printer: Callable[[], ReplyPrinter],
        say: Callable[[str], None],
        show: Callable[[str], None],
    ) -> None:
        """Args:
        registry: where clients and providers come from.
        target: the client name or `family@provider` to start with.
        provider: a provider to use instead of the target's.
        params: per-call options (`system`, `model`, `temperature`, `max_tokens`).
        options: client options (`context_strategy`), kept when /model changes the client.
        printer: makes the printer for one reply.
        say: prints a status line (stderr when piped).
        show: prints a command's output (stdout).
        """
        params = dict(params or {})
        self.registry = registry
        self.target = target or registry.default_client
        self.system: str | None = params.pop("system", None)
        self.model: str | None = params.pop("model", None)
        self.params = params
        self.options = dict(options or {})
        self.client = registry.client(
            self.target, model=self.model, provider=provider, **self.options
        )
        self.provider_name: str = provider or registry.name_of(self.client.provider)
        self.messages: list[Message] = []
        self.responses: list[Response] = []
        self.labels: list[str] = []
        """Per reply in `responses`, the provider (its configured name) that sent it."""
        self.sources: list[str] = []
        """Per assistant message in `messages`, the same (cleared with them by /reset)."""
        self.attached: list[Any] = []
        """Files `/attach` added, sent with the next message."""
        self._printer = printer
        self._say = say
        self._show = show

    @property
    def label(self) -> str:
        """`deepseek@fake (deepseek-flash)`."""
        family = getattr(self.client, "family", None) or str(self.target).partition("@")[0]
        return f"{family}@{self.provider_name} ({getattr(self.client, 'model', '?')})"

    # -- turns ------------------------------------------------------------------

    def send(self, text: str) -> Response | None:
        """One turn: send `text` with the history, show the reply, keep both."""
        attached, self.attached = self.attached, []
        self.messages.append(Message.user(text, *attached) if attached else Message.user(text))
        printer = self._printer()
        conversation = ([Message.system(self.system)] if self.system else []) + self.messages
        try:
            response = _ask.stream(self.client, conversation, printer.add, **self.params)
        except (LLMError, KeyboardInterrupt) as exc:
            printer.abort()
            self.messages.pop()
            self._say("interrupted" if isinstance(exc, KeyboardInterrupt) else _error_line(exc))
            return None
        printer.finish()
        self.messages.append(response.to_message())
        self.responses.append(response)
        label = provider_label(self.registry, self.client, response.provider)
        self.labels.append(label)
        self.sources.append(label)
        return response

    # -- commands ---------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run a slash command; False when the chat should end."""
        name, _, arg = line[1:].strip().partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in ("exit", "quit", "q"):
            return False
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None:
            from llmkit._hints import closest

            match = closest(name, [*COMMANDS, "quit"])
            hint = f" (did you mean /{match}?)" if match else ""
            self._say(f"unknown command /{name}{hint}; /help lists them")
            return True
        try:
            handler(arg)
        except (ConfigurationError, OSError) as exc:
            self._say(_error_line(exc))
        return True

    def _cmd_help(self, _: str) -> None:
        width = max(map(len, COMMANDS))
        lines = [f"/{name.ljust(width)}  {text}" for name, text in COMMANDS.items()]
        lines.append('"""' + " " * (width - 2) + "  start or end a multi-line message")
        self._show("\n".join(lines))

    def _cmd_reset(self, _: str) -> None:
        self.messages.clear()
        self.sources.clear()
        self._say("conversation cleared")

    def _cmd_system(self, arg: str) -> None:
        if not arg:
            self._show(self.system or "(no system prompt)")
            return
        self.system = None if arg == "-" else arg
        self._say("system prompt removed" if self.system is None else "system prompt set")

    def _cmd_provider(self, arg: str) -> None:
        if not arg:
            self._show(self.provider_name)
            return
        provider = self.registry.provider(arg)
        self.client.set_provider(provider)
        self.provider_name = arg
        self._say(f"now on {self.label}; the conversation carries over")

    def _cmd_model(self, arg: str) -> None:
        if not arg:
            self._show(str(getattr(self.client, "model", "?")))
            return
        self.client = self.registry.client(
            self.target, model=arg, provider=self.provider_name, **self.options
        )
        self.model = arg
        self._say(f"now on {self.label}")

    def _cmd_reasoning(self, _: str) -> None:
        last = next((r.reasoning for r in reversed(self.responses) if r.reasoning), None)
        self._show(last or "(no reasoning in this conversation)")

    def _cmd_export(self, arg: str) -> None:
        if not arg:
            raise ConfigurationError("/export needs a file name: /export chat.md or chat.json")
        path = Path(arg).expanduser()
        text = export_json(self) if path.suffix.lower() == ".json" else export_markdown(self)
        path.write_text(text, encoding="utf-8")
        self._say(f"saved {len(self.messages)} messages to {path}")

    def _cmd_cost(self, _: str) -> None:
        self._show(cost_summary(self.responses, self.labels))

    def _cmd_attach(self, arg: str) -> None:
        if not arg:
            raise ConfigurationError("/attach needs a file: /attach report.pdf")
        from llmkit.parts import part_from_path

        part = part_from_path(arg)
        self.attached = [*self.attached, part]
        self._say(f"attached {part.filename} ({part.media_type}); it goes with your next message")


def _error_line(exc: BaseException) -> str:
    from llmkit.config import hide_secrets

    return f"error: {cli_terms(hide_secrets(str(exc)))}"


def cost_summary(responses: list[Response], labels: list[str] | None = None) -> str:
    """Requests, tokens and cost of a conversation's replies, then one line per reply.

    `labels`: the provider name to show for each reply (default: the one it reports).
    """
    tokens_in = sum(r.usage.input_tokens or 0 for r in responses)
    tokens_out = sum(r.usage.output_tokens or 0 for r in responses)
    priced = [r.cost.total for r in responses if r.cost is not None]
    cost = f"${sum(priced):.6f}" if priced else "unknown"
    if priced and len(priced) < len(responses):
        cost += f" (price known for {len(priced)} of {len(responses)} replies)"
    lines = [
        f"replies: {len(responses)}",
        f"tokens:  {tokens_in} in / {tokens_out} out",
        f"cost:    {cost}",
    ]
    names = labels if labels is not None and len(labels) == len(responses) else None
    lines += [
        f"  {index}. {usage_line(r, names[index - 1] if names else None)}"
        for index, r in enumerate(responses, 1)
    ]
    return "\n".join(lines)


def export_markdown(session: ChatSession) -> str:
    """The conversation as a Markdown document."""
    family = getattr(session.client, "family", None) or str(session.target).partition("@")[0]
    models = {r.model for r in session.responses if r.model}
    served = list(dict.fromkeys(session.sources))
    lines = [f"# Chat with {family}@{', '.join(served) or session.provider_name}", ""]
    if served:
        lines += [
            f"Replies from: {', '.join(served)}"
            + (f" (models: {', '.join(sorted(models))})" if models else ""),
            "",
        ]
    if session.system:
        lines += ["**System:** " + session.system, ""]
    sources = iter(session.sources)
    for message in session.messages:
        if message.role is Role.USER:
            lines += ["## You", "", message.text, ""]
        else:
            source = next(sources, None)
            lines += [f"## Assistant ({source})" if source else "## Assistant", ""]
            if message.reasoning:
                quoted = "\n".join("> " + line for line in message.reasoning.splitlines())
                lines += ["<details><summary>reasoning</summary>", "", quoted, "", "</details>", ""]
            lines += [message.text, ""]
    return "\n".join(lines)


def export_json(session: ChatSession) -> str:
    """The conversation as JSON: the client, the system prompt, the messages, the replies."""
    import json

    from llmkit.types import to_dict

    document = {
        "client": session.target,
        "provider": session.provider_name,
        "model": getattr(session.client, "model", None),
        "reply_providers": session.labels,
        "system": session.system,
        "messages": [to_dict(m) for m in session.messages],
        "responses": [to_dict(r) for r in session.responses],
    }
    return json.dumps(document, indent=2, default=str) + "\n"


# -- input -----------------------------------------------------------------------


def _plain_reader() -> Callable[[str], str | None]:
    def read(_prompt: str) -> str | None:
        line = sys.stdin.readline()
        return None if line == "" else line.rstrip("\n")

    return read


def _terminal_reader(history: Path | None) -> Callable[[str], str | None]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings

    if history is not None:
        history.parent.mkdir(parents=True, exist_ok=True)
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event: Any) -> None:  # Alt-Enter: a new line instead of sending
        event.current_buffer.insert_text("\n")

    session: Any = PromptSession(
        history=FileHistory(str(history)) if history else InMemoryHistory(),
        key_bindings=bindings,
    )

    def read(prompt: str) -> str | None:
        while True:
            try:
                return str(session.prompt(prompt))
            except EOFError:
                return None
            except KeyboardInterrupt:
                continue  # Ctrl-C clears the line; Ctrl-D or /exit leaves

    return read


def read_message(read: Callable[[str], str | None], prompt: str) -> str | None:
    """One message: a line, or the lines between two `\"\"\"` lines; None at the end of input."""
    line = read(prompt)
    if line is None or line.strip() != '"""':
        return line
    lines = []
    while (more := read("... ")) is not None and more.strip() != '"""':
        lines.append(more)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """The chat loop."""
    terminal = is_tty(sys.stdin) and is_tty(sys.stdout)
    rich_console: Any = console() if terminal else None
    registry = load_registry(args)

    def show(text: str) -> None:
        print(text, flush=True)

    session = ChatSession(
        registry,
        args.target,
        provider=args.provider,
        params=request_params(args),
        options=client_options(args),
        printer=lambda: ReplyPrinter(sys.stdout, rich_console=rich_console),
        say=note if not terminal else lambda text: rich_console.print(text, style="dim"),
        show=show,
    )
    if terminal:
        read = _terminal_reader(None if args.no_history else history_path())
        rich_console.print(f"llmkit chat · {session.label} · /help for commands", style="dim")
    else:
        read = _plain_reader()
        note(f"chat with {session.label}")
    while (text := read_message(read, "you> ")) is not None:
        if not text.strip():
            continue
        if text.startswith("/"):
            if not session.command(text):
                break
            continue
        session.send(text)
    return EXIT_OK
