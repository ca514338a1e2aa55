"""The Responses API part encoder (wired into `openai_responses.to_input` by its `encode_part`)."""

from __future__ import annotations

import pytest

from llmkit import Audio, CachePoint, ConfigurationError, Document, FileRef, Image, Message
from llmkit.providers._codecs import openai_responses
from llmkit.providers._codecs.parts_openai_responses import content, encode_part
from llmkit.types import Role

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
WAV = b"RIFF\x00\x00\x00\x00WAVEfmt "


def test_every_part_kind() -> None:
    parts = content(
        Message.user(
            "look",
            Image.from_bytes(PNG, detail="high"),
            Document(data=b"%PDF-1.4", filename="a.pdf"),
            Document.from_url("https://example.com/a.pdf"),
            FileRef("file-1", "openai", "image/png"),
            Audio.from_bytes(WAV),
            CachePoint(),
        ).content
    )
    assert parts[0] == {"type": "input_text", "text": "look"}
    assert parts[1]["type"] == "input_image" and parts[1]["detail"] == "high"
    assert parts[1]["image_url"].startswith("data:image/png;base64,")
    assert parts[2]["filename"] == "a.pdf" and parts[2]["file_data"].startswith(
        "data:application/pdf"
    )
    assert parts[3] == {"type": "input_file", "file_url": "https://example.com/a.pdf"}
    assert parts[4] == {"type": "input_image", "file_id": "file-1"}
    assert parts[5]["input_audio"]["format"] == "wav"
    assert len(parts) == 6
    with pytest.raises(ConfigurationError, match="CachePoint"):
        encode_part(CachePoint(), Role.USER)


def test_the_hook_of_the_responses_codec() -> None:
    items = openai_responses.to_input(
        [Message.user("what?", Image.from_bytes(PNG))], encode_part=encode_part
    )
    assert items[0]["content"][1]["type"] == "input_image"
