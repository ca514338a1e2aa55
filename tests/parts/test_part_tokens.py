"""Token counting and the context bound include media parts, as marked estimates."""

from __future__ import annotations

import struct

from llmkit import Image, Message
from llmkit.context import upper_bound
from llmkit.parts_tokens import image_size, part_tokens
from llmkit.tokens import count_messages


def _png(width: int, height: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", width, height) + b"\x00" * 8


def test_image_sizes_and_host_formulas() -> None:
    assert image_size(_png(1024, 768)) == (1024, 768)
    image = Image.from_bytes(_png(1024, 1024))
    # OpenAI: 1024x1024 -> 768x768 -> 2x2 tiles: 85 + 170 * 4
    assert part_tokens(image, "gpt-4o") == 765
    assert part_tokens(Image.from_bytes(_png(1024, 1024), detail="low"), "gpt-4o") == 85
    # Anthropic: w*h/750 after fitting 1.15 megapixels: 1024*1024/750
    assert part_tokens(image, "claude-sonnet-4-5") == 1399
    # Gemini: small images 258; larger ones 258 per 768-px tile
    assert part_tokens(Image.from_bytes(_png(300, 300)), "gemini-2.5-flash") == 258
    assert part_tokens(image, "gemini-2.5-flash") == 258 * 4


def test_counts_include_images_as_estimates() -> None:
    text_only = count_messages([Message.user("what is this?")], "gpt-4o")
    with_image = count_messages(
        [Message.user("what is this?", Image.from_bytes(_png(1024, 1024)))], "gpt-4o"
    )
    assert with_image - text_only == 765
    assert not with_image.exact and with_image.method.startswith("estimate")
    message = Message.user("x", Image.from_bytes(_png(1024, 1024)))
    assert upper_bound([message]) > upper_bound([Message.user("x")]) + 765
