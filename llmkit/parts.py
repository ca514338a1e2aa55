"""Content parts' helpers: media-type sniffing, reading files, base64, plain data.

The part types themselves (`Text`, `Image`, `Audio`, `Document`, `FileRef`,
`CachePoint`) live in `llmkit.types`; this module holds what they need at
construction (the media type, from the magic bytes or the file name) and what
the codecs share (base64 text, data URIs, the part's kind). Pure functions, no
I/O except `read_path`; the URL downloader is `llmkit.media_download`.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from llmkit.errors import ConfigurationError

if TYPE_CHECKING:
    from llmkit.types import Audio, Document, Image, Part

__all__ = [
    "b64",
    "check_media",
    "data_uri",
    "kind_of",
    "normalise_media_type",
    "read_path",
    "sniff",
]

# The corpus README's aliases: one name per type, as the hosts document them.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-flac": "audio/flac",
    "application/x-pdf": "application/pdf",
}

# Names `mimetypes` may not know on every platform.
_EXTENSIONS = {
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".md": "text/markdown",
}

_DETAILS = (None, "auto", "low", "high")


def normalise_media_type(media_type: str) -> str:
    """Lower case, parameters dropped, aliases folded (`image/jpg` -> `image/jpeg`)."""
    bare = media_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(bare, bare)


def sniff(data: bytes) -> str | None:
    """The media type the magic bytes say, or None when they say nothing known."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        return "video/mp4"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "video/webm"
    return None


def guess_from_name(name: str) -> str | None:
    """The media type a file name or URL path suggests (stdlib `mimetypes`)."""
    path = urlsplit(name).path if "://" in name else name
    ext = os.path.splitext(path)[1].lower()
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return normalise_media_type(guessed) if guessed else None


def check_media(part: Image | Audio | Document) -> None:
    """Validate a binary part and fill in its media type (called by the constructors)."""
    kind = type(part).__name__
    if (part.data is None) == (part.url is None):
        raise ConfigurationError(f"{kind} takes exactly one of data= (bytes) or url= (a string)")
    data: Any = part.data
    if data is not None and not isinstance(data, bytes | bytearray | memoryview):
        raise ConfigurationError(
            f"{kind}(data=...) takes bytes, not {type(part.data).__name__}; "
            f"use {kind}.from_path(...) for a file or url= for a URL"
        )
    if data is not None and not isinstance(data, bytes):
        object.__setattr__(part, "data", bytes(data))
    if part.url is not None:
        scheme = urlsplit(part.url).scheme.lower()
        if scheme not in ("http", "https", "gs", "s3", "data"):
            raise ConfigurationError(
                f"{kind}(url=...) takes an http(s) URL, not {part.url[:40]!r}; "
                f"use {kind}.from_path(...) for a local file"
            )
    media_type = part.media_type
    if media_type is None and part.data is not None:
        media_type = sniff(part.data)
    if media_type is None and part.filename:
        media_type = guess_from_name(part.filename)
    if media_type is None and part.url is not None and not part.url.startswith("data:"):
        media_type = guess_from_name(part.url)
    if media_type is None and part.data is not None and kind == "Document":
        media_type = "text/plain" if _is_text(part.data) else None
    if media_type is not None:
        object.__setattr__(part, "media_type", normalise_media_type(media_type))
    elif part.data is not None:
        raise ConfigurationError(
            f"{kind}: cannot tell the media type of these bytes; pass media_type= "
            "(for example 'image/png', 'application/pdf', 'audio/wav')"
        )
    detail = getattr(part, "detail", None)
    if detail not in _DETAILS:
        raise ConfigurationError(f"Image detail must be 'auto', 'low' or 'high', not {detail!r}")


def _is_text(data: bytes) -> bool:
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data[:4096]


def read_path(path: str | os.PathLike[str]) -> tuple[bytes, str]:
    """The bytes and base name of a local file, with a clear error when it cannot be read."""
    p = Path(path).expanduser()
    try:
        return p.read_bytes(), p.name
    except FileNotFoundError:
        raise ConfigurationError(f"no such file: {str(p)!r}") from None
    except IsADirectoryError:
        raise ConfigurationError(f"{str(p)!r} is a directory, not a file") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {str(p)!r}: {exc.strerror}") from None


def b64(data: bytes) -> str:
    """Standard base64 text, no line breaks."""
    return base64.b64encode(data).decode("ascii")


def data_uri(part: Image | Audio | Document) -> str:
    """The part as a `data:` URI (its URL verbatim when it has one)."""
    if part.data is None:
        return part.url or ""
    return f"data:{part.media_type or 'application/octet-stream'};base64,{b64(part.data)}"


def kind_of(part: Part) -> str:
    """`text`, `image`, `audio`, `document`, `file_ref` or `cache_point`."""
    from llmkit.types import Audio, CachePoint, Document, FileRef, Image

    if isinstance(part, Image):
        return "image"
    if isinstance(part, Audio):
        return "audio"
    if isinstance(part, Document):
        return "document"
    if isinstance(part, FileRef):
        return "file_ref"
    if isinstance(part, CachePoint):
        return "cache_point"
    return "text"


# -- plain data (cattrs) ---------------------------------------------------------------


def register_cattrs(conv: Any) -> None:
    """Teach `llmkit.types`' converter parts: a `kind` tag, bytes as base64."""
    import attrs

    from llmkit import types as t

    classes = {
        "text": t.Text,
        "image": t.Image,
        "audio": t.Audio,
        "document": t.Document,
        "file_ref": t.FileRef,
        "cache_point": t.CachePoint,
    }

    def unstructure(part: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": kind_of(part)}
        for a in attrs.fields(type(part)):
            value = getattr(part, a.name)
            if value is None:
                continue
            data[a.name] = b64(value) if isinstance(value, bytes) else value
        return data

    def structure_part(data: Any) -> Any:
        if not isinstance(data, dict) or data.get("kind") not in classes:
            raise ConfigurationError(f"not a content part: {str(data)[:80]!r}")
        fields = {k: v for k, v in data.items() if k != "kind"}
        if "data" in fields:
            fields["data"] = base64.b64decode(fields["data"])
        return classes[data["kind"]](**fields)

    def structure_content(data: Any, _: Any) -> Any:
        if isinstance(data, str):
            return data
        return tuple(structure_part(item) for item in data)

    for cls in classes.values():
        conv.register_unstructure_hook(cls, unstructure)
        conv.register_structure_hook(cls, lambda data, _: structure_part(data))
    conv.register_structure_hook(t.Content, structure_content)


# -- editing content (clients' rewrites) -----------------------------------------------


def prepend_text(content: Any, text: str, sep: str = "\n\n") -> Any:
    """`text` before a message's content: joined to a string, or to its first text part."""
    from llmkit.types import Text

    if isinstance(content, str):
        return f"{text}{sep}{content}" if content else text
    parts = list(content)
    if parts and isinstance(parts[0], Text):
        parts[0] = Text(f"{text}{sep}{parts[0].text}")
    else:
        parts.insert(0, Text(text))
    return tuple(parts)


def append_text(content: Any, text: str, sep: str = " ") -> Any:
    """`text` after a message's content: joined to a string, or to its last text part."""
    from llmkit.types import Text

    if isinstance(content, str):
        return f"{content}{sep}{text}".lstrip() if content else text
    parts = list(content)
    if parts and isinstance(parts[-1], Text):
        parts[-1] = Text(f"{parts[-1].text}{sep}{text}")
    else:
        parts.append(Text(text))
    return tuple(parts)


def join_contents(a: Any, b: Any, sep: str = "\n\n") -> Any:
    """Two messages' contents as one (strings joined by `sep`; parts concatenated)."""
    from llmkit.types import Text

    if isinstance(a, str) and isinstance(b, str):
        return sep.join(x for x in (a, b) if x)
    left = (Text(a),) if isinstance(a, str) and a else (() if isinstance(a, str) else tuple(a))
    right = (Text(b),) if isinstance(b, str) and b else (() if isinstance(b, str) else tuple(b))
    return left + right


def rough_bytes(content: Any) -> int:
    """About how many bytes a message's content takes on the wire (base64 for binary)."""
    if isinstance(content, str):
        return len(content.encode())
    total = 0
    for part in content:
        data = getattr(part, "data", None)
        text = getattr(part, "text", None) or getattr(part, "url", None) or ""
        total += (len(data) * 4 // 3 + 64) if data is not None else len(text.encode()) + 32
    return total


def cache_after_system(messages: Any) -> tuple[Any, ...]:
    """The messages with a `CachePoint` closing the last system prompt (`cache_system=True`)."""
    from attrs import evolve

    from llmkit.types import CachePoint, Role

    out = list(messages)
    for index in range(len(out) - 1, -1, -1):
        message = out[index]
        if message.role is Role.SYSTEM:
            parts = message.parts
            if not (parts and isinstance(parts[-1], CachePoint)):
                out[index] = evolve(message, content=(*parts, CachePoint()))
            break
    return tuple(out)


def part_from_path(path: str | os.PathLike[str]) -> Any:
    """An `Image`, `Audio` or `Document` for a file, by its type (the CLI's `--attach`)."""
    from llmkit.types import Audio, Document, Image

    data, name = read_path(path)
    media_type = sniff(data) or guess_from_name(name)
    if media_type is None:
        media_type = "text/plain" if _is_text(data) else None
    if media_type is None:
        raise ConfigurationError(
            f"cannot tell what {name!r} is; attach images, audio, PDFs or text files"
        )
    if media_type.startswith("image/"):
        return Image(data=data, media_type=media_type, filename=name)
    if media_type.startswith("audio/"):
        return Audio(data=data, media_type=media_type, filename=name)
    return Document(data=data, media_type=media_type, filename=name)
