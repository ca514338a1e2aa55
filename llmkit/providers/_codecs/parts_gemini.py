"""Content parts as Gemini `generateContent` parts.

https://ai.google.dev/api/caching#Part : `text`; `inlineData` (`mimeType`,
base64 `data`) for bytes of any supported type (images, audio, video, PDF,
plain text); `fileData` (`mimeType`, `fileUri`) for a Files API URI or, on
Gemini 2.5+ models, a public http(s) URL
(https://ai.google.dev/gemini-api/docs/file-input-methods). Gemini has no
per-part cache breakpoints: its context caching is a cached-content reference
(`extra={"cachedContent": "cachedContents/..."}`), so `CachePoint`s are dropped.
"""

from __future__ import annotations

from typing import Any

from llmkit.parts import b64
from llmkit.types import Audio, CachePoint, Content, Document, FileRef, Image, Part, Text

__all__ = ["media_parts", "parts"]


def parts(content: Content, *, provider: str = "gemini") -> list[dict[str, Any]]:
    """The parts of a message's content; a plain string is one text part (none when empty)."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content:
        encoded = _part(part)
        if encoded is not None:
            out.append(encoded)
    return out


def media_parts(content: Content) -> list[dict[str, Any]]:
    """Only the media of a content (a tool result's text goes in its `functionResponse`)."""
    if isinstance(content, str):
        return []
    return [p for p in (_part(x) for x in content if not isinstance(x, Text)) if p is not None]


def _part(part: Part) -> dict[str, Any] | None:
    if isinstance(part, Text):
        return {"text": part.text} if part.text else None
    if isinstance(part, CachePoint):
        return None
    if isinstance(part, FileRef):
        data: dict[str, Any] = {"fileUri": part.file_id}
        if part.media_type:
            data["mimeType"] = part.media_type
        return {"fileData": data}
    return _media(part)


def _media(part: Image | Audio | Document) -> dict[str, Any]:
    media_type = part.media_type or "application/octet-stream"
    if part.url is not None:
        return {"fileData": {"mimeType": media_type, "fileUri": part.url}}
    assert part.data is not None
    return {"inlineData": {"mimeType": media_type, "data": b64(part.data)}}
