"""Ollama's native API (`/api/chat`, `/api/tags`), spoken with `httpx2` directly (no SDK).

Requests go through `llmkit.providers._pump` (the pooled `httpx2` client, or the
caller's `httpx2` / `httpx` one); `llmkit.providers._codecs.ollama_chat` builds
and reads every body.

Ollama runs models locally and needs no key; `OLLAMA_HOST` says where it listens
(as Ollama's own CLI reads it). An `OLLAMA_API_KEY`, when set, is sent as a bearer
token, for Ollama behind an authenticating proxy or on ollama.com.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from llmkit.providers._base import BaseProvider, ModelInfo
from llmkit.providers._codecs import ollama_chat
from llmkit.providers._pump import USER_AGENT, open_reply, pump, read_json
from llmkit.providers._transport import transport_error
from llmkit.types import Embeddings, Request, Response, StreamEvent

__all__ = ["OllamaProvider", "parse_host"]

DEFAULT_HOST = "http://localhost:11434"


def parse_host(value: str | None) -> str:
    """A base URL from an `OLLAMA_HOST` value, read as Ollama's CLI reads it.

    `host:port` and a bare host get `http://` (and port 11434 when none is given);
    a URL with a scheme keeps its own default port. Empty means the default.
    See `envconfig.Host` in https://github.com/ollama/ollama/blob/main/envconfig/config.go
    """
    value = (value or "").strip().rstrip("/")
    if not value:
        return DEFAULT_HOST
    if "://" in value:
        parts = urlsplit(value)
        return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
    if value.count(":") > 1 and not value.startswith("["):  # a bare IPv6 address
        value = f"[{value}]"
    parts = urlsplit(f"//{value}")
    host = parts.hostname or "localhost"
    if ":" in host:  # an IPv6 literal goes back in brackets
        host = f"[{host}]"
    try:
        port = parts.port or 11434
    except ValueError:
        port = 11434
    return f"http://{host}:{port}{parts.path}".rstrip("/")


class OllamaProvider(BaseProvider):
    """Models served by a local (or remote) Ollama, through its native chat API."""

    name: ClassVar[str] = "ollama"
    default_base_url: ClassVar[str] = DEFAULT_HOST
    api_key_env: ClassVar[str | None] = "OLLAMA_API_KEY"
    requires_api_key: ClassVar[bool] = False

    def __init__(self, *, base_url: str | None = None, **kwargs: Any) -> None:
        """Configure the provider; `base_url` defaults to `OLLAMA_HOST`, else localhost:11434.

        Other arguments are `BaseProvider`'s (`api_key`, `http_client`, `timeout`, ...).
        """
        super().__init__(base_url=base_url or parse_host(os.environ.get("OLLAMA_HOST")), **kwargs)

    def _headers(self) -> dict[str, str]:
        headers = {"accept": "application/json", "user-agent": USER_AGENT}
        if self.has_api_key:
            headers["authorization"] = f"Bearer {self.api_key()}"
        return headers

    async def _complete(self, request: Request) -> Response:
        params = ollama_chat.to_params(request, stream=False, provider=self.name)
        with _transport_errors(self.base_url):
            body = await read_json(
                self,
                "POST",
                f"{self.base_url}/api/chat",
                json=params,
                headers=self._headers(),
                model=request.model,
                error_from_body=ollama_chat.error_from_body,
            )
        return ollama_chat.parse_reply(body, provider=self.name)

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        params = ollama_chat.to_params(request, stream=True, provider=self.name)
        parser = ollama_chat.StreamParser(provider=self.name, model=request.model)
        with _transport_errors(self.base_url):
            reply = await open_reply(
                self,
                "POST",
                f"{self.base_url}/api/chat",
                json=params,
                headers=self._headers(),
                model=request.model,
                error_from_body=ollama_chat.error_from_body,
            )
            async for event in pump(reply, parser):
                yield event

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str,
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """Vectors for `inputs` from `POST /api/embed`, one per input (`llmkit.embeddings`)."""
        from llmkit.providers import _embed

        return await _embed.ollama(self, inputs, model=model, kind=kind, dimensions=dimensions)

    async def list_models(self) -> list[ModelInfo]:
        """The models pulled into this Ollama (`GET /api/tags`)."""
        with _transport_errors(self.base_url):
            body = await read_json(
                self,
                "GET",
                f"{self.base_url}/api/tags",
                headers=self._headers(),
                model=None,
                error_from_body=ollama_chat.error_from_body,
            )
        return [
            ModelInfo(
                id=item.get("name") or item.get("model"),
                provider=self.name,
                created=_unix_time(item.get("modified_at")),
            )
            for item in body.get("models") or ()
        ]


@contextmanager
def _transport_errors(base_url: str) -> Iterator[None]:
    """Turn `httpx2` (or `httpx`) transport failures into llmkit errors that say what to do."""
    try:
        yield
    except Exception as exc:
        refused = any(cls.__name__ == "ConnectError" for cls in type(exc).__mro__)
        error = transport_error(
            exc,
            provider=OllamaProvider.name,
            where=f"Ollama at {base_url}",
            timeout_hint="a model may still be loading: retry, or raise `timeout=`",
            connect_hint=(
                "is it running? Start it with `ollama serve` (install: "
                "https://ollama.com/download), or set OLLAMA_HOST or "
                "`OllamaProvider(base_url=...)` to where it listens"
                if refused
                else "check the network and base_url"
            ),
        )
        if error is None:
            raise
        raise error from exc


def _unix_time(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value).timestamp())
    except ValueError:
        return None
