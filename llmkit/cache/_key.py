"""Cache keys: a SHA-256 of the canonical JSON of a request as sent.

The canonical form is llmkit's own plain data for the `Request` (model id as
the host knows it, messages with their parts, every parameter, tools, the
output schema, host `extra`), under the provider's name and a format version,
written with sorted keys, no whitespace and `ensure_ascii`: the same bytes on
every run, platform and Python version (floats print as their shortest
round-tripping repr since 3.1). Secrets are never part of it: a `Request`
holds no key, no header and no URL. Bytes (images, audio) enter as their
SHA-256, so a key never holds content either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from llmkit.types import Request, to_dict

__all__ = ["VERSION", "canonical", "embedding_keys", "request_key"]

VERSION = 1
"""Bumped when the canonical form changes, so old entries are never read as new ones."""


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"sha256": hashlib.sha256(bytes(value)).hexdigest()}
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"cannot key a {type(value).__name__}")


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    """An llmkit value's fields without the unset ones (None, "", empty), one level deep:
    so a field added later with an unset default leaves every existing key alone, while
    data inside the fields (a tool's JSON Schema, `extra`) is kept exactly as given."""
    return {k: v for k, v in data.items() if not _unset(v)}


def _pruned(request: dict[str, Any]) -> dict[str, Any]:
    out = _fields(request)
    messages = []
    for message in out.get("messages", ()):
        message = _fields(message)
        if "tool_calls" in message:
            message["tool_calls"] = [_fields(c) for c in message["tool_calls"]]
        if isinstance(message.get("content"), list):  # content parts
            message["content"] = [
                _fields(p) if isinstance(p, dict) else p for p in message["content"]
            ]
        messages.append(message)
    out["messages"] = messages
    if "tools" in out:
        out["tools"] = [_fields(t) for t in out["tools"]]
    return out


def canonical(value: Any) -> bytes:
    """`value` as canonical JSON bytes (sorted keys, compact, ASCII)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_default
    ).encode("ascii")


def request_key(provider: str, request: Request, *, kind: str = "complete") -> str:
    """The key of `request` sent to `provider` (`kind`: `complete` or `stream`)."""
    data = {"v": VERSION, "kind": kind, "provider": provider, "request": _pruned(to_dict(request))}
    return f"llmkit:{kind}:{hashlib.sha256(canonical(data)).hexdigest()}"


def embedding_keys(
    provider: str,
    texts: Sequence[str],
    *,
    model: str,
    kind: str | None,
    dimensions: int | None,
) -> list[str]:
    """One key per input text: vectors are cached per input."""
    head = canonical(
        {"v": VERSION, "provider": provider, "model": model, "kind": kind, "dims": dimensions}
    )
    keys = []
    for text in texts:
        digest = hashlib.sha256(head + b"\0" + text.encode("utf-8", "surrogatepass"))
        keys.append(f"llmkit:embed:{digest.hexdigest()}")
    return keys
