"""Content parts as OpenAI Responses API input content (for `openai_responses.to_input`'s
`encode_part` hook).

https://platform.openai.com/docs/api-reference/responses/create (input message
content): `input_text` (`output_text` on assistant turns); `input_image`
(`image_url`: URL or `data:` URI, `detail`, or `file_id`); `input_file`
(`file_data` data URI plus `filename`, `file_url`, or `file_id`); `input_audio`
(`{data, format}`). The Responses API caches prefixes by itself: a `CachePoint`
has no wire form, so `content` drops it (`encode_part` refuses it).
"""

from __future__ import annotations

from typing import Any

from llmkit.errors import ConfigurationError
from llmkit.parts import b64, data_uri
from llmkit.providers._codecs.parts_openai import AUDIO_FORMATS
from llmkit.types import Audio, CachePoint, Content, Document, FileRef, Image, Part, Role, Text

__all__ = ["content", "encode_part"]


def content(value: Content, role: Role = Role.USER) -> Any:
    """A message's `content`: the string, or its parts (CachePoints dropped)."""
    if isinstance(value, str):
        return value
    return [encode_part(p, role) for p in value if not isinstance(p, CachePoint)]


def encode_part(part: Part, role: Role) -> dict[str, Any]:
    """One part as a Responses content part."""
    if isinstance(part, Text):
        kind = "output_text" if role is Role.ASSISTANT else "input_text"
        return {"type": kind, "text": part.text}
    if isinstance(part, Image):
        image: dict[str, Any] = {"type": "input_image", "image_url": data_uri(part)}
        image["detail"] = part.detail or "auto"
        return image
    if isinstance(part, Document):
        if part.data is None:
            return {"type": "input_file", "file_url": part.url}
        name = part.filename or (
            "document.pdf" if part.media_type == "application/pdf" else "document.txt"
        )
        return {"type": "input_file", "filename": name, "file_data": data_uri(part)}
    if isinstance(part, FileRef):
        kind = "input_image" if (part.media_type or "").startswith("image/") else "input_file"
        return {"type": kind, "file_id": part.file_id}
    if isinstance(part, Audio):
        fmt = AUDIO_FORMATS.get(part.media_type or "")
        if part.data is None or fmt is None:
            raise ConfigurationError("the Responses API takes WAV or MP3 audio as bytes")
        return {"type": "input_audio", "input_audio": {"data": b64(part.data), "format": fmt}}
    raise ConfigurationError(
        "a CachePoint has no Responses API form (OpenAI caches prompt prefixes by itself); "
        "use parts_openai_responses.content, which drops it"
    )
