"""Anthropic's own API (Claude), reached through the `anthropic` SDK.

The SDK sends (auth, `anthropic-version`, base URL, its error classes) with its
retries off; `llmkit.providers._codecs.anthropic_messages` builds the body and
reads the raw reply, so no typed SDK object is built per reply or per chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

from llmkit import _sync
from llmkit._imports import require
from llmkit.errors import LLMError, StreamError
from llmkit.providers._base import BaseProvider, ModelInfo
from llmkit.providers._codecs import anthropic_messages as codec
from llmkit.providers._codecs._errors_common import json_object
from llmkit.providers._pump import pump
from llmkit.providers._transport import no_answer, transport_error
from llmkit.types import Request, Response, StreamEvent

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

__all__ = ["AnthropicProvider"]


class AnthropicProvider(BaseProvider):
    """Claude on Anthropic's Messages API; key from `ANTHROPIC_API_KEY`.

    Extended thinking is asked for through `Request.extra`:
    `{"thinking": {"type": "enabled", "budget_tokens": 2048}}` (the budget must
    be ≥ 1024 and below `max_tokens`) or `{"thinking": {"type": "adaptive"}}`.
    """

    name: ClassVar[str] = "anthropic"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    api_key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    sdk_module: ClassVar[str | None] = "anthropic"
    sdk_extra: ClassVar[str] = "anthropic"

    # -- the SDK ------------------------------------------------------------------

    def _sdk(self) -> AsyncAnthropic:
        # Held in a namespace with no close(): BaseProvider.aclose() would otherwise close
        # the SDK, and with it a caller's http_client, which must stay open.
        holder = self._loop_resource("anthropic", lambda: SimpleNamespace(sdk=self._make_sdk()))
        return holder.sdk  # type: ignore[no-any-return]

    def _make_sdk(self) -> AsyncAnthropic:
        anthropic = require("anthropic", extra="anthropic")
        return anthropic.AsyncAnthropic(  # type: ignore[no-any-return]
            api_key=self.api_key(),
            base_url=self.base_url,
            http_client=_as_httpx2(self.http_client()),
            max_retries=0,
            timeout=self.timeout,
        )

    @contextmanager
    def _map_errors(self, model: str | None) -> Iterator[None]:
        """Translate the SDK's and the transport's exceptions into llmkit errors, in one place."""
        anthropic = require("anthropic", extra="anthropic")
        try:
            yield
        except LLMError:
            raise
        except anthropic.APIStatusError as exc:
            self._observe_headers(exc.response.headers)
            raise codec.error_from_body(
                exc.status_code,
                exc.response.content,
                exc.response.headers,
                provider=self.name,
                model=model,
            ) from exc
        except anthropic.APIConnectionError as exc:  # APITimeoutError is one too
            timeout = isinstance(exc, anthropic.APITimeoutError)
            raise no_answer(
                exc, timeout=timeout, provider=self.name, model=model, where="Anthropic"
            ) from exc
        except Exception as exc:  # an HTTP library's, raised while a stream's body is read
            error = transport_error(exc, provider=self.name, model=model, where="Anthropic")
            if error is None:
                raise
            raise error from exc

    async def _post(self, path: str, body: dict[str, Any], *, stream: bool = False) -> Any:
        """POST through the SDK and hand back the raw `httpx2.Response` (headers observed)."""
        import httpx2

        response = await self._sdk().post(path, body=body, cast_to=httpx2.Response, stream=stream)
        self._observe_headers(response.headers)
        return response

    # -- the protocol ---------------------------------------------------------------

    async def _complete(self, request: Request) -> Response:
        params = codec.to_params(request, provider=self.name)
        with self._map_errors(request.model):
            response = await self._post("/v1/messages", params)
        body = _json_object(response, provider=self.name, model=request.model)
        return codec.parse_message(body, provider=self.name)

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        params = {**codec.to_params(request, provider=self.name), "stream": True}
        parser = codec.MessageStreamParser(provider=self.name, model=request.model)
        with self._map_errors(request.model):
            response = await self._post("/v1/messages", params, stream=True)
            async for event in pump(response, parser):
                yield event
        if not parser.done:
            raise StreamError(
                "Anthropic's stream ended before message_stop; the reply is incomplete, retry it",
                provider=self.name,
                model=request.model,
                retryable=True,
            )

    async def count_tokens(self, request: Request) -> int:
        """Input tokens of `request`, counted by Anthropic's `/v1/messages/count_tokens`."""
        params = codec.to_count_tokens_params(request, provider=self.name)
        with self._map_errors(request.model):
            response = await self._post("/v1/messages/count_tokens", params)
        body = _json_object(response, provider=self.name, model=request.model)
        return codec.parse_count_tokens(body, provider=self.name)

    def count_tokens_sync(self, request: Request) -> int:
        """Blocking twin of `count_tokens`."""
        return _sync.run(partial(self.count_tokens, request))

    async def list_models(self) -> list[ModelInfo]:
        """The models `GET /v1/models` lists, every page."""
        import httpx2

        models: list[ModelInfo] = []
        after: str | None = None
        with self._map_errors(None):
            while True:
                query = {"limit": 1000, **({"after_id": after} if after else {})}
                response = await self._sdk().get(
                    "/v1/models", cast_to=httpx2.Response, options={"params": query}
                )
                self._observe_headers(response.headers)
                page = _json_object(response, provider=self.name, model=None)
                models.extend(_model_info(item, self.name) for item in page.get("data", []))
                after = page.get("last_id")
                if not page.get("has_more") or not after:
                    return models


def _model_info(item: dict[str, Any], provider: str) -> ModelInfo:
    created = None
    if item.get("created_at"):
        try:
            created = int(datetime.fromisoformat(item["created_at"]).timestamp())
        except ValueError:
            created = None
    return ModelInfo(
        id=item["id"],
        provider=provider,
        owned_by="anthropic",
        context_window=item.get("max_input_tokens"),
        created=created,
    )


def _json_object(response: Any, *, provider: str, model: str | None) -> Mapping[str, Any]:
    """The reply's JSON object; an empty, malformed or HTML body raises `InvalidResponseError`."""
    return json_object(
        response.content, provider=provider, model=model, status=response.status_code
    )


def _as_httpx2(client: Any) -> Any:
    """The client as an `httpx2.AsyncClient`: anthropic 2 refuses `httpx` ones, so bridge them."""
    from llmkit.providers import _http

    return _http.as_httpx2_client(client)
