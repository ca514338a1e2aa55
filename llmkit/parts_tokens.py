"""Estimated prompt tokens of media parts, from the hosts' published formulas.

Always estimates (a `TokenCount` that includes them says `estimate:`):

- images, OpenAI tiles: 85 + 170 per 512-px tile after fitting in 2048x2048 and
  scaling the short side to 768 (`detail="low"`: 85)
  https://platform.openai.com/docs/guides/images-vision#calculating-costs ;
  Anthropic's `width * height / 750` (about 1,600 for a 1.15-megapixel image)
  https://docs.anthropic.com/en/docs/build-with-claude/vision#calculate-image-costs ;
  Gemini 258 per image up to 384 px a side, else per 768-px tile
  https://ai.google.dev/gemini-api/docs/tokens#multimodal-tokens ;
- audio: Gemini counts 32 tokens per second; other hosts about the same order;
- PDFs: about 1,500-3,000 tokens a page on Anthropic (text plus a page image);
  2,000 a page is used; plain text: its bytes / 4.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any

__all__ = ["image_size", "part_tokens"]

_UNKNOWN_IMAGE = 1024 * 1024


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, GIF, JPEG or WebP header, or None."""
    try:
        if data.startswith(b"\x89PNG") and len(data) >= 24:
            return struct.unpack(">II", data[16:24])
        if data.startswith(b"GIF8") and len(data) >= 10:
            return struct.unpack("<HH", data[6:10])
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data.startswith(b"\xff\xd8"):
            return _jpeg(data)
    except struct.error:
        return None
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None


def _openai_image(size: tuple[int, int], detail: str | None) -> int:
    if detail == "low":
        return 85
    w, h = float(size[0]), float(size[1])
    scale = min(1.0, 2048 / max(w, h))
    w, h = w * scale, h * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def _anthropic_image(size: tuple[int, int]) -> int:
    w, h = size
    scale = min(1.0, 1568 / max(w, h), math.sqrt(1_150_000 / (w * h)) if w * h else 1.0)
    return max(1, math.ceil(w * scale * h * scale / 750))


def _gemini_image(size: tuple[int, int]) -> int:
    w, h = size
    if w <= 384 and h <= 384:
        return 258
    return 258 * math.ceil(w / 768) * math.ceil(h / 768)


def _pdf_pages(data: bytes) -> int:
    return max(1, len(re.findall(rb"/Type\s*/Page[^s]", data)))


def part_tokens(part: Any, model: str = "") -> int:
    """About how many prompt tokens `part` takes on the host `model` suggests."""
    from llmkit.types import Audio, CachePoint, Document, FileRef, Image, Text

    if isinstance(part, Text):
        return len(part.text.encode()) // 4 + 1
    if isinstance(part, CachePoint):
        return 0
    if isinstance(part, Image):
        size = image_size(part.data) if part.data is not None else None
        if not size or min(size) <= 0:  # unknown or a broken header: a 1024-px square
            size = (1024, 1024)
        name = model.lower()
        if "claude" in name:
            return _anthropic_image(size)
        if "gemini" in name:
            return _gemini_image(size)
        return _openai_image(size, part.detail)
    if isinstance(part, Audio):
        if part.data is None:
            return 32 * 60
        seconds = len(part.data) / 16_000  # ~128 kbit/s compressed, 16 kB/s
        return max(1, math.ceil(32 * seconds))
    if isinstance(part, Document):
        if part.data is None:
            return 2000
        if part.media_type == "application/pdf":
            return 2000 * _pdf_pages(part.data)
        return len(part.data) // 4 + 1
    if isinstance(part, FileRef):
        return 2000
    return 0
