"""Generated token ids to text deltas, the same way for a complete reply and a stream.

`ReplyText` takes token ids as `generate` makes them and gives back text
deltas: it decodes incrementally (holding back a half-finished UTF-8
character), cuts the reply at the first stop sequence, and lifts tool calls
written in the chat template's `<tool_call>{...}</tool_call>` format (Qwen,
Hermes and the many templates that copy them) out of the text. A complete
reply is the same object fed all ids at once, so streamed and complete
replies are equal by construction. Pure: no torch, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from llmkit.types import ToolCall

__all__ = ["ReplyText", "parse_tool_call"]

TOOL_OPEN = "<tool_call>"
TOOL_CLOSE = "</tool_call>"
_REPLACEMENT = "\ufffd"


class _Decoder:
    """Incremental detokenisation: decode a window of ids, emit only what is settled."""

    def __init__(self, decode: Callable[[Sequence[int]], str]) -> None:
        self._decode = decode
        self._ids: list[int] = []
        self._prefix = 0  # ids before this are settled and emitted
        self._read = 0  # ids up to this were decoded into the last emitted text

    def push(self, ids: Sequence[int]) -> str:
        self._ids.extend(ids)
        before = self._decode(self._ids[self._prefix : self._read])
        after = self._decode(self._ids[self._prefix :])
        if len(after) > len(before) and not after.endswith(_REPLACEMENT):
            self._prefix, self._read = self._read, len(self._ids)
            return after[len(before) :]
        return ""

    def flush(self) -> str:
        before = self._decode(self._ids[self._prefix : self._read])
        after = self._decode(self._ids[self._prefix :])
        self._prefix = self._read = len(self._ids)
        return after[len(before) :]


def _partial_suffix(text: str, markers: Sequence[str]) -> int:
    """How many trailing characters of `text` could begin one of `markers`."""
    longest = 0
    for marker in markers:
        for size in range(min(len(marker) - 1, len(text)), longest, -1):
            if text.endswith(marker[:size]):
                longest = size
                break
    return longest


def parse_tool_call(body: str, index: int) -> ToolCall:
    """One `<tool_call>` body: `{"name": ..., "arguments": {...}}` (or `"parameters"`)."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return ToolCall(f"call_{index}", "", {}, raw_arguments=body.strip())
    if not isinstance(data, dict):
        return ToolCall(f"call_{index}", "", {}, raw_arguments=body.strip())
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return ToolCall(f"call_{index}", str(data.get("name", "")), {}, raw_arguments=arguments)
    if not isinstance(arguments, dict):
        return ToolCall(
            f"call_{index}", str(data.get("name", "")), {}, raw_arguments=json.dumps(arguments)
        )
    return ToolCall(f"call_{index}", str(data.get("name", "")), arguments)


class ReplyText:
    """Token ids in; text deltas, tool calls and whether a stop sequence ended the reply out."""

    def __init__(
        self,
        decode: Callable[[Sequence[int]], str],
        *,
        stop: Sequence[str] = (),
        tools: bool = False,
        prefix: str = "",
    ) -> None:
        """Args:
        decode: the tokenizer's decode (special tokens skipped).
        stop: stop sequences; the reply ends before the first one.
        tools: whether to lift `<tool_call>` blocks out of the text.
        prefix: text the prompt already opened the reply with (an open `<think>`),
            emitted first so the reply reads as the model meant it.
        """
        self._decoder = _Decoder(decode)
        self._stop = tuple(s for s in stop if s)
        self._tools = tools
        self._pending = prefix  # decoded text not yet emitted (may hold a marker's start)
        self._in_call: list[str] | None = None
        self.tool_calls: list[ToolCall] = []
        self.stopped = False
        """True once a stop sequence was seen: the caller should end generation."""

    def push(self, ids: Sequence[int]) -> str:
        """The text that `ids` settle (may be empty)."""
        if self.stopped:
            return ""
        return self._take(self._decoder.push(ids), final=False)

    def finish(self) -> str:
        """The text left at the end of generation."""
        if self.stopped:
            return ""
        return self._take(self._decoder.flush(), final=True)

    def _take(self, text: str, *, final: bool) -> str:
        self._pending += text
        out: list[str] = []
        while self._pending and not self.stopped:
            if self._in_call is not None:
                end = self._pending.find(TOOL_CLOSE)
                if end < 0:
                    if final:  # an unclosed call: keep what arrived as its arguments
                        self._close_call(self._pending)
                        self._pending = ""
                    break
                self._close_call(self._pending[:end])
                self._pending = self._pending[end + len(TOOL_CLOSE) :]
                continue
            cut, marker = self._first_marker(self._pending)
            if marker is None:
                keep = 0 if final else _partial_suffix(self._pending, self._markers())
                out.append(self._pending[: len(self._pending) - keep])
                self._pending = self._pending[len(self._pending) - keep :]
                break
            out.append(self._pending[:cut])
            self._pending = self._pending[cut + len(marker) :]
            if marker == TOOL_OPEN:
                self._in_call = []
            else:
                self.stopped = True
                self._pending = ""
        return "".join(out)

    def _markers(self) -> tuple[str, ...]:
        return (*self._stop, TOOL_OPEN) if self._tools else self._stop

    def _first_marker(self, text: str) -> tuple[int, str | None]:
        best, found = len(text), None
        for marker in self._markers():
            at = text.find(marker)
            if 0 <= at < best:
                best, found = at, marker
        return best, found

    def _close_call(self, body: str) -> None:
        self.tool_calls.append(parse_tool_call(body, len(self.tool_calls)))
        self._in_call = None
