"""Cohere's hosted models through the `cohere` SDK's v2 chat API.

The SDK sends (key, base URL, headers, its error classes) through its public
`with_raw_response` facility, which hands over the raw HTTP response: llmkit's
`cohere_chat` codec parses the JSON body and the SSE stream itself. The SDK takes
only `httpx` clients, so llmkit's `httpx2` pool goes to it through the bridge in
`llmkit.providers._http`. The SDK's own retries are off: llmkit's policy governs.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from llmkit import errors
from llmkit._imports import require
from llmkit.providers._base import BaseProvider, ModelInfo
from llmkit.providers._codecs import cohere_chat
from llmkit.providers._codecs._errors_common import json_object, not_json_error
from llmkit.providers._http import as_httpx_client
from llmkit.providers._pump import pump
from llmkit.providers._transport import transport_error
from llmkit.retry import parse_retry_after
from llmkit.types import Embeddings, Request, Response, StreamEvent

if TYPE_CHECKING:
    from cohere import AsyncClientV2

__all__ = ["CohereProvider"]

_FALLBACK_KEY_ENV = "COHERE_API_KEY"


class CohereProvider(BaseProvider):
    """Cohere's Command models (v2 chat), reached through the `cohere` SDK."""

    name: ClassVar[str] = "cohere"
    default_base_url: ClassVar[str] = "https://api.cohere.com"
    api_key_env: ClassVar[str | None] = "CO_API_KEY"
    sdk_module: ClassVar[str | None] = "cohere"
    sdk_extra: ClassVar[str] = "cohere"

    def __init__(self, *, base_url: str | None = None, **kwargs: Any) -> None:
        """Configure the provider; `base_url` defaults to `CO_API_URL`, else Cohere's API.

        The key comes from `api_key=`, else `CO_API_KEY`, else `COHERE_API_KEY`.
        Other arguments are `BaseProvider`'s (`http_client`, `timeout`, `retry`, ...).
        """
        super().__init__(base_url=base_url or os.environ.get("CO_API_URL") or None, **kwargs)

    @property
    def has_api_key(self) -> bool:
        """Whether a key was given or is in `CO_API_KEY` / `COHERE_API_KEY` (never shows it)."""
        return super().has_api_key or bool(os.environ.get(_FALLBACK_KEY_ENV))

    def api_key(self) -> str:
        """The key to send; raises `ConfigurationError` saying how to set it."""
        if not super().has_api_key and os.environ.get(_FALLBACK_KEY_ENV):
            return os.environ[_FALLBACK_KEY_ENV]
        return super().api_key()

    def _sdk(self) -> AsyncClientV2:
        """The SDK client for this event loop (the key is checked first, before any import)."""
        key = self.api_key()

        def make() -> AsyncClientV2:
            cohere = require("cohere", extra="cohere")
            return cohere.AsyncClientV2(  # type: ignore[no-any-return]
                api_key=key,
                base_url=self.base_url,
                httpx_client=as_httpx_client(self.http_client()),
                timeout=self.timeout,
                max_retries=0,
            )

        return self._loop_resource("sdk", make)

    async def _complete(self, request: Request) -> Response:
        params = cohere_chat.to_params(request, stream=False)
        sdk = self._sdk()
        with _sdk_errors(request.model, self._observe_headers):
            chat = sdk.with_raw_response.chat
            raw = await chat(**_sdk_arguments(chat, params))
            reply = raw.response
            self._observe_headers(reply.headers)
            body = json_object(
                reply.content, provider=self.name, model=request.model, status=reply.status_code
            )
        return cohere_chat.parse_chat(body)

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        params = cohere_chat.to_params(request, stream=True)
        sdk = self._sdk()
        decoder = cohere_chat.StreamDecoder()
        with _sdk_errors(request.model, self._observe_headers):
            chat_stream = sdk.with_raw_response.chat_stream
            async with chat_stream(**_sdk_arguments(chat_stream, params)) as raw:
                reply = raw.response
                self._observe_headers(reply.headers)
                # The raw bytes go to llmkit's decoder; the SDK's typed events are never built.
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
        """Vectors for `inputs` from `POST /v2/embed`, one per input (`llmkit.embeddings`)."""
        from llmkit.providers import _embed

        return await _embed.cohere(self, inputs, model=model, kind=kind, dimensions=dimensions)

    async def list_models(self) -> list[ModelInfo]:
        """The models this key may use (`GET /v1/models`, every page)."""
        sdk = self._sdk()
        models: list[ModelInfo] = []
        token: str | None = None
        while True:
            with _sdk_errors(None, self._observe_headers):
                raw = await sdk.models.with_raw_response.list(page_size=1000, page_token=token)
                self._observe_headers(raw.response.headers)
                body = json_object(
                    raw.response.content, provider=self.name, status=raw.response.status_code
                )
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


def _sdk_arguments(method: Any, params: dict[str, Any]) -> dict[str, Any]:
    """`params` as keyword arguments of the SDK's `method`; the rest go in the body as they are.

    The SDK sets `stream` itself (`chat` or `chat_stream`).
    """
    known = inspect.signature(method).parameters
    arguments: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in params.items():
        if key == "stream":
            continue
        (arguments if key in known else extra)[key] = value
    options: dict[str, Any] = {"max_retries": 0}
    if extra:
        options["additional_body_parameters"] = extra
    arguments["request_options"] = options
    return arguments


@contextmanager
def _sdk_errors(model: str | None, observe: Callable[[Any], None]) -> Iterator[None]:
    """Translate the SDK's (and httpx's) exceptions into llmkit's, in one place.

    The SDK raises on error statuses before llmkit sees the response: their
    headers are handed to `observe` here.
    """
    try:
        yield
    except errors.LLMError:
        raise
    except Exception as exc:
        headers = getattr(exc, "headers", None)
        if isinstance(headers, dict) and hasattr(exc, "body"):
            observe(headers)
        error = _translate(exc, model)
        if error is None:
            raise
        raise error from exc


def _translate(exc: Exception, model: str | None) -> errors.LLMError | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and hasattr(exc, "body"):  # cohere.core.api_error.ApiError
        headers = getattr(exc, "headers", None) or {}
        if status < 400:  # the SDK could not parse a success reply
            return not_json_error(
                exc.body, provider=cohere_chat.PROVIDER, model=model, status=status
            )
        return cohere_chat.error_from_body(
            status,
            exc.body,
            model=model,
            request_id=headers.get("x-request-id") or headers.get("x-trace-id"),
            retry_after=parse_retry_after(headers),
        )
    return transport_error(
        exc,
        provider=cohere_chat.PROVIDER,
        model=model,
        where="Cohere",
        connect_hint="check the network, or CO_API_URL / `base_url=`",
    )
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "TimeoutException" in names:
        return errors.APITimeoutError(
            "Cohere did not answer in time; retry, or raise `timeout=`",
            provider=cohere_chat.PROVIDER,
            model=model,
        )
    if "TransportError" in names:
        return errors.APIConnectionError(
            f"Could not reach Cohere: {exc} (check the network, or CO_API_URL / `base_url=`)",
            provider=cohere_chat.PROVIDER,
            model=model,
        )
    return None
