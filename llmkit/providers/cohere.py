"""Cohere's hosted models on the v2 chat API, spoken by llmkit itself or sent by the SDK.

By default llmkit builds the URL (`/v2/chat`), the headers (a bearer key, its
`user-agent`) and the body, and sends them with its `httpx2` pool (or the
caller's `httpx2` / `httpx` client): no SDK is imported. `sender="sdk"` sends
through the `cohere` SDK instead (`_cohere_sdk`). Either way llmkit's
`cohere_chat` codec builds the body and parses the JSON reply and the SSE stream.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import urlencode

from llmkit import errors
from llmkit.providers._base import BaseProvider, ModelInfo
from llmkit.providers._codecs import cohere_chat
from llmkit.providers._codecs._errors_common import json_object
from llmkit.providers._cohere_sdk import CohereSDK
from llmkit.providers._pump import USER_AGENT, open_reply, pump
from llmkit.providers._transport import transport_error
from llmkit.types import Embeddings, Request, Response, StreamEvent

__all__ = ["CohereProvider"]

_FALLBACK_KEY_ENV = "COHERE_API_KEY"


class CohereProvider(BaseProvider):
    """Cohere's Command models (v2 chat); key from `CO_API_KEY` (or `COHERE_API_KEY`).

    llmkit sends the requests itself (`sender="httpx2"`, the default);
    `sender="sdk"` has the `cohere` SDK send them (extra `cohere`).
    """

    name: ClassVar[str] = "cohere"
    default_base_url: ClassVar[str] = "https://api.cohere.com"
    api_key_env: ClassVar[str | None] = "CO_API_KEY"
    sdk_module: ClassVar[str | None] = "cohere"
    sdk_extra: ClassVar[str] = "cohere"
    default_sender: ClassVar[Any] = "httpx2"

    def __init__(self, *, base_url: str | None = None, **kwargs: Any) -> None:
        """Configure the provider; `base_url` defaults to `CO_API_URL`, else Cohere's API.

        The key comes from `api_key=`, else `CO_API_KEY`, else `COHERE_API_KEY`.
        Other arguments are `BaseProvider`'s (`http_client`, `timeout`, `retry`, `sender`, ...).
        """
        super().__init__(base_url=base_url or os.environ.get("CO_API_URL") or None, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, sender={self.sender!r})"

    @property
    def has_api_key(self) -> bool:
        """Whether a key was given or is in `CO_API_KEY` / `COHERE_API_KEY` (never shows it)."""
        return super().has_api_key or bool(os.environ.get(_FALLBACK_KEY_ENV))

    def api_key(self) -> str:
        """The key to send; raises `ConfigurationError` saying how to set it."""
        if not super().has_api_key and os.environ.get(_FALLBACK_KEY_ENV):
            return os.environ[_FALLBACK_KEY_ENV]
        return super().api_key()

    @cached_property
    def _sdk(self) -> CohereSDK:
        return CohereSDK(self)

    # -- sending ----------------------------------------------------------------------

    def _headers(self, *, stream: bool = False) -> dict[str, str]:
        return {
            "authorization": f"Bearer {self.api_key()}",
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
            "user-agent": USER_AGENT,
        }

    @contextmanager
    def _errors(self, model: str | None) -> Iterator[None]:
        """Translate the sender's exceptions (transport, SDK) into llmkit errors."""
        if self.sender == "sdk":
            with self._sdk.errors(model):
                yield
            return
        try:
            yield
        except errors.LLMError:
            raise
        except Exception as exc:
            error = transport_error(
                exc,
                provider=self.name,
                model=model,
                where="Cohere",
                connect_hint="check the network, or CO_API_URL / `base_url=`",
            )
            if error is None:
                raise
            raise error from exc

    async def _open(self, method: str, url: str, params: Any, model: str | None) -> Any:
        return await open_reply(
            self,
            method,
            url,
            json=params,
            headers=self._headers(stream=bool(params and params.get("stream"))),
            model=model,
            error_from_body=cohere_chat.error_from_body,
        )

    async def _read(self, response: Any, model: str | None) -> Mapping[str, Any]:
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        return json_object(content, provider=self.name, model=model, status=response.status_code)

    # -- the protocol ---------------------------------------------------------------

    async def _complete(self, request: Request) -> Response:
        params = cohere_chat.to_params(request, stream=False, provider=self.name)
        with self._errors(request.model):
            if self.sender == "sdk":
                response = await self._sdk.chat(params)
            else:
                response = await self._open(
                    "POST", f"{self.base_url}/v2/chat", params, request.model
                )
            body = await self._read(response, request.model)
        return cohere_chat.parse_reply(body, provider=self.name)

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        params = cohere_chat.to_params(request, stream=True, provider=self.name)
        parser = cohere_chat.StreamParser(provider=self.name, model=request.model)
        with self._errors(request.model):
            if self.sender == "sdk":
                async with self._sdk.chat_stream(params) as response:
                    # The raw bytes go to llmkit's parser; the SDK's typed events are never built.
                    async for event in pump(response, parser):
                        yield event
            else:
                response = await self._open(
                    "POST", f"{self.base_url}/v2/chat", params, request.model
                )
                async for event in pump(response, parser):
                    yield event

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str,
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """Vectors for `inputs` from `POST /v2/embed`, one per input (`llmkit.embeddings`)."""
        from llmkit.providers import _embed

        return await _embed.cohere(self, inputs, model=model, kind=kind, dimensions=dimensions)

    async def list_models(self) -> list[ModelInfo]:
        """The models this key may use (`GET /v1/models`, every page)."""
        models: list[ModelInfo] = []
        token: str | None = None
        while True:
            query: dict[str, Any] = {"page_size": 1000}
            if token:
                query["page_token"] = token
            with self._errors(None):
                if self.sender == "sdk":
                    response = await self._sdk.models(query)
                else:
                    url = f"{self.base_url}/v1/models?{urlencode(query)}"
                    response = await self._open("GET", url, None, None)
                body = await self._read(response, None)
            models.extend(
                ModelInfo(
                    id=item["name"],
                    provider=self.name,
                    owned_by="cohere",
                    context_window=item.get("context_length"),
                )
                for item in body.get("models") or ()
                if item.get("name")
            )
            token = body.get("next_page_token") or None
            if token is None:
                return models
