"""Anthropic's Messages API (Claude), spoken by llmkit itself or sent through the SDK.

By default llmkit builds the URL, the headers (`x-api-key`, `anthropic-version`,
`anthropic-beta` when a request asks for betas, its `user-agent`) and the body,
and sends them with its `httpx2` pool (or the caller's `httpx2` / `httpx`
client): no SDK is imported. `sender="sdk"` and the cloud platforms (Bedrock,
Vertex) send through the `anthropic` SDK instead (`_anthropic_sdk`). Either way
`llmkit.providers._codecs.anthropic_messages` builds the body and reads the raw
reply, so no typed SDK object is built per reply or per chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property, partial
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

from llmkit import _sync
from llmkit.batches._methods import BatchMethods
from llmkit.errors import ConfigurationError, LLMError, StreamError
from llmkit.providers._anthropic_sdk import PLATFORM_EXTRAS, AnthropicSDK
from llmkit.providers._base import BaseProvider, ModelInfo
from llmkit.providers._codecs import anthropic_messages as codec
from llmkit.providers._codecs._errors_common import json_object
from llmkit.providers._pump import USER_AGENT, open_reply, pump
from llmkit.providers._transport import transport_error
from llmkit.types import Request, Response, StreamEvent

__all__ = ["AnthropicProvider", "Platform"]

Platform = Literal["anthropic", "bedrock", "vertex"]
"""Where Claude is reached: Anthropic's own API, Amazon Bedrock, or Google Vertex AI."""


class AnthropicProvider(BatchMethods, BaseProvider):
    """Claude on Anthropic's Messages API; key from `ANTHROPIC_API_KEY`.

    llmkit sends the requests itself (`sender="httpx2"`, the default: no SDK is
    imported); `sender="sdk"` has the `anthropic` SDK send them instead.
    `platform="bedrock"` / `"vertex"` reach Claude on Amazon Bedrock / Google
    Vertex AI through the SDK's clients, which carry those clouds' auth.

    Extended thinking is asked for through `Request.extra`:
    `{"thinking": {"type": "enabled", "budget_tokens": 2048}}` (the budget must
    be ≥ 1024 and below `max_tokens`) or `{"thinking": {"type": "adaptive"}}`.
    Beta features: `{"betas": ["<beta-name>"]}` is sent as the `anthropic-beta` header.
    """

    name: ClassVar[str] = "anthropic"
    batch_api: ClassVar[str | None] = "anthropic"  # llmkit.batches: Message Batches
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    api_key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    sdk_module: ClassVar[str | None] = "anthropic"
    sdk_extra: ClassVar[str] = "anthropic"
    default_sender: ClassVar[Any] = "httpx2"
    api_version: ClassVar[str] = "2023-06-01"
    """The `anthropic-version` header llmkit's requests carry."""

    def __init__(
        self,
        *,
        platform: Platform = "anthropic",
        platform_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Configure the provider; nothing is sent yet.

        Args:
            platform: `"anthropic"` (Anthropic's API), `"bedrock"` (the SDK's
                `AsyncAnthropicBedrock`; extra `anthropic-bedrock`) or `"vertex"`
                (`AsyncAnthropicVertex`; extra `anthropic-vertex`). The cloud platforms
                send through the SDK, so `sender` is `"sdk"` for them.
            platform_options: arguments for the platform's SDK client, e.g.
                `{"aws_region": "us-east-1"}` (Bedrock: also `aws_access_key`,
                `aws_secret_key`, `aws_session_token`, `aws_profile`) or
                `{"region": "us-east5", "project_id": "my-project"}` (Vertex: also
                `access_token`, `credentials`).
            **kwargs: `BaseProvider`'s (`api_key`, `base_url`, `http_client`, `timeout`,
                `retry`, `rate_limit`, `sender`).

        Raises:
            ConfigurationError: an unknown platform, `sender="httpx2"` with a cloud
                platform, or the platform's extra is not installed.
        """
        if platform not in PLATFORM_EXTRAS:
            raise ConfigurationError(
                f"AnthropicProvider(platform={platform!r}) is not a platform; "
                "use 'anthropic', 'bedrock' or 'vertex'",
                provider=self.name,
            )
        if platform != "anthropic":
            if kwargs.get("sender") not in (None, "sdk"):
                raise ConfigurationError(
                    f"AnthropicProvider(platform={platform!r}) sends through the anthropic "
                    "SDK's client (it signs the requests); leave `sender` unset or pass 'sdk'",
                    provider=self.name,
                )
            kwargs["sender"] = "sdk"
        self.platform: Platform = platform
        self.platform_options: dict[str, Any] = dict(platform_options or {})
        super().__init__(**kwargs)
        if self.sender == "sdk":
            self._sdk  # noqa: B018 - checks the SDK (and the platform's extra) is installed now

    def __repr__(self) -> str:
        where = "" if self.platform == "anthropic" else f", platform={self.platform!r}"
        return f"{type(self).__name__}(base_url={self.base_url!r}{where}, sender={self.sender!r})"

    @property
    def has_api_key(self) -> bool:
        """Whether a key was given or is set; the cloud platforms authenticate their own way."""
        return self.platform != "anthropic" or super().has_api_key

    @cached_property
    def _sdk(self) -> AnthropicSDK:
        return AnthropicSDK(self)

    # -- sending ----------------------------------------------------------------------

    def _headers(self, betas: list[str]) -> dict[str, str]:
        """The headers of a direct request (the SDK sets its own, plus `anthropic-beta`)."""
        headers = {
            "x-api-key": self.api_key(),
            "anthropic-version": self.api_version,
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": USER_AGENT,
        }
        headers.update(_beta_header(betas))
        return headers

    @contextmanager
    def _errors(self, model: str | None) -> Iterator[None]:
        """Translate the sender's exceptions (transport, SDK) into llmkit errors."""
        if self.sender == "sdk":
            with self._sdk.errors(model):
                yield
            return
        try:
            yield
        except LLMError:
            raise
        except Exception as exc:
            error = transport_error(exc, provider=self.name, model=model, where="Anthropic")
            if error is None:
                raise
            raise error from exc

    async def _open(
        self, path: str, params: dict[str, Any], *, model: str | None, stream: bool = False
    ) -> Any:
        """POST `params` (their `betas` become the header) and return the open reply."""
        betas = codec.pop_betas(params)
        if self.sender == "sdk":
            return await self._sdk.post(path, params, headers=_beta_header(betas), stream=stream)
        return await open_reply(
            self,
            "POST",
            self.base_url + path,
            json=params,
            headers=self._headers(betas),
            model=model,
            error_from_body=codec.error_from_body,
        )

    async def _read(self, response: Any, model: str | None) -> Mapping[str, Any]:
        """The whole body of an open reply as a JSON object (`InvalidResponseError` if not)."""
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        return json_object(content, provider=self.name, model=model, status=response.status_code)

    # -- the protocol ---------------------------------------------------------------

    async def _complete(self, request: Request) -> Response:
        params = codec.to_params(request, provider=self.name)
        with self._errors(request.model):
            response = await self._open("/v1/messages", params, model=request.model)
            body = await self._read(response, request.model)
        return codec.parse_reply(body, provider=self.name)

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        params = codec.to_params(request, stream=True, provider=self.name)
        parser = codec.StreamParser(provider=self.name, model=request.model)
        with self._errors(request.model):
            response = await self._open("/v1/messages", params, model=request.model, stream=True)
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
        self._first_party_only("count_tokens")
        params = codec.to_count_tokens_params(request, provider=self.name)
        with self._errors(request.model):
            response = await self._open("/v1/messages/count_tokens", params, model=request.model)
            body = await self._read(response, request.model)
        return codec.parse_count_tokens(body, provider=self.name)

    def count_tokens_sync(self, request: Request) -> int:
        """Blocking twin of `count_tokens`."""
        return _sync.run(partial(self.count_tokens, request))

    async def list_models(self) -> list[ModelInfo]:
        """The models `GET /v1/models` lists, every page."""
        self._first_party_only("list_models")
        models: list[ModelInfo] = []
        after: str | None = None
        with self._errors(None):
            while True:
                query: dict[str, Any] = {"limit": 1000, **({"after_id": after} if after else {})}
                if self.sender == "sdk":
                    response = await self._sdk.get("/v1/models", query)
                else:
                    response = await open_reply(
                        self,
                        "GET",
                        f"{self.base_url}/v1/models?{urlencode(query)}",
                        headers=self._headers([]),
                        model=None,
                        error_from_body=codec.error_from_body,
                    )
                page = await self._read(response, None)
                models.extend(_model_info(item, self.name) for item in page.get("data", []))
                after = page.get("last_id")
                if not page.get("has_more") or not after:
                    return models

    def _first_party_only(self, what: str) -> None:
        if self.platform != "anthropic":
            raise ConfigurationError(
                f"AnthropicProvider.{what}() uses Anthropic's own API; it is not available "
                f"with platform={self.platform!r} (use the cloud's console or SDK)",
                provider=self.name,
            )


def _beta_header(betas: list[str]) -> dict[str, str]:
    return {"anthropic-beta": ",".join(betas)} if betas else {}


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
