"""A push-style decoder for newline-delimited JSON (NDJSON), fed bytes in chunks of any size.

Pure: no I/O. One JSON value per line; blank lines are skipped; a last line
without a newline still counts (`flush`); UTF-8 sequences split across chunks
are reassembled. The sibling of `sse.py`, with the same guarantees:

- linear in the size of the stream however it is cut: an unfinished line is
  kept as pieces and joined once, when its newline arrives, and only the new
  chunk is searched for newlines;
- one line may hold at most `sse.MAX_EVENT_SIZE` characters (64 Mi); a longer
  one raises `InvalidResponseError`;
- invalid UTF-8 raises `InvalidResponseError`, as in a plain call's body.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from llmkit.errors import InvalidResponseError
from llmkit.providers._codecs import sse
from llmkit.providers._codecs._errors_common import excerpt
from llmkit.providers._codecs.sse import event_too_large, invalid_utf8

__all__ = ["NDJSONDecoder"]


class NDJSONDecoder:
    """Feed bytes in chunks of any size, get one parsed JSON value per complete line."""

    def __init__(
        self,
        *,
        host: str = "The host",
        provider: str | None = None,
        max_line_size: int | None = None,
    ) -> None:
        """A decoder for one stream.

        Args:
            host: how to name the sender in an error message ("Ollama").
            provider: the provider's name, for the errors' fields.
            max_line_size: characters one line may hold (default `sse.MAX_EVENT_SIZE`).
        """
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._pieces: list[str] = []
        self._pending = 0
        self._decoded = 0
        self._host = host
        self._provider = provider
        self.max_line_size = sse.MAX_EVENT_SIZE if max_line_size is None else max_line_size

    def feed(self, chunk: bytes | str) -> list[Any]:
        """Decode `chunk` and return the values of the lines it completed.

        Raises:
            InvalidResponseError: a line that is not JSON or is too long, or invalid UTF-8.
        """
        text = self._decode(chunk) if isinstance(chunk, bytes) else chunk
        newline = text.find("\n")
        if newline < 0:
            self._keep(text)
            return []
        values = []
        if self._pieces:
            self._pieces.append(text[:newline])
            line = "".join(self._pieces)
            self._pieces.clear()
            self._pending = 0
            if line.strip():
                values.append(self._json(line))
            text = text[newline + 1 :]
        *lines, rest = text.split("\n")
        values.extend(self._json(line) for line in lines if line.strip())
        if rest:
            self._keep(rest)
        return values

    def flush(self) -> list[Any]:
        """End of stream: the last line, if it had no trailing newline."""
        self._keep(self._decode(b"", final=True))
        line = "".join(self._pieces)
        self._pieces.clear()
        self._pending = 0
        return [self._json(line)] if line.strip() else []

    def _decode(self, chunk: bytes, final: bool = False) -> str:
        try:
            text = self._utf8.decode(chunk, final)
        except UnicodeDecodeError as exc:
            error = invalid_utf8(self._decoded + exc.start, "an NDJSON stream")
            error.provider = self._provider
            raise error from None
        self._decoded += len(chunk)
        return text

    def _keep(self, text: str) -> None:
        if not text:
            return
        self._pieces.append(text)
        self._pending += len(text)
        if self._pending > self.max_line_size:
            self._pieces.clear()
            error = event_too_large(self.max_line_size, "an NDJSON stream")
            error.provider = self._provider
            raise error

    def _json(self, line: str) -> Any:
        if len(line) > self.max_line_size:
            error = event_too_large(self.max_line_size, "an NDJSON stream")
            error.provider = self._provider
            raise error
        try:
            return json.loads(line)
        except ValueError as exc:
            raise InvalidResponseError(
                f"{self._host} sent a stream line that is not JSON ({excerpt(line)})",
                provider=self._provider,
            ) from exc
