"""`AnthropicProvider`'s SDK senders: the `anthropic` SDK's clients, used as senders only.

`sender="sdk"` sends through `AsyncAnthropic`; `platform="bedrock"` through
`AsyncAnthropicBedrock` (SigV4 signing, or a Bedrock API key) and
`platform="vertex"` through `AsyncAnthropicVertex` (Google credentials). In
every case the SDK only sends, with its retries off: llmkit's
`anthropic_messages` codec builds the body and reads the raw reply, so the
results equal those of the direct sender. Bedrock streams arrive as AWS event
stream frames; the SDK's own decoder turns them back into the Messages events,
which are handed to the codec as SSE bytes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from llmkit._imports import require
from llmkit.errors import ConfigurationError, LLMError
from llmkit.providers._codecs import anthropic_messages as codec
from llmkit.providers._transport import no_answer, transport_error

if TYPE_CHECKING:
    from llmkit.providers.anthropic import AnthropicProvider

__all__ = ["PLATFORM_EXTRAS", "AnthropicSDK"]

PLATFORM_EXTRAS = {
    "anthropic": "anthropic",
    "bedrock": "anthropic-bedrock",
    "vertex": "anthropic-vertex",
}
"""The pip extra that installs what each platform's SDK client needs."""
_PLATFORM_MODULES = {"bedrock": "botocore", "vertex": "google.auth"}
_WHERE = {
    "anthropic": "Anthropic",
    "bedrock": "Anthropic on Bedrock",
    "vertex": "Anthropic on Vertex",
}


class AnthropicSDK:
    """Sends an `AnthropicProvider`'s requests through the SDK client of its platform."""

    def __init__(self, provider: AnthropicProvider) -> None:
        self.provider = provider
        self.platform = provider.platform
        require("anthropic", extra=PLATFORM_EXTRAS[self.platform])
        if self.platform in _PLATFORM_MODULES:
            require(_PLATFORM_MODULES[self.platform], extra=PLATFORM_EXTRAS[self.platform])

    @property
    def where(self) -> str:
        return _WHERE[self.platform]

    def client(self) -> Any:
        """The SDK client for this event loop."""
        # Held in a namespace with no close(): BaseProvider.aclose() would otherwise close
        # the SDK, and with it a caller's http_client, which must stay open.
        holder = self.provider._loop_resource(
            "anthropic-sdk", lambda: SimpleNamespace(sdk=self._make())
        )
        return holder.sdk

    def _make(self) -> Any:
        anthropic = require("anthropic", extra=PLATFORM_EXTRAS[self.platform])
        try:
            return self._construct(anthropic)
        except (ValueError, anthropic.AnthropicError) as exc:  # no region, no credentials
            raise ConfigurationError(
                f"{self.where}: {exc} (pass it in `platform_options`; see docs/providers.md)",
                provider=self.provider.name,
            ) from exc

    def _construct(self, anthropic: Any) -> Any:
        from llmkit.providers._http import as_httpx2_client

        provider = self.provider
        common: dict[str, Any] = {
            "http_client": as_httpx2_client(provider.http_client()),
            "max_retries": 0,
            "timeout": provider.timeout,
        }
        options = dict(provider.platform_options)
        if self.platform == "bedrock":
            if provider._api_key:
                options.setdefault("api_key", provider._api_key)
            if provider.base_url != provider.default_base_url:
                options.setdefault("base_url", provider.base_url)
            return anthropic.AsyncAnthropicBedrock(**common, **options)
        if self.platform == "vertex":
            if provider.base_url != provider.default_base_url:
                options.setdefault("base_url", provider.base_url)
            return anthropic.AsyncAnthropicVertex(**common, **options)
        return anthropic.AsyncAnthropic(
            api_key=provider.api_key(), base_url=provider.base_url, **common, **options
        )

    async def post(
        self, path: str, body: Mapping[str, Any], *, headers: Mapping[str, str], stream: bool
    ) -> Any:
        """POST through the SDK; the raw `httpx2.Response` (a Bedrock stream as SSE bytes)."""
        import httpx2

        response = await self.client().post(
            path,
            body=dict(body),
            cast_to=httpx2.Response,
            stream=stream,
            options={"headers": dict(headers)},
        )
        self.provider._observe_headers(response.headers)
        if stream and self.platform == "bedrock":
            return _BedrockEvents(response)
        return response

    async def get(self, path: str, query: Mapping[str, Any]) -> Any:
        """GET through the SDK; the raw `httpx2.Response`."""
        import httpx2

        response = await self.client().get(
            path, cast_to=httpx2.Response, options={"params": dict(query)}
        )
        self.provider._observe_headers(response.headers)
        return response

    @contextmanager
    def errors(self, model: str | None) -> Iterator[None]:
        """Translate the SDK's and the transport's exceptions into llmkit errors, in one place."""
        anthropic = require("anthropic", extra=PLATFORM_EXTRAS[self.platform])
        name = self.provider.name
        try:
            yield
        except LLMError:
            raise
        except anthropic.APIStatusError as exc:
            self.provider._observe_headers(exc.response.headers)
            raise codec.error_from_body(
                exc.status_code,
                exc.response.content,
                exc.response.headers,
                provider=name,
                model=model,
            ) from exc
        except anthropic.APIConnectionError as exc:  # APITimeoutError is one too
            timeout = isinstance(exc, anthropic.APITimeoutError)
            raise no_answer(
                exc, timeout=timeout, provider=name, model=model, where=self.where
            ) from exc
        except anthropic.AnthropicError as exc:  # e.g. no AWS region or Google credentials
            raise ConfigurationError(
                f"{self.where}: {exc} (see docs/providers.md, Bedrock and Vertex)",
                provider=name,
                model=model,
            ) from exc
        except Exception as exc:  # an HTTP library's, raised while a stream's body is read
            error = transport_error(exc, provider=name, model=model, where=self.where)
            if error is None:
                raise
            raise error from exc


class _BedrockEvents:
    """A Bedrock stream (AWS event stream frames) as the Messages SSE bytes the codec reads.

    Each frame's `chunk.bytes` is one Messages event; an exception frame becomes an
    `error` event, as a first-party stream would send it (the SDK's own decoder does both).
    """

    def __init__(self, response: Any) -> None:
        self._response = response
        self.headers = response.headers
        self.status_code = response.status_code

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        from anthropic.lib.bedrock._stream_decoder import AWSEventStreamDecoder

        async for sse in AWSEventStreamDecoder().aiter_bytes(self._response.aiter_bytes()):
            data = sse.data if sse.data else json.dumps({"type": "ping"})
            lines = "".join(f"data: {line}\n" for line in data.splitlines())
            yield f"event: {sse.event or 'message'}\n{lines}\n".encode()

    async def aclose(self) -> None:
        await self._response.aclose()
