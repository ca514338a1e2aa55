"""Content parts as Anthropic Messages blocks.

https://docs.anthropic.com/en/api/messages (content blocks):
`text`; `image` with a `base64` (`media_type`, `data`), `url` or `file` source;
`document` with a `base64` PDF, a `text` source (plain text), a `url` or a
`file` source (Files API, beta `files-api-2025-04-14`). A `CachePoint` puts
`cache_control` on the block before it; at most four breakpoints a request
(https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching).
Tool results take text, image and document blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmkit.errors import ConfigurationError
from llmkit.parts import b64
from llmkit.types import Audio, CachePoint, Content, Document, FileRef, Image, Text

__all__ = [
    "MAX_BREAKPOINTS",
    "blocks",
    "cache_control",
    "check_breakpoints",
    "count_breakpoints",
    "system_param",
    "tool_result",
]

MAX_BREAKPOINTS = 4


def cache_control(ttl: str | None) -> dict[str, Any]:
    """An ephemeral `cache_control` (the `ttl` only when one was asked for)."""
    return {"type": "ephemeral", "ttl": ttl} if ttl else {"type": "ephemeral"}


def blocks(content: Content, *, provider: str = "anthropic") -> list[dict[str, Any]]:
    """The blocks of a message's content; a plain string is one text block (none when empty)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, CachePoint):
            if not out:
                raise ConfigurationError(
                    "a CachePoint must follow the part it caches (it is first in its message)",
                    provider=provider,
                )
            out[-1]["cache_control"] = cache_control(part.ttl)
        elif isinstance(part, Text):
            if part.text:
                out.append({"type": "text", "text": part.text})
        else:
            out.append(_media(part, provider))
    return out


def _media(part: Image | Audio | Document | FileRef, provider: str) -> dict[str, Any]:
    if isinstance(part, FileRef):
        kind = "image" if (part.media_type or "").startswith("image/") else "document"
        return {"type": kind, "source": {"type": "file", "file_id": part.file_id}}
    if isinstance(part, Audio):
        raise ConfigurationError(
            f"{provider} takes text, images (JPEG, PNG, GIF, WebP) and documents (PDF, plain "
            "text), not audio; transcribe it first or send it to Gemini or gpt-4o-audio",
            provider=provider,
        )
    kind = "image" if isinstance(part, Image) else "document"
    if part.url is not None:
        return {"type": kind, "source": {"type": "url", "url": part.url}}
    assert part.data is not None
    media_type = part.media_type or ""
    if kind == "document" and media_type.startswith("text/"):
        try:
            text = part.data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"a {media_type} Document must be UTF-8 text for {provider}", provider=provider
            ) from None
        return {
            "type": "document",
            "source": {"type": "text", "media_type": media_type, "data": text},
        }
    return {
        "type": kind,
        "source": {"type": "base64", "media_type": media_type, "data": b64(part.data)},
    }


def tool_result(content: Content, *, provider: str = "anthropic") -> Any:
    """A `tool_result`'s `content`: the string, or text, image and document blocks."""
    if isinstance(content, str):
        return content
    return blocks(content, provider=provider)


def system_param(systems: Sequence[Content], *, cache: bool = False) -> str | list[dict[str, Any]]:
    """The top-level `system`: a string, or text blocks when a part asks for a breakpoint
    (or `cache` puts one on the last block)."""
    if not cache and all(isinstance(s, str) for s in systems):
        return "\n\n".join(s for s in systems if isinstance(s, str) and s)
    out: list[dict[str, Any]] = []
    for content in systems:
        for block in blocks(content):
            if block["type"] != "text":
                raise ConfigurationError("a system prompt takes text and CachePoints only")
            out.append(block)
    if cache and out and "cache_control" not in out[-1]:
        out[-1]["cache_control"] = cache_control(None)
    return out


def check_breakpoints(params: dict[str, Any], *, provider: str, model: str) -> None:
    """Raise `ConfigurationError` when a body holds more breakpoints than Anthropic allows."""
    count = count_breakpoints({k: params.get(k) for k in ("system", "tools", "messages")})
    if count > MAX_BREAKPOINTS:
        raise ConfigurationError(
            f"{provider} allows at most {MAX_BREAKPOINTS} prompt-cache breakpoints a request; "
            f"this one has {count} (CachePoint parts, cache_system, cache_tools): keep the "
            "last few, the cache reads every prefix before a breakpoint",
            provider=provider,
            model=model,
        )


def count_breakpoints(value: Any) -> int:
    """How many `cache_control` marks a body (or part of one) holds."""
    if isinstance(value, dict):
        return ("cache_control" in value) + sum(count_breakpoints(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_breakpoints(v) for v in value)
    return 0
