"""What each host takes as content parts, checked before a request is sent.

The data is `llmkit/data/media.json` (media types, URL or bytes, size limits,
per-model additions, with the hosts' documentation cited). `check` raises
`UnsupportedContentError` (a `ConfigurationError`) naming what the host takes;
`prepare` also downloads the URLs the host will not fetch itself
(`llmkit.media_download`), so a part the host cannot take never reaches it as a 400.

A provider's `media_download` attribute chooses: `"auto"` (default: download
only what the host will not fetch), `"always"`, `"never"` (a URL the host
will not fetch is an error), or a `DownloadPolicy`. Hosts the data does not
name (OpenAI-compatible servers, plugins, `FakeProvider`) are not checked.
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from attrs import evolve

from llmkit.errors import UnsupportedContentError
from llmkit.parts import kind_of
from llmkit.types import Audio, Document, FileRef, Image, Message, Part, Request

__all__ = ["check", "host_rules", "needs_download", "prepare"]

_DATA = Path(__file__).parent / "data" / "media.json"


@cache
def _hosts() -> dict[str, Any]:
    hosts: dict[str, Any] = json.loads(_DATA.read_text(encoding="utf-8"))["hosts"]
    return hosts


def host_rules(provider: str, model: str) -> dict[str, Any] | None:
    """The kinds `provider` takes for `model` (None: a host llmkit has no data for)."""
    hosts = _hosts()
    rules = hosts.get(provider)
    if rules is None:
        return None
    if "same_as" in rules:
        rules = hosts[rules["same_as"]]
    kinds = dict(rules.get("kinds", {}))
    for extra in rules.get("models", ()):
        if re.search(extra["match"], model, re.IGNORECASE):
            kinds.update(extra["kinds"])
    return {"kinds": kinds, "request_max_bytes": rules.get("request_max_bytes")}


def _takes(provider: str, kinds: dict[str, Any]) -> str:
    if not kinds:
        return f"{provider} takes text only"
    said = []
    for kind, rule in kinds.items():
        if kind == "file_ref":
            said.append("file ids from its Files API")
            continue
        types = ", ".join(rule.get("media_types", ()))
        how = "bytes or URLs" if rule.get("url") else "bytes"
        said.append(f"{kind}s ({types}) as {how}")
    return f"{provider} takes text, " + "; ".join(said)


def _fail(message: str, provider: str, model: str) -> UnsupportedContentError:
    return UnsupportedContentError(message, provider=provider, model=model)


def needs_download(part: Part, provider: str, model: str, mode: str = "auto") -> bool:
    """Whether llmkit must fetch this URL part itself before sending it to `provider`."""
    if not isinstance(part, Image | Audio | Document) or part.url is None:
        return False
    if part.url.startswith("data:"):
        return False
    if mode == "always":
        return True
    rules = host_rules(provider, model)
    if rules is None:
        return False
    rule = rules["kinds"].get(kind_of(part))
    return rule is not None and not rule.get("url")


def check(request: Request, provider: str, *, download: str = "auto") -> None:
    """Raise `UnsupportedContentError` for a part `provider` cannot take (URLs llmkit would
    download are judged after downloading)."""
    rules = host_rules(provider, request.model)
    if rules is None:
        return
    model = request.model
    kinds = rules["kinds"]
    total = 0
    for message in request.messages:
        if isinstance(message.content, str):
            continue
        for part in message.content:
            kind = kind_of(part)
            if kind in ("text", "cache_point"):
                continue
            rule = kinds.get(kind)
            if rule is None:
                raise _fail(
                    f"{provider} cannot take {_a(kind)} part with {model}: {_takes(provider, kinds)}",
                    provider,
                    model,
                )
            if isinstance(part, FileRef):
                if part.provider and part.provider != provider.split(":", 1)[0]:
                    raise _fail(
                        f"file {part.file_id!r} was uploaded to {part.provider}, not {provider}; "
                        "upload it to this host or send its bytes",
                        provider,
                        model,
                    )
                continue
            assert isinstance(part, Image | Audio | Document)
            if part.url is not None and not part.url.startswith("data:"):
                if not rule.get("url") and download == "never":
                    raise _fail(
                        f"{provider} does not fetch {kind} URLs and download='never': "
                        f"pass the bytes ({type(part).__name__}.from_path) or allow downloading",
                        provider,
                        model,
                    )
                if part.media_type is None or (not rule.get("url") or download == "always"):
                    continue  # judged once downloaded
            types = rule.get("media_types")
            if types and part.media_type not in types:
                raise _fail(
                    f"{provider} takes {kind}s as {', '.join(types)}, not {part.media_type}; "
                    "convert it first",
                    provider,
                    model,
                )
            size = _size(part)
            limit = rule.get("max_bytes")
            if part.data is not None and limit and size > limit:
                raise _fail(
                    f"{provider} takes {kind}s up to {limit / 2**20:.0f} MB; this one is "
                    f"{size / 2**20:.1f} MB: resize or compress it",
                    provider,
                    model,
                )
            total += size * 4 // 3
    cap = rules.get("request_max_bytes")
    if cap and total > cap:
        raise _fail(
            f"{provider} takes requests up to {cap / 2**20:.0f} MB; these parts encode to "
            f"{total / 2**20:.1f} MB: send fewer or smaller files, or upload them (FileRef)",
            provider,
            model,
        )


def _a(kind: str) -> str:
    return {"image": "an image", "audio": "an audio", "document": "a document"}.get(
        kind, "a file_ref"
    )


def _size(part: Image | Audio | Document) -> int:
    if part.data is not None:
        return len(part.data)
    if part.url and part.url.startswith("data:"):
        return len(base64.b64decode(part.url.split(",", 1)[1] + "=="))
    return 0


async def prepare(request: Request, provider: str, *, download: Any = "auto") -> Request:
    """`request` checked for `provider`, with the URLs the host will not fetch downloaded.

    `download` is `"auto"`, `"always"`, `"never"` or a `DownloadPolicy` (mode `auto`)."""
    from llmkit.media_download import DownloadPolicy, fetch

    policy = download if isinstance(download, DownloadPolicy) else DownloadPolicy(mode=download)
    if not any(not isinstance(m.content, str) for m in request.messages):
        return request
    check(request, provider, download=policy.mode)
    messages: list[Message] = []
    changed = False
    for message in request.messages:
        if isinstance(message.content, str) or not any(
            needs_download(p, provider, request.model, policy.mode) for p in message.content
        ):
            messages.append(message)
            continue
        parts: list[Part] = []
        for part in message.content:
            if needs_download(part, provider, request.model, policy.mode):
                assert isinstance(part, Image | Audio | Document) and part.url is not None
                data, media_type = await fetch(part.url, policy)
                part = evolve(part, data=data, url=None, media_type=media_type or part.media_type)
            parts.append(part)
        messages.append(evolve(message, content=tuple(parts)))
        changed = True
    if not changed:
        return request
    prepared = evolve(request, messages=tuple(messages))
    check(prepared, provider, download="never")
    return prepared
