"""Content parts as OpenAI Chat Completions content parts (and the hosts that copy them).

https://platform.openai.com/docs/api-reference/chat/create (user message
content parts): `text`; `image_url` (`url`: an http(s) URL or a `data:` URI,
`detail`); `input_audio` (`data` base64, `format` `wav` or `mp3`); `file`
(`file_data` a `data:` URI plus `filename`, or `file_id`).

Per host (the `Dialect` name), where they differ:

- Mistral: `image_url` (`{"url"}`), `document_url` (a URL or a `data:` URI),
  `input_audio` (https://docs.mistral.ai/capabilities/vision/ ,
  https://docs.mistral.ai/capabilities/document_ai/ , https://docs.mistral.ai/capabilities/audio/);
- OpenRouter: `file` parts may carry a URL in `file_data`, and a part's
  `cache_control` is passed to hosts that cache (https://openrouter.ai/docs/features/prompt-caching);
- Cohere v2 chat uses the same `image_url` parts (https://docs.cohere.com/reference/chat).

What a host accepts at all is checked before encoding (`llmkit.media_support`);
this module only writes the wire.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from llmkit.errors import ConfigurationError
from llmkit.parts import b64, data_uri
from llmkit.types import Audio, CachePoint, Content, Document, FileRef, Image, Part, Request, Text

__all__ = ["AUDIO_FORMATS", "cache_params", "content", "ollama_images"]

# OpenAI's `input_audio.format` values for media types.
AUDIO_FORMATS = {"audio/wav": "wav", "audio/mpeg": "mp3"}

_CACHE_CONTROL_HOSTS = ("openrouter",)


def content(value: Content, *, host: str = "openai") -> Any:
    """A message's `content`: the string as it is, or a list of content parts."""
    if isinstance(value, str):
        return value
    out: list[dict[str, Any]] = []
    for part in value:
        if isinstance(part, CachePoint):
            if host in _CACHE_CONTROL_HOSTS and out:
                out[-1]["cache_control"] = (
                    {"type": "ephemeral", "ttl": part.ttl} if part.ttl else {"type": "ephemeral"}
                )
            continue  # other hosts cache prompt prefixes by themselves
        out.append(_part(part, host))
    return out


def _part(part: Part, host: str) -> dict[str, Any]:
    if isinstance(part, Text):
        return {"type": "text", "text": part.text}
    if isinstance(part, Image):
        image: dict[str, Any] = {"url": data_uri(part)}
        if part.detail:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    if isinstance(part, Audio):
        return _audio(part, host)
    if isinstance(part, Document):
        if host == "mistral":
            return {"type": "document_url", "document_url": data_uri(part)}
        if part.data is None and host != "openrouter":
            raise ConfigurationError(
                f"{host} takes documents as bytes, not URLs; let llmkit download it "
                "(download='auto') or pass Document.from_path(...)",
                provider=host,
            )
        file: dict[str, Any] = {"filename": part.filename or _default_name(part)}
        file["file_data"] = data_uri(part)
        return {"type": "file", "file": file}
    if isinstance(part, FileRef):
        return {"type": "file", "file": {"file_id": part.file_id}}
    raise ConfigurationError(f"{host} cannot take a {type(part).__name__} part", provider=host)


def _audio(part: Audio, host: str) -> dict[str, Any]:
    if part.data is None:
        raise ConfigurationError(
            f"{host} takes audio as bytes, not URLs; let llmkit download it "
            "(download='auto') or pass Audio.from_path(...)",
            provider=host,
        )
    fmt = AUDIO_FORMATS.get(part.media_type or "")
    if fmt is None:
        raise ConfigurationError(
            f"{host} takes WAV or MP3 audio, not {part.media_type}; convert it first",
            provider=host,
        )
    return {"type": "input_audio", "input_audio": {"data": b64(part.data), "format": fmt}}


def _default_name(part: Document) -> str:
    return "document.pdf" if part.media_type == "application/pdf" else "document.txt"


def ollama_images(value: Content, *, host: str = "ollama") -> tuple[str, list[str]]:
    """Ollama's native `/api/chat`: the text as `content`, the images as bare base64 `images`
    (https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-with-images)."""
    if isinstance(value, str):
        return value, []
    texts: list[str] = []
    images: list[str] = []
    for part in value:
        if isinstance(part, Text):
            texts.append(part.text)
        elif isinstance(part, Image) and part.data is not None:
            images.append(b64(part.data))
        elif isinstance(part, CachePoint):
            continue
        else:
            raise ConfigurationError(
                f"{host} takes text and images as bytes, not {_describe(part)}; "
                "download URLs first (download='auto')",
                provider=host,
            )
    return "\n".join(texts), images


def _describe(part: Part) -> str:
    if isinstance(part, Image):
        return "an image URL"
    return f"a {type(part).__name__} part"


# Models with extended (24 h) prompt-cache retention:
# https://platform.openai.com/docs/guides/prompt-caching#extended-prompt-cache-retention
_LONG_RETENTION = re.compile(r"^(gpt-5|gpt-4\.1)")


def cache_params(request: Request, host: str) -> dict[str, Any]:
    """OpenAI's `prompt_cache_key` (and `prompt_cache_retention` for a `1h` breakpoint on
    models that keep caches for 24 h) when the request marks a cacheable prefix.

    The key hashes the prefix up to the last breakpoint, so requests sharing that prefix
    are routed to the same cache (https://platform.openai.com/docs/guides/prompt-caching).
    """
    if host != "openai":
        return {}
    last = -1
    ttls: list[str | None] = []
    for index, message in enumerate(request.messages):
        points = [p for p in message.parts if isinstance(p, CachePoint)]
        if points:
            last = index
            ttls += [p.ttl for p in points]
    if last < 0 and not request.cache_tools:
        return {}
    digest = hashlib.sha256(request.model.encode())
    for spec in request.tools if request.cache_tools else ():
        digest.update(
            json.dumps([spec.name, spec.description, spec.parameters], sort_keys=True).encode()
        )
    for message in request.messages[: last + 1]:
        digest.update(str(message.role).encode() + b"\0")
        for part in message.parts:
            data = getattr(part, "data", None)
            piece = data if isinstance(data, bytes) else repr(part).encode()
            digest.update(hashlib.sha256(piece).digest())
    params: dict[str, Any] = {"prompt_cache_key": f"llmkit-{digest.hexdigest()[:32]}"}
    if "1h" in ttls and _LONG_RETENTION.match(request.model):
        params["prompt_cache_retention"] = "24h"
    return params
