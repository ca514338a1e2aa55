"""Showing replies: live Markdown with reasoning dimmed on a terminal, plain text elsewhere.

`ReplyPrinter` takes `StreamEvent`s as they arrive. On a terminal it redraws a rich
`Live` view (reasoning dimmed above the Markdown answer) and, once the reply is
complete, collapses the reasoning into one line (`/reasoning` shows it in full). When
output is not a terminal it writes the text deltas as they come, so that pipes and
tests see exactly the reply.
"""

from __future__ import annotations

from typing import Any, TextIO

from llmkit.types import Response, StreamEvent

__all__ = ["ReplyPrinter", "hard_line_breaks", "reasoning_summary", "usage_line"]

_REASONING_TAIL = 600
"""Characters of reasoning kept on screen while it streams."""


_ECHO_ROOM = 2
"""Columns the live view leaves free on the right. A live line as wide as the terminal
leaves the cursor in the last column, where the `^C` the terminal echoes on Ctrl-C
wraps to a new line, and the view's last redraw then lands one line too low (the
reply's first line showed twice)."""


def hard_line_breaks(text: str) -> str:
    """`text` with each single newline kept as a line break when rendered as Markdown.

    A model's reply means its newlines (a poem, an address, steps); Markdown would
    join the lines of a paragraph into one. Lines inside fenced code blocks are left
    as they are; blank lines still separate paragraphs.
    """
    lines = text.split("\n")
    out = []
    fenced = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif (
            not fenced
            and line.strip()
            and not line.endswith("  ")
            and index + 1 < len(lines)
            and lines[index + 1].strip()
        ):
            line += "  "  # Markdown's hard line break
        out.append(line)
    return "\n".join(out)


def reasoning_summary(reasoning: str) -> str:
    """The collapsed form of a reply's reasoning."""
    words = len(reasoning.split())
    return f"▸ reasoning: {words} word{'s' if words != 1 else ''} (/reasoning to show)"


def usage_line(response: Response, provider: str | None = None) -> str:
    """`provider:model · 12 in / 48 out tokens · $0.000031 · 0.84 s` for a reply.

    `provider` is the name to show (the configured one) over `response.provider`.
    """
    parts = [f"{provider or response.provider or '?'}:{response.model or '?'}"]
    usage = response.usage
    if usage.input_tokens is not None or usage.output_tokens is not None:
        parts.append(f"{usage.input_tokens or 0} in / {usage.output_tokens or 0} out tokens")
    if response.cost is not None:
        parts.append(f"${response.cost.total:.6f}")
    if response.latency.total is not None:
        parts.append(f"{response.latency.total:.2f} s")
    return " · ".join(parts)


class ReplyPrinter:
    """Shows one streamed reply; call `add` per event, then `finish`."""

    def __init__(self, out: TextIO, *, rich_console: Any = None) -> None:
        """Args:
        out: where plain text goes when `rich_console` is None.
        rich_console: a rich `Console` on a terminal, for live Markdown.
        """
        self._out = out
        self._console = rich_console
        self._live: Any = None
        self.text = ""
        self.reasoning = ""

    def add(self, event: StreamEvent) -> None:
        """Show one increment."""
        self.text += event.text
        self.reasoning += event.reasoning
        if self._console is None:
            if event.text:
                self._out.write(event.text)
                self._out.flush()
            return
        if not (event.text or event.reasoning):
            return
        if self._live is None:
            from rich.live import Live

            self._live = Live(
                self._view(final=False),
                console=self._console,
                refresh_per_second=12,
                vertical_overflow="visible",
            )
            self._live.start()
        else:
            self._live.update(self._view(final=False))

    def finish(self) -> None:
        """The reply is complete: collapse the reasoning and end the line."""
        if self._console is None:
            if not self.text.endswith("\n"):
                self._out.write("\n")
            self._out.flush()
            return
        if self._live is None:
            self._console.print(self._view(final=True))
            return
        self._live.update(self._view(final=True))
        self._live.stop()
        self._live = None

    def abort(self) -> None:
        """Stop drawing (the stream failed or was interrupted), keeping what arrived."""
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif self._console is None and self.text and not self.text.endswith("\n"):
            self._out.write("\n")
            self._out.flush()

    def _view(self, *, final: bool) -> Any:
        from rich.console import Group
        from rich.constrain import Constrain
        from rich.markdown import Markdown
        from rich.text import Text

        parts: list[Any] = []
        if self.reasoning:
            if final:
                parts.append(Text(reasoning_summary(self.reasoning), style="dim"))
            else:
                tail = self.reasoning[-_REASONING_TAIL:]
                parts.append(
                    Text(
                        ("…" if len(self.reasoning) > len(tail) else "") + tail, style="dim italic"
                    )
                )
        if self.text:
            parts.append(Markdown(hard_line_breaks(self.text)))
        width = max(20, self._console.width - _ECHO_ROOM)
        return Constrain(Group(*parts), width=width)
