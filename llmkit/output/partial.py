"""An incremental JSON parser: the value so far of a JSON document that arrives in pieces.

`PartialJSON.feed(piece)` scans each character once, keeping just enough
state (open containers, where the last complete value ended, whether a
string is open) to close the document at any point; `value` then parses
that closed prefix with `json.loads`. What is shown is always a prefix of the
final value: complete members, the open string so far, never half a number,
a half key or a key without its value.

    parser = PartialJSON()
    parser.feed('{"name": "Ad')      # {'name': 'Ad'}
    parser.feed('a", "age": 3')      # {'name': 'Ada'}   (3 may become 36)
    parser.feed('6}')                # {'name': 'Ada', 'age': 36}

Text before the first `{` or `[` (a sentence, a ```json fence) and after the
root value closes is ignored. Pure, no I/O: tests cut a document at every byte.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["PartialJSON"]

_CLOSER = {"{": "}", "[": "]"}
_HEX = frozenset("0123456789abcdefABCDEF")


class PartialJSON:
    """Feed text pieces; `value` is the JSON value so far (None before anything usable)."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._length = 0
        self._stack: list[str] = []
        """Open containers: `{` or `[`."""
        self._expect: list[str] = []
        """Per open container: `key`, `colon`, `value` or `comma` (what comes next)."""
        self._safe = 0
        """Length of the longest prefix that ends at a complete point."""
        self._started = False
        self._done = False
        self._in_string = False
        self._string_is_key = False
        self._escape = 0
        """0: none; 1: after a backslash; 2..5: inside `\\uXXXX` (hex digits seen + 2)."""
        self._escape_at = 0
        self._in_token = False
        self._cache: tuple[int, Any] | None = None
        self._start = 0
        """Where the root value begins in the text."""
        self._scanned = 0
        """The index of the character being scanned."""

    @property
    def text(self) -> str:
        """Everything fed so far."""
        return "".join(self._text)

    @property
    def done(self) -> bool:
        """Whether the root value has closed."""
        return self._done

    def feed(self, piece: str) -> Any:
        """Take `piece` into account; returns `value`."""
        for char in piece:
            self._step(char)
        self._text.append(piece)
        self._length += len(piece)
        return self.value

    @property
    def value(self) -> Any:
        """The value so far: complete members, the open string's text, containers closed."""
        if not self._started:
            return None
        key = self._length if self._in_string else -self._safe
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        text = self.text
        closers = "".join(_CLOSER[c] for c in reversed(self._stack))
        if self._in_string and not self._string_is_key:
            end = self._escape_at if self._escape else self._length
            body = _without_high_surrogate(text[self._start : end])
            value = _loads(body + '"' + closers)
        else:
            value = _loads(text[self._start : self._safe] + closers)
        self._cache = (key, value)
        return value

    # -- the scanner ---------------------------------------------------------------

    def _step(self, char: str) -> None:
        if self._done:
            return
        if not self._started:
            if char in "{[":
                self._started = True
                self._start = self._scanned
                self._open(char)
            self._scanned += 1
            return
        if self._in_string:
            self._string_char(char)
        elif self._in_token:
            if char in ",}] \t\r\n":
                self._in_token = False
                self._complete_value(before=True)
                self._structural(char)
            # digits, signs, exponents and letters of true/false/null stay in the token
        else:
            self._structural(char)
        self._scanned += 1

    def _string_char(self, char: str) -> None:
        if self._escape == 1:
            self._escape = 2 if char == "u" else 0
        elif self._escape >= 2:
            self._escape = self._escape + 1 if char in _HEX else 0
            if self._escape == 6:
                self._escape = 0
        elif char == "\\":
            self._escape, self._escape_at = 1, self._scanned
        elif char == '"':
            self._in_string = False
            if self._string_is_key:
                self._expect[-1] = "colon"
            else:
                self._complete_value(before=False)

    def _structural(self, char: str) -> None:
        if char in " \t\r\n":
            return
        expect = self._expect[-1]
        if char in "{[":
            self._open(char)
        elif char in "}]":
            self._stack.pop()
            self._expect.pop()
            self._complete_value(before=False)
        elif char == '"':
            self._in_string = True
            self._string_is_key = expect == "key"
        elif char == ":":
            self._expect[-1] = "value"
        elif char == ",":
            self._expect[-1] = "key" if self._stack[-1] == "{" else "value"
        else:
            self._in_token = True

    def _open(self, char: str) -> None:
        self._stack.append(char)
        self._expect.append("key" if char == "{" else "value")
        self._safe = self._scanned + 1

    def _complete_value(self, *, before: bool) -> None:
        """A value just ended: at the current character (`before`) or just after it."""
        end = self._scanned if before else self._scanned + 1
        if not self._stack:
            self._done = True
            self._safe = end
            return
        self._expect[-1] = "comma"
        self._safe = end


_HIGH_SURROGATE = re.compile(r"(\\+)u[dD][89abAB][0-9a-fA-F]{2}$")


def _without_high_surrogate(text: str) -> str:
    """`text` without a trailing `\\uD800`-`\\uDBFF` escape: half an emoji waits for its pair."""
    match = _HIGH_SURROGATE.search(text)
    if match is None or len(match.group(1)) % 2 == 0:  # an even run escapes the backslash
        return text
    return text[: match.start() + len(match.group(1)) - 1]


def _loads(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:  # a prefix the scanner could not close (malformed input): show nothing
        return None
