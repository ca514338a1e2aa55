"""Cache keys: a SHA-256 of the canonical text of a request as sent.

The canonical text holds the provider's name and a format version, then the
request as the host gets it: the model id, each message (role and text,
length-prefixed; tool calls, reasoning and provider data as JSON), every
parameter (numbers as their shortest round-tripping repr, the same on every
Python since 3.1), tools, the output schema and host `extra` as compact JSON
with sorted keys. So the key is the same on every run, platform and Python
version (a test pins one). A request of another shape (content parts, a
field this module does not know) is keyed by its whole plain data instead.
Secrets are never part of it: a `Request` holds no key, no header and no
URL. Bytes (images, audio) enter as their SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import attrs

from llmkit.types import Message, Request, to_dict

__all__ = ["VERSION", "canonical", "canonical_request", "embedding_keys", "request_key"]

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


# The common shape, encoded without building a dict: llmkit's own fields read directly
# (texts length-prefixed, numbers as their shortest repr), JSON only for the fields that
# hold JSON (tools, response_format, extra, provider data). Any other shape (a field this
# module does not know, content parts) is keyed by its whole plain data instead.
_KNOWN = {
    Request: ("model", "messages", "temperature", "max_tokens", "top_p", "stop", "tools",
              "tool_choice", "response_format", "seed", "extra", "cache_tools"),
    Message: ("role", "content", "tool_calls", "tool_call_id", "name", "reasoning",
              "provider_data"),
}  # fmt: skip
_FAST = all(tuple(f.name for f in attrs.fields(cls)) == names for cls, names in _KNOWN.items())
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_default
)
_SCALARS = ("temperature", "max_tokens", "top_p", "tool_choice", "seed")


def _text(value: str) -> str:
    return f"{len(value)}:{value}"


def _fast(request: Request) -> list[str] | None:
    parts = [_text(request.model)]
    for m in request.messages:
        content: Any = m.content  # text, or (with content parts) a tuple of parts
        if not isinstance(content, str):
            return None
        parts.append(f"|m{m.role}{len(content)}:{content}")
        if m.tool_calls or m.tool_call_id or m.name or m.reasoning or m.provider_data:
            extras = {
                "tool_calls": [_fields(to_dict(c)) for c in m.tool_calls],
                "tool_call_id": m.tool_call_id,
                "name": m.name,
                "reasoning": m.reasoning,
                "provider_data": m.provider_data,
            }
            parts += ("+", _ENCODER.encode(_fields(extras)))
    for name in _SCALARS:
        value = getattr(request, name)
        if value is not None:
            parts += ("|", name, "=", _text(value) if isinstance(value, str) else repr(value))
    if request.stop:
        parts += ("|stop=", _ENCODER.encode(list(request.stop)))
    if request.tools:
        parts += ("|tools=", _ENCODER.encode([_fields(to_dict(t)) for t in request.tools]))
    if request.response_format:
        parts += ("|response_format=", _ENCODER.encode(request.response_format))
    if request.extra:
        parts += ("|extra=", _ENCODER.encode(request.extra))
    if request.cache_tools:
        parts.append("|cache_tools")
    return parts


def canonical_request(provider: str, request: Request, *, kind: str = "complete") -> str:
    """The canonical text of `request` sent to `provider`: what its key hashes."""
    head = f"llmkit-cache/{VERSION}|{kind}|{_text(provider)}|"
    fast = _fast(request) if _FAST else None
    if fast is None:
        return head + "plain=" + _ENCODER.encode(_pruned(to_dict(request)))
    return head + "".join(fast)


def canonical(value: Any) -> bytes:
    """`value` as canonical JSON bytes (sorted keys, compact, ASCII)."""
    return _ENCODER.encode(value).encode("ascii")


def request_key(provider: str, request: Request, *, kind: str = "complete") -> str:
    """The key of `request` sent to `provider` (`kind`: `complete` or `stream`)."""
    text = canonical_request(provider, request, kind=kind)
    return f"llmkit:{kind}:{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}"


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
