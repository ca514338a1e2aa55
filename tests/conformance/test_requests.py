"""Every case of the request-encoding corpus (`../shared/conformance/requests/`), replayed.

Each case describes a conversation with images, documents, audio, file
references and cache breakpoints in neutral terms (`input`); llmkit builds its
request from it with content parts, sends it through the provider the case
names to a mock transport serving the recorded answer, and the body it sent,
normalised by the rules of the corpus README, must equal `expect` (the same
normalisation of the body the host accepted).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from llmkit import Audio, CachePoint, Document, FileRef, Image, Text
from llmkit.providers import (
    AnthropicProvider,
    CohereProvider,
    GeminiProvider,
    GroqProvider,
    MistralProvider,
    OpenAICompatibleProvider,
    OpenAIProvider,
    OpenRouterProvider,
)
from llmkit.types import Message, Part, Request, Role
from tests.conformance import harness

CASES = harness.CORPUS / "requests" / "cases"
FILES = sorted(CASES.glob("*.json")) if CASES.is_dir() else []

OPENAI_CHAT = {
    "openai": OpenAIProvider,
    "groq": GroqProvider,
    "mistral": MistralProvider,
    "openrouter": OpenRouterProvider,
}

# -- the case's input as llmkit parts -------------------------------------------------


def _part(p: dict[str, Any], provider: str) -> Part:
    kind = p["kind"]
    if kind == "text":
        return Text(p["text"])
    if kind == "cache_point":
        return CachePoint(ttl=p.get("ttl"))
    if kind == "file_ref":
        return FileRef(p["file_id"], provider, p.get("media_type"))
    cls = {"image": Image, "audio": Audio, "document": Document}[kind]
    hints = {"detail": p["detail"]} if p.get("detail") else {}
    if "data_b64" in p:
        return cls(data=base64.b64decode(p["data_b64"]), media_type=p.get("media_type"), **hints)
    return cls(url=p["url"], media_type=p.get("media_type"), **hints)


def _request(case: dict[str, Any]) -> Request:
    body = case["request"]["json"]
    provider = {"google": "gemini"}.get(case["provider"], case["provider"])
    messages = [
        Message(Role(m["role"]), tuple(_part(p, provider) for p in m["parts"]))
        for m in case["input"]["messages"]
    ]
    if case["api"] == "gemini":
        model = case["request"]["url"].split("/models/")[1].split(":")[0]
    else:
        model = body.get("model") or "deployment"
    return Request(model=model, messages=messages, max_tokens=body.get("max_tokens"))


def _provider(case: dict[str, Any], client: httpx2.AsyncClient) -> Any:
    api, url = case["api"], case["request"]["url"].split("?")[0]
    common: dict[str, Any] = {"api_key": "test-key", "http_client": client, "retry": None}
    if api == "anthropic-messages":
        return AnthropicProvider(base_url=url.removesuffix("/v1/messages"), **common)
    if api == "gemini":
        return GeminiProvider(base_url=url.split("/v1beta/")[0], **common)
    if api == "cohere-chat":
        return CohereProvider(base_url=url.removesuffix("/v2/chat"), **common)
    cls = OPENAI_CHAT.get(case["provider"], OpenAICompatibleProvider)
    if api == "openai-responses":
        return cls(base_url=url.removesuffix("/responses"), api="responses", **common)
    return cls(base_url=url.removesuffix("/chat/completions"), **common)


# -- the corpus README's normalisation ------------------------------------------------

_ALIASES = {
    "image/jpg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-flac": "audio/flac",
}
_FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg"}


def _mt(value: str | None) -> str | None:
    if not value:
        return None
    bare = value.split(";")[0].strip().lower()
    return _ALIASES.get(bare, bare)


def _sha(b64text: str) -> str:
    text = "".join(b64text.split()).replace("-", "+").replace("_", "/")
    return hashlib.sha256(base64.b64decode(text + "=" * (-len(text) % 4))).hexdigest()


def _binary(kind: str, *, url: str | None = None, b64: str | None = None, mt: str | None = None,
            detail: str | None = None) -> dict[str, Any]:  # fmt: skip
    if url is not None and url.startswith("data:"):
        head, b64 = url.split(",", 1)
        mt, url = head[5:].split(";")[0], None
    return {
        "kind": kind,
        "media_type": _mt(mt),
        "sha256": _sha(b64) if b64 is not None else None,
        "url": url,
        "detail": None if detail in (None, "auto") else detail,
    }


def _cache(part: dict[str, Any]) -> list[dict[str, Any]]:
    cc = part.get("cache_control")
    if not cc:
        return []
    ttl = cc.get("ttl")
    return [{"kind": "cache_point", "ttl": None if ttl in (None, "5m") else ttl}]


def _openai_part(p: dict[str, Any]) -> list[dict[str, Any]]:
    t = p["type"]
    if t == "text":
        out = [{"kind": "text", "text": p["text"]}] if p["text"] else []
    elif t == "image_url":
        image = p["image_url"]
        image = image if isinstance(image, dict) else {"url": image}
        out = [_binary("image", url=image["url"], detail=image.get("detail"))]
    elif t == "input_audio":
        audio = p["input_audio"]
        out = [_binary("audio", b64=audio["data"], mt=_FORMATS.get(audio.get("format", "")))]
    elif t == "file" and "file_id" in p["file"]:
        out = [
            {
                "kind": "file_ref",
                "file_id": p["file"]["file_id"],
                "as": "document",
                "media_type": None,
            }
        ]
    elif t == "file":
        out = [_binary("document", url=p["file"]["file_data"])]
    elif t == "document_url":
        out = [_binary("document", url=p["document_url"])]
    else:
        raise AssertionError(f"unreadable part {t!r}")
    return out + _cache(p)


def _responses_part(p: dict[str, Any]) -> list[dict[str, Any]]:
    t = p["type"]
    if t in ("input_text", "output_text"):
        return [{"kind": "text", "text": p["text"]}] if p["text"] else []
    if t in ("input_image", "input_file") and p.get("file_id"):
        kind = "image" if t == "input_image" else "document"
        return [{"kind": "file_ref", "file_id": p["file_id"], "as": kind, "media_type": None}]
    if t == "input_image":
        return [_binary("image", url=p["image_url"], detail=p.get("detail"))]
    if t == "input_audio":
        audio = p["input_audio"]
        return [_binary("audio", b64=audio["data"], mt=_FORMATS.get(audio.get("format", "")))]
    if t == "input_file" and "file_data" in p:
        return [_binary("document", url=p["file_data"])]
    if t == "input_file":
        return [_binary("document", url=p["file_url"])]
    raise AssertionError(f"unreadable part {t!r}")


def _anthropic_part(p: dict[str, Any]) -> list[dict[str, Any]]:
    t = p["type"]
    if t == "text":
        out = [{"kind": "text", "text": p["text"]}] if p["text"] else []
    elif t in ("image", "document"):
        src = p["source"]
        if src["type"] == "base64":
            out = [_binary(t, b64=src["data"], mt=src["media_type"])]
        elif src["type"] == "url":
            out = [_binary(t, url=src["url"])]
        elif src["type"] == "text":
            data = base64.b64encode(src["data"].encode()).decode()
            out = [_binary(t, b64=data, mt=src.get("media_type") or "text/plain")]
        elif src["type"] == "file":
            out = [{"kind": "file_ref", "file_id": src["file_id"], "as": t, "media_type": None}]
        else:
            raise AssertionError(f"unreadable source {src['type']!r}")
    else:
        raise AssertionError(f"unreadable block {t!r}")
    return out + _cache(p)


def _family(mt: str) -> str:
    for prefix, kind in (("image/", "image"), ("audio/", "audio"), ("video/", "video")):
        if mt.startswith(prefix):
            return kind
    return "document"


def _gemini_part(p: dict[str, Any]) -> list[dict[str, Any]]:
    if "text" in p:
        return [{"kind": "text", "text": p["text"]}] if p["text"] else []
    inline = p.get("inline_data") or p.get("inlineData")
    if inline is not None:
        mt = inline.get("mime_type") or inline.get("mimeType")
        return [_binary(_family(_mt(mt) or ""), b64=inline["data"], mt=mt)]
    file = p.get("file_data") or p.get("fileData")
    if file is not None:
        mt = file.get("mime_type") or file.get("mimeType")
        uri = file.get("file_uri") or file.get("fileUri")
        if uri.startswith("https://generativelanguage.googleapis.com/"):
            kind = _family(_mt(mt) or "")
            return [{"kind": "file_ref", "file_id": uri, "as": kind, "media_type": _mt(mt)}]
        return [_binary(_family(_mt(mt) or ""), url=uri, mt=mt)]
    raise AssertionError(f"unreadable part {sorted(p)}")


def _merge(messages: list[tuple[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for role, parts in messages:
        if not parts:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["parts"].extend(parts)
        else:
            out.append({"role": role, "parts": parts})
    return out


def _content(content: Any, read: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"kind": "text", "text": content}] if content else []
    return [x for p in content for x in (_content(p, read) if isinstance(p, str) else read(p))]


def normalise(api: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The README's normalisation of a request body."""
    messages: list[tuple[str, list[dict[str, Any]]]] = []
    if api == "anthropic-messages":
        if body.get("system"):
            messages.append(("system", _content(body["system"], _anthropic_part)))
        for m in body["messages"]:
            messages.append((m["role"], _content(m["content"], _anthropic_part)))
    elif api == "gemini":
        system = body.get("systemInstruction") or body.get("system_instruction")
        if isinstance(system, str):
            system = {"parts": [{"text": system}]}
        if system:
            parts = system["parts"] if isinstance(system["parts"], list) else [system["parts"]]
            messages.append(("system", [x for p in parts for x in _gemini_part(p)]))
        for m in body["contents"]:
            role = "assistant" if m.get("role") == "model" else "user"
            messages.append((role, [x for p in m["parts"] for x in _gemini_part(p)]))
    elif api == "openai-responses":
        if body.get("instructions"):
            messages.append(("system", _content(body["instructions"], _responses_part)))
        items = body["input"] if isinstance(body["input"], list) else [body["input"]]
        for m in items:
            if isinstance(m, str):
                messages.append(("user", _content(m, _responses_part)))
            elif m.get("type", "message") == "message":
                role = "system" if m["role"] in ("system", "developer") else m["role"]
                messages.append((role, _content(m.get("content"), _responses_part)))
    else:
        for m in body["messages"]:
            role = "system" if m["role"] in ("system", "developer") else m["role"]
            messages.append((role, _content(m.get("content"), _openai_part)))
    return _merge(messages)


def _matches(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> bool:
    if [(m["role"], len(m["parts"])) for m in got] != [(m["role"], len(m["parts"])) for m in want]:
        return False
    for gm, wm in zip(got, want, strict=True):
        for gp, wp in zip(gm["parts"], wm["parts"], strict=True):
            expected = dict(wp)
            if expected.get("media_type", "") is None:
                expected["media_type"] = gp.get("media_type")
            if gp != expected:
                return False
    return True


# -- the test -------------------------------------------------------------------------


def _ids() -> list[Any]:
    out = []
    for path in FILES:
        marks = []
        out.append(pytest.param(path, id=path.stem, marks=marks))
    return out


@pytest.mark.skipif(not FILES, reason=f"no request-encoding corpus at {CASES}")
@pytest.mark.parametrize("path", _ids())
async def test_request_case(path: Path) -> None:
    case = harness.load(path)
    sent: list[dict[str, Any]] = []
    serve = harness.handler(case, check_path=False)

    def record(request: httpx2.Request) -> Any:
        sent.append(json.loads(request.content))
        return serve(request)

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(record)) as client:
        provider = _provider(case, client)
        request = _request(case)
        if case["stream"]:
            await provider.stream(request).collect()
        else:
            await provider.complete(request)
    assert len(sent) == 1
    got = normalise(case["api"], sent[0])
    want = case["expect"]["messages"]
    assert _matches(got, want), json.dumps({"got": got, "want": want}, indent=1)[:3000]


def test_normaliser_reads_the_recorded_bodies() -> None:
    """The normaliser above agrees with the corpus on the bodies the hosts accepted."""
    if not FILES:
        pytest.skip("no corpus")
    checked = 0
    for path in FILES:
        case = json.loads(path.read_text(encoding="utf-8"))
        try:
            got = normalise(case["api"], case["request"]["json"])
        except (AssertionError, binascii.Error, KeyError) as exc:  # pragma: no cover
            raise AssertionError(f"{path.name}: {exc}") from exc
        assert _matches(got, case["expect"]["messages"]), path.name
        checked += 1
    assert checked > 100
