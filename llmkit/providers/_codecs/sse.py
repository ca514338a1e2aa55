"""A push-style decoder for server-sent events, fed bytes in chunks of any size.

Pure: no I/O. It follows the SSE rules: lines end with CRLF, LF or CR; a blank
line ends an event; `data:` lines of one event are joined with newlines; one
space after the colon is dropped; lines starting with `:` are comments (SSE
keep-alives); an event without data is ignored; a final event without a
trailing blank line still counts (`flush`). UTF-8 sequences split across
chunks are reassembled.
"""

from __future__ import annotations

import codecs

from attrs import frozen

__all__ = ["SSEDecoder", "ServerSentEvent"]


@frozen
class ServerSentEvent:
    """One event: its `event` name (None when unnamed) and its `data` text."""

    data: str
    event: str | None = None
    id: str | None = None


class SSEDecoder:
    """Feed bytes with `feed`, get complete events back; `flush` at end of stream."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self.comments = 0
        """How many comment lines (keep-alives) were seen: they are not progress."""

    def feed(self, chunk: bytes | str) -> list[ServerSentEvent]:
        """Decode `chunk` and return the events it completed."""
        text = self._utf8.decode(chunk) if isinstance(chunk, bytes) else chunk
        if not text:
            return []
        buffer = self._buffer + text
        # the common case has LFs only: then one split finds every line
        lines = _cr_lines(buffer) if "\r" in buffer else buffer.split("\n")
        self._buffer = lines.pop()
        events: list[ServerSentEvent] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: return the last event if it had no trailing blank line."""
        tail = self._utf8.decode(b"", final=True)
        events: list[ServerSentEvent] = []
        self._buffer += tail
        if self._buffer:
            line, self._buffer = self._buffer, ""
            event = self._line(line)
            if event is not None:
                events.append(event)
        event = self._dispatch()
        if event is not None:
            events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event = None
            return None
        event = ServerSentEvent("\n".join(self._data), self._event, self._id)
        self._data, self._event = [], None
        return event


def _cr_lines(buffer: str) -> list[str]:
    """The complete lines of a buffer with CRs in it, then the unfinished rest.

    A trailing lone CR is not taken yet: its LF may be in the next chunk.
    """
    lines = []
    start = 0
    while (cut := _line_end(buffer, start)) is not None:
        end, width = cut
        lines.append(buffer[start:end])
        start = end + width
    lines.append(buffer[start:])
    return lines


def _line_end(buffer: str, start: int) -> tuple[int, int] | None:
    """Where the first complete line from `start` ends and how wide its terminator is."""
    lf = buffer.find("\n", start)
    cr = buffer.find("\r", start, lf if lf >= 0 else len(buffer))
    if cr < 0:
        return None if lf < 0 else (lf, 1)
    if cr + 1 == len(buffer):
        return None
    return cr, 2 if buffer[cr + 1] == "\n" else 1
