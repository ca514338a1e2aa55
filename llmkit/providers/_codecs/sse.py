"""A push-style decoder for server-sent events, fed bytes in chunks of any size.

Pure: no I/O. It follows the SSE rules: lines end with CRLF, LF or CR; a blank
line ends an event; `data:` lines of one event are joined with newlines; one
space after the colon is dropped; lines starting with `:` are comments (SSE
keep-alives); an event without data is ignored; a final event without a
trailing blank line still counts (`flush`). UTF-8 sequences split across
chunks are reassembled.

Linear in the size of the stream, however it is cut: an unfinished line is
kept as a list of pieces and joined once, when its end arrives, and only the
new chunk is searched for line ends. One event may hold at most
`MAX_EVENT_SIZE` characters (64 Mi, some 64 MiB of JSON); a bigger one raises
`InvalidResponseError` instead of growing without bound. Set
`llmkit.providers._codecs.sse.MAX_EVENT_SIZE` (read when a decoder is built),
or pass `max_event_size=`, to change it.

Invalid UTF-8 raises `InvalidResponseError`, as it does in a plain call's JSON
body: a reply is never silently altered, streamed or not.
"""

from __future__ import annotations

import codecs

from attrs import frozen

from llmkit.errors import InvalidResponseError

__all__ = [
    "MAX_EVENT_SIZE",
    "SSEDecoder",
    "ServerSentEvent",
    "event_too_large",
    "invalid_utf8",
]

MAX_EVENT_SIZE = 64 * 1024 * 1024
"""Characters one event (or one NDJSON line) may hold; decoders read it when built."""


@frozen
class ServerSentEvent:
    """One event: its `event` name (None when unnamed) and its `data` text."""

    data: str
    event: str | None = None
    id: str | None = None


class SSEDecoder:
    """Feed bytes with `feed`, get complete events back; `flush` at end of stream."""

    def __init__(self, *, max_event_size: int | None = None) -> None:
        """A decoder for one stream.

        Args:
            max_event_size: characters one event may hold (default `MAX_EVENT_SIZE`).
        """
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._pieces: list[str] = []  # the unfinished line, in the pieces it came in
        self._pending = 0  # characters in `_pieces`
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._size = 0  # characters of data in the event being read
        self._decoded = 0  # bytes decoded so far, for the offset of bad UTF-8
        self.max_event_size = MAX_EVENT_SIZE if max_event_size is None else max_event_size
        self.comments = 0
        """How many comment lines (keep-alives) were seen: they are not progress."""

    def feed(self, chunk: bytes | str) -> list[ServerSentEvent]:
        """Decode `chunk` and return the events it completed.

        Raises:
            InvalidResponseError: invalid UTF-8, or an event past `max_event_size`.
        """
        text = self._decode(chunk) if isinstance(chunk, bytes) else chunk
        if not text:
            return []
        if "\n" not in text and "\r" not in text:
            self._keep(text)  # the middle of a long line: search nothing twice
            return []
        events: list[ServerSentEvent] = []
        if self._pieces:
            if self._pieces[-1].endswith("\r"):  # a CR that may pair with an LF: rare, join all
                self._pieces.append(text)
                text = "".join(self._pieces)
                self._pieces.clear()
                self._pending = 0
            else:  # end the long line with the start of this chunk; copy it once
                cut = _first_break(text)
                if cut + 1 == len(text) and text[cut] == "\r":
                    self._keep(text)  # its LF may be in the next chunk
                    return []
                self._pieces.append(text[:cut])
                line = "".join(self._pieces)
                self._pieces.clear()
                self._pending = 0
                event = self._line(line)
                if event is not None:
                    events.append(event)
                text = text[cut + (2 if text.startswith("\r\n", cut) else 1) :]
        # the common case has LFs only: then one split finds every line
        lines = _cr_lines(text) if "\r" in text else text.split("\n")
        rest = lines.pop()
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        if rest:
            self._keep(rest)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: return the last event if it had no trailing blank line."""
        tail = self._decode(b"", final=True)
        if tail:
            self._keep(tail)
        events: list[ServerSentEvent] = []
        if self._pieces:
            line = "".join(self._pieces)
            self._pieces.clear()
            self._pending = 0
            event = self._line(line.removesuffix("\r"))
            if event is not None:
                events.append(event)
        event = self._dispatch()
        if event is not None:
            events.append(event)
        return events

    def _decode(self, chunk: bytes, final: bool = False) -> str:
        try:
            text = self._utf8.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise invalid_utf8(self._decoded + exc.start, "an event stream") from None
        self._decoded += len(chunk)
        return text

    def _keep(self, text: str) -> None:
        """Hold part of an unfinished line, within the event size limit."""
        self._pieces.append(text)
        self._pending += len(text)
        if self._size + self._pending > self.max_event_size:
            self._pieces.clear()
            raise event_too_large(self.max_event_size, "an event stream")

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        if line.startswith("data:"):  # one copy of the value, however long
            value = line[6:] if line.startswith(" ", 5) else line[5:]
            name = "data"
        else:
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
        if name == "data":
            self._size += len(value) + 1
            if self._size > self.max_event_size:
                raise event_too_large(self.max_event_size, "an event stream")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        self._size = 0
        if not self._data:
            self._event = None
            return None
        event = ServerSentEvent("\n".join(self._data), self._event, self._id)
        self._data, self._event = [], None
        return event


def event_too_large(limit: int, what: str) -> InvalidResponseError:
    """The error for an event (or a line) past the size limit."""
    return InvalidResponseError(
        f"The host sent {what} with one event over {limit:,} characters; llmkit stops "
        "reading rather than hold it. If the reply is genuine, raise the limit: "
        "llmkit.providers._codecs.sse.MAX_EVENT_SIZE = <characters>"
    )


def invalid_utf8(offset: int, what: str) -> InvalidResponseError:
    """The error for bytes that are not UTF-8 (at `offset` in the body)."""
    return InvalidResponseError(
        f"The host sent {what} that is not valid UTF-8 (at byte {offset}); a proxy or "
        "the server may be re-encoding the reply: check `base_url`, or retry later"
    )


def _first_break(text: str) -> int:
    """Where the first CR or LF of `text` is (it has one)."""
    lf = text.find("\n")
    cr = text.find("\r", 0, lf if lf >= 0 else len(text))
    return cr if cr >= 0 else lf


def _cr_lines(buffer: str) -> list[str]:
    """The complete lines of a buffer with CRs in it, then the unfinished rest.

    A trailing lone CR is not taken yet: its LF may be in the next chunk. The
    next CR and LF are each searched for once, from where the last line ended,
    so many short CR lines before a distant LF cost no rescans.
    """
    lines = []
    start, end = 0, len(buffer)
    lf, cr = buffer.find("\n"), buffer.find("\r")
    while True:
        if 0 <= lf < start:
            lf = buffer.find("\n", start)
        if 0 <= cr < start:
            cr = buffer.find("\r", start)
        if cr >= 0 and (lf < 0 or cr < lf):
            if cr + 1 == end:
                break  # a lone CR at the end: wait for the next chunk
            lines.append(buffer[start:cr])
            start = cr + (2 if buffer[cr + 1] == "\n" else 1)
        elif lf >= 0:
            lines.append(buffer[start:lf])
            start = lf + 1
        else:
            break
    lines.append(buffer[start:])
    return lines
