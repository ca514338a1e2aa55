"""`CohereProvider`'s SDK sender (`sender="sdk"`): the `cohere` SDK sends, the codec reads.

The SDK sends (key, base URL, headers, its error classes) through its public
`with_raw_response` facility, which hands over the raw HTTP response: llmkit's
`cohere_chat` codec parses the JSON body and the SSE stream itself. The SDK takes
only `httpx` clients, so llmkit's `httpx2` pool goes to it through the bridge in
`llmkit.providers._http`. The SDK's own retries are off: llmkit's policy governs.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from llmkit import errors
from llmkit._imports import require
from llmkit.providers._codecs import cohere_chat
from llmkit.providers._codecs._errors_common import not_json_error
from llmkit.providers._http import as_httpx_client
from llmkit.providers._transport import transport_error

if TYPE_CHECKING:
    from llmkit.providers.cohere import CohereProvider

__all__ = ["CohereSDK"]


class CohereSDK:
    """Sends a `CohereProvider`'s requests through `cohere.AsyncClientV2`."""

    def __init__(self, provider: CohereProvider) -> None:
        self.provider = provider

    def client(self) -> Any:
        """The SDK client for this event loop (the key is checked first, before any import)."""
        provider = self.provider
        key = provider.api_key()

        def make() -> Any:
            cohere = require("cohere", extra="cohere")
            return cohere.AsyncClientV2(
                api_key=key,
                base_url=provider.base_url,
                httpx_client=as_httpx_client(provider.http_client()),
                timeout=provider.timeout,
                max_retries=0,
            )

        return provider._loop_resource("sdk", make)

    async def chat(self, params: Mapping[str, Any]) -> Any:
        """`POST /v2/chat`, not streamed: the raw response (headers observed)."""
        chat = self.client().with_raw_response.chat
        raw = await chat(**_sdk_arguments(chat, params))
        self.provider._observe_headers(raw.response.headers)
        return raw.response

    @asynccontextmanager
    async def chat_stream(self, params: Mapping[str, Any]) -> AsyncIterator[Any]:
        """`POST /v2/chat` streamed: the raw response, whose bytes go to llmkit's parser."""
        chat_stream = self.client().with_raw_response.chat_stream
        async with chat_stream(**_sdk_arguments(chat_stream, params)) as raw:
            self.provider._observe_headers(raw.response.headers)
            yield raw.response

    async def models(self, query: Mapping[str, Any]) -> Any:
        """`GET /v1/models`: the raw response."""
        raw = await self.client().models.with_raw_response.list(**query)
        self.provider._observe_headers(raw.response.headers)
        return raw.response

    @contextmanager
    def errors(self, model: str | None) -> Iterator[None]:
        """Translate the SDK's (and httpx's) exceptions into llmkit's, in one place.

        The SDK raises on error statuses before llmkit sees the response: their
        headers go to the rate limiter here.
        """
        try:
            yield
        except errors.LLMError:
            raise
        except Exception as exc:
            headers = getattr(exc, "headers", None)
            if isinstance(headers, dict) and hasattr(exc, "body"):
                self.provider._observe_headers(headers)
            error = _translate(exc, self.provider.name, model)
            if error is None:
                raise
            raise error from exc


def _sdk_arguments(method: Any, params: Mapping[str, Any]) -> dict[str, Any]:
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


def _translate(exc: Exception, provider: str, model: str | None) -> errors.LLMError | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and hasattr(exc, "body"):  # cohere.core.api_error.ApiError
        if status < 400:  # the SDK could not parse a success reply
            return not_json_error(exc.body, provider=provider, model=model, status=status)
        return cohere_chat.error_from_body(
            status, exc.body, getattr(exc, "headers", None), provider=provider, model=model
        )
    return transport_error(
        exc,
        provider=provider,
        model=model,
        where="Cohere",
        connect_hint="check the network, or CO_API_URL / `base_url=`",
    )
