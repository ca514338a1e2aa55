"""Ollama's native API (`/api/chat`, `/api/tags`), spoken with `httpx2` directly (no SDK).

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

from llmkit import errors
from llmkit.providers._base import BaseProvider, ModelInfo
from llmkit.providers._codecs import ollama_chat
from llmkit.providers._codecs._errors_common import json_object, parse_json_or_text
from llmkit.providers._pump import pump
from llmkit.providers._transport import transport_error
from llmkit.retry import parse_retry_after
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
        headers = {"accept": "application/json"}
        if self.has_api_key:
            headers["authorization"] = f"Bearer {self.api_key()}"
        return headers

    async def _complete(self, request: Request) -> Response:
        params = ollama_chat.to_params(request, stream=False)
        with _transport_errors(self.base_url):
            reply = await self.http_client().post(
                f"{self.base_url}/api/chat", json=params, headers=self._headers()
            )
            self._observe_headers(reply.headers)
            if reply.status_code >= 400:
                raise self._error(reply.status_code, reply.headers, reply.text, request.model)
            return ollama_chat.parse_chat(
                json_object(
                    reply.content, provider=self.name, model=request.model, status=reply.status_code
                )
            )

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        params = ollama_chat.to_params(request, stream=True)
        decoder = ollama_chat.StreamDecoder()
        client = self.http_client()
        with _transport_errors(self.base_url):
            async with client.stream(
                "POST", f"{self.base_url}/api/chat", json=params, headers=self._headers()
            ) as reply:
                self._observe_headers(reply.headers)
                if reply.status_code >= 400:
                    body = (await reply.aread()).decode("utf-8", errors="replace")
                    raise self._error(reply.status_code, reply.headers, body, request.model)
                async for event in pump(reply, decoder):
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
            reply = await self.http_client().get(
                f"{self.base_url}/api/tags", headers=self._headers()
            )
            self._observe_headers(reply.headers)
            if reply.status_code >= 400:
                raise self._error(reply.status_code, reply.headers, reply.text, None)
            body = json_object(reply.content, provider=self.name, status=reply.status_code)
        return [
            ModelInfo(
                id=item.get("name") or item.get("model"),
                provider=self.name,
                created=_unix_time(item.get("modified_at")),
            )
            for item in body.get("models") or ()
        ]

    def _error(self, status: int, headers: Any, text: str, model: str | None) -> errors.LLMError:
        return ollama_chat.error_from_body(
            status, parse_json_or_text(text), model=model, retry_after=parse_retry_after(headers)
        )


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
        names = {cls.__name__ for cls in type(exc).__mro__}
        if "TimeoutException" in names:
            raise errors.APITimeoutError(
                f"Ollama at {base_url} did not answer in time (a model may still be loading: "
                "retry, or raise `timeout=`)",
                provider=OllamaProvider.name,
            ) from exc
        if "ConnectError" in names:
            raise errors.APIConnectionError(
                f"Could not connect to Ollama at {base_url}. Is it running? Start it with "
                "`ollama serve` (install: https://ollama.com/download), or set OLLAMA_HOST "
                "or `OllamaProvider(base_url=...)` to where it listens.",
                provider=OllamaProvider.name,
            ) from exc
        if "TransportError" in names:
            raise errors.APIConnectionError(
                f"The connection to Ollama at {base_url} failed: {exc}",
                provider=OllamaProvider.name,
            ) from exc
        raise


def _unix_time(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value).timestamp())
    except ValueError:
        return None
