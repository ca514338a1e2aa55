"""Content parts: construction, sniffing, Message.user/text, plain-data round trip."""

from __future__ import annotations

import pytest

from llmkit import Audio, CachePoint, ConfigurationError, Document, FileRef, Image, Message, Text
from llmkit.parts import sniff
from llmkit.types import Role, from_dict, to_dict

PNG = (
    b"\x89PNG\r\n\x1a\n"
    + b"\x00\x00\x00\rIHDR"
    + (640).to_bytes(4, "big")
    + (480).to_bytes(4, "big")
)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "
PDF = b"%PDF-1.4\n1 0 obj << /Type /Page >>"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (WAV, "audio/wav"),
        (b"ID3\x04\x00", "audio/mpeg"),
        (b"fLaC\x00\x00", "audio/flac"),
        (b"OggS\x00\x02", "audio/ogg"),
        (b"\x00\x00\x00\x20ftypM4A \x00", "audio/mp4"),
        (PDF, "application/pdf"),
        (b"hello", None),
    ],
)
def test_sniff_reads_magic_bytes(data: bytes, expected: str | None) -> None:
    assert sniff(data) == expected


def test_media_type_from_bytes_name_or_url(tmp_path) -> None:
    assert Image.from_bytes(PNG).media_type == "image/png"
    assert Image.from_bytes(PNG, media_type="image/jpg").media_type == "image/jpeg"  # alias folded
    assert Image.from_url("https://example.com/a/cat.JPG?x=1").media_type == "image/jpeg"
    assert Image.from_url("https://example.com/picture").media_type is None
    path = tmp_path / "voice.mp3"
    path.write_bytes(b"\x00\x00unknown")
    audio = Audio.from_path(path)
    assert (audio.media_type, audio.filename, audio.data) == (
        "audio/mpeg",
        "voice.mp3",
        b"\x00\x00unknown",
    )
    text = tmp_path / "notes.txt"
    text.write_text("plain words")
    assert Document.from_path(text).media_type == "text/plain"
    assert Document.from_text("x").data == b"x"


def test_bad_parts_fail_with_clear_errors(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="exactly one of data"):
        Image()
    with pytest.raises(ConfigurationError, match="exactly one of data"):
        Image(data=PNG, url="https://x/y.png")
    with pytest.raises(ConfigurationError, match="takes bytes"):
        Image(data="iVBOR")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="media_type="):
        Image.from_bytes(b"\x01\x02\x03")
    with pytest.raises(ConfigurationError, match="no such file"):
        Image.from_path(tmp_path / "missing.png")
    with pytest.raises(ConfigurationError, match="http"):
        Image(url="file:///etc/passwd")
    with pytest.raises(ConfigurationError, match="detail"):
        Image(data=PNG, detail="ultra")
    with pytest.raises(ConfigurationError, match="ttl"):
        CachePoint(ttl="2h")
    with pytest.raises(ConfigurationError, match="not int"):
        Message(Role.USER, content=[Text("a"), 3])  # type: ignore[list-item]


def test_message_user_keeps_plain_strings_and_orders_parts() -> None:
    assert Message.user("hi").content == "hi"
    image = Image.from_bytes(PNG)
    message = Message.user("What is in this picture?", image, "and this?")
    assert message.content == (Text("What is in this picture?"), image, Text("and this?"))
    assert message.text == "What is in this picture?\nand this?"
    assert Message.user(image).content == (image,)
    assert Message.user(image).text == ""
    assert Message.user("hi").parts == (Text("hi"),)


def test_to_dict_round_trips_every_part_kind() -> None:
    message = Message.user(
        "look",
        Image.from_bytes(PNG, detail="high"),
        Image.from_url("https://example.com/x.png"),
        Audio.from_bytes(WAV),
        Document.from_bytes(PDF),
        FileRef("file-abc", "openai", "application/pdf"),
        CachePoint("1h"),
    )
    data = to_dict(message)
    assert data["content"][1]["kind"] == "image"
    assert isinstance(data["content"][1]["data"], str)  # base64 text, JSON-ready
    assert from_dict(data, Message) == message
    assert from_dict(to_dict(Message.user("plain")), Message).content == "plain"
