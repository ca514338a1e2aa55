"""Google's Gemini API (`generativelanguage.googleapis.com`), spoken over HTTP directly.

Why not through `google-genai`: the SDK's only way to send a raw request and
get the raw reply is `client.aio._api_client.async_request[_streamed]`, a
private attribute whose streaming variant also re-parses the SSE itself and
hands back re-serialised JSON. Depending on that would tie llmkit to SDK
internals that change between minor versions. The wire side is small and
documented (ai.google.dev/api): the base URL below, the `x-goog-api-key`
header, JSON bodies, `?alt=sse` for streams. So the provider sends with the
pooled `httpx2` client (or the caller's `httpx`/`httpx2` client, which share
this API) through `llmkit.providers._pump`, and
`llmkit.providers._codecs.gemini_generate` builds and reads every body.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote

from llmkit import _sync
from llmkit.batches._methods import BatchMethods
from llmkit.errors import (
    ConfigurationError,
    LLMError,
    StreamError,
)
from llmkit.providers._base import BaseProvider, ModelInfo
from llmkit.providers._codecs import gemini_generate as codec
from llmkit.providers._pump import USER_AGENT, open_reply, pump, read_json
from llmkit.providers._transport import transport_error
from llmkit.types import Embeddings, Request, Response, StreamEvent

__all__ = ["GeminiProvider"]


class GeminiProvider(BatchMethods, BaseProvider):
    """Gemini on Google's Gemini API; key from `GEMINI_API_KEY` (or `GOOGLE_API_KEY`).

    Thinking is asked for through `Request.extra`, merged into `generationConfig`:
    `{"generationConfig": {"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}}}`
    (Gemini 2.5) or `{"thinkingLevel": "low", ...}` (Gemini 3).
    """

    name: ClassVar[str] = "gemini"
    batch_api: ClassVar[str | None] = "gemini"  # llmkit.batches: batchGenerateContent
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com"
    api_key_env: ClassVar[str | None] = "GEMINI_API_KEY"
    fallback_key_env: ClassVar[str] = "GOOGLE_API_KEY"
    api_version: ClassVar[str] = "v1beta"

    @property
    def has_api_key(self) -> bool:
        """Whether a key was given or is set in `GEMINI_API_KEY` or `GOOGLE_API_KEY`."""
        return super().has_api_key or bool(os.environ.get(self.fallback_key_env))

    def api_key(self) -> str:
        """The key: the one given, else `GEMINI_API_KEY`, else `GOOGLE_API_KEY`."""
        key = (
            self._api_key
            or os.environ.get("GEMINI_API_KEY")
            or os.environ.get(self.fallback_key_env)
        )
        if key:
            return key
        raise ConfigurationError(
            "No API key for gemini: Set GEMINI_API_KEY (or GOOGLE_API_KEY) or pass "
            "`GeminiProvider(api_key=...)`; create one at https://aistudio.google.com/apikey",
            provider=self.name,
        )

    # -- HTTP -----------------------------------------------------------------------

    def _url(self, model: str, method: str) -> str:
        path = quote(codec.model_path(model), safe="/")
        return f"{self.base_url}/{self.api_version}/{path}:{method}"

    def _headers(self) -> dict[str, str]:
        return {
            "x-goog-api-key": self.api_key(),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }

    @contextmanager
    def _map_errors(self, model: str | None) -> Iterator[None]:
        """Translate transport exceptions (of `httpx2` or `httpx`) into llmkit errors."""
        try:
            yield
        except LLMError:
            raise
        except Exception as exc:
            error = transport_error(exc, provider=self.name, model=model, where="Gemini")
            if error is None:
                raise
            raise error from exc

    async def _json(self, method: str, url: str, body: Any, *, model: str | None) -> Any:
        """Send; the reply's JSON object (`InvalidResponseError` for an empty or HTML body)."""
        with self._map_errors(model):
            return await read_json(
                self,
                method,
                url,
                json=body,
                headers=self._headers(),
                model=model,
                error_from_body=codec.error_from_body,
            )

    # -- the protocol -----------------------------------------------------------------

    async def _complete(self, request: Request) -> Response:
        params = codec.to_params(request, provider=self.name)
        url = self._url(request.model, "generateContent")
        body = await self._json("POST", url, params, model=request.model)
        return codec.parse_reply(body, provider=self.name)

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        params = codec.to_params(request, stream=True, provider=self.name)
        url = self._url(request.model, "streamGenerateContent") + "?alt=sse"
        parser = codec.StreamParser(provider=self.name, model=request.model)
        with self._map_errors(request.model):
            response = await open_reply(
                self,
                "POST",
                url,
                json=params,
                headers=self._headers(),
                model=request.model,
                error_from_body=codec.error_from_body,
            )
            async for event in pump(response, parser):
                yield event
        if not parser.done:
            raise StreamError(
                "Gemini's stream ended without a finishReason; the reply is incomplete, retry it",
                provider=self.name,
                model=request.model,
                retryable=True,
            )

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str,
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """Vectors for `inputs` from `:batchEmbedContents`, one per input (`llmkit.embeddings`)."""
        from llmkit.providers import _embed

        return await _embed.gemini(self, inputs, model=model, kind=kind, dimensions=dimensions)

    async def count_tokens(self, request: Request) -> int:
        """Input tokens of `request`, counted by Gemini's `countTokens`."""
        params = codec.to_count_tokens_params(request, provider=self.name)
        url = self._url(request.model, "countTokens")
        body = await self._json("POST", url, params, model=request.model)
        return codec.parse_count_tokens(body, provider=self.name)

    def count_tokens_sync(self, request: Request) -> int:
        """Blocking twin of `count_tokens`."""
        return _sync.run(partial(self.count_tokens, request))

    async def list_models(self) -> list[ModelInfo]:
        """The models `GET /v1beta/models` lists, every page (ids without `models/`)."""
        models: list[ModelInfo] = []
        token = ""
        while True:
            url = f"{self.base_url}/{self.api_version}/models?pageSize=1000"
            if token:
                url += f"&pageToken={quote(token)}"
            page = await self._json("GET", url, None, model=None)
            for item in page.get("models", []):
                models.append(
                    ModelInfo(
                        id=str(item.get("name", "")).removeprefix("models/"),
                        provider=self.name,
                        owned_by="google",
                        context_window=item.get("inputTokenLimit"),
                    )
                )
            token = page.get("nextPageToken") or ""
            if not token:
                return models
