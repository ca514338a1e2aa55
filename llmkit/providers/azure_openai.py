"""Azure OpenAI: GPT models deployed in an Azure resource, spoken with `httpx2` directly.

Two ways in, both with the OpenAI Chat Completions wire format (the same codec):

- the v1 API (the default): `{endpoint}/openai/v1/chat/completions`, the
  deployment's name as `model` in the body, no `api-version`
  (https://learn.microsoft.com/azure/foundry/openai/api-version-lifecycle);
- the deployment path, when `api_version=` or `deployment=` is given:
  `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`
  (the deployment is the request's model unless `deployment=` fixes it).

`api="responses"` speaks the Responses API instead: `{endpoint}/openai/v1/responses`,
or `{endpoint}/openai/responses?api-version=...` with an `api_version` that has it
(`2025-03-01-preview` or later).

Auth is an `api-key` header (`AZURE_OPENAI_API_KEY`) or a Microsoft Entra ID
token: `azure_ad_token_provider=` takes a callable, sync or async, returning a
bearer token (e.g. `azure.identity.get_bearer_token_provider(credential,
"https://cognitiveservices.azure.com/.default")`), called before every request
(such providers cache the token themselves). No Azure or OpenAI SDK is needed.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable
from typing import ClassVar, Unpack
from urllib.parse import quote

from llmkit.batches._methods import BatchMethods
from llmkit.errors import AuthenticationError, ConfigurationError
from llmkit.providers._base import Sender
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.providers.openai_compatible import OpenAICompatibleOptions, OpenAICompatibleProvider

__all__ = ["DEFAULT_API_VERSION", "AzureOpenAIProvider", "TokenProvider"]

DEFAULT_API_VERSION = "2024-10-21"
"""The `api-version` of the deployment path when only `deployment=` is given (the latest GA
data-plane version with chat completions: https://learn.microsoft.com/azure/ai-foundry/openai/reference)."""

TokenProvider = Callable[[], "str | Awaitable[str]"]
"""A callable returning a Microsoft Entra ID bearer token (sync or async)."""


class AzureOpenAIProvider(BatchMethods, OpenAICompatibleProvider):
    """GPT models on Azure OpenAI (`AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY`).

    Example:
        provider = AzureOpenAIProvider(endpoint="https://my-resource.openai.azure.com")
        reply = await provider.complete(Request(model="my-gpt-4-1-deployment", messages=...))
    """

    name: ClassVar[str] = "azure-openai"
    batch_api: ClassVar[str | None] = "openai"  # llmkit.batches: global-batch deployments
    batch_endpoint: ClassVar[str] = "/chat/completions"
    api_key_env: ClassVar[str | None] = "AZURE_OPENAI_API_KEY"
    endpoint_env: ClassVar[str] = "AZURE_OPENAI_ENDPOINT"
    requires_api_key: ClassVar[bool] = True
    sdk_module: ClassVar[str | None] = None
    """Direct only: the `openai` SDK's Azure client is not used."""
    default_sender: ClassVar[Sender | None] = "httpx2"
    default_dialect: ClassVar[Dialect] = Dialect(max_tokens_param="max_completion_tokens")

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        azure_ad_token_provider: TokenProvider | None = None,
        api_version: str | None = None,
        deployment: str | None = None,
        **options: Unpack[OpenAICompatibleOptions],
    ) -> None:
        """Configure the provider; nothing is sent yet.

        Args:
            endpoint: the resource's endpoint, `https://<resource>.openai.azure.com`;
                by default `AZURE_OPENAI_ENDPOINT`.
            azure_ad_token_provider: a callable (sync or async) returning an Entra ID
                token, sent as `Authorization: Bearer ...` instead of the `api-key`.
            api_version: use the deployment path with this `api-version`.
            deployment: use the deployment path with this deployment for every request
                (the request's `model` otherwise).
            **options: as for `OpenAICompatibleProvider` (`api_key`, `base_url` to give
                the full API root yourself, `http_client`, `timeout`, `retry`,
                `rate_limit`, `headers`, `dialect`).

        Raises:
            ConfigurationError: no endpoint, or `sender="sdk"`.
        """
        if azure_ad_token_provider is not None and not callable(azure_ad_token_provider):
            raise ConfigurationError(
                "azure_ad_token_provider must be a callable returning a token, e.g. "
                "azure.identity.get_bearer_token_provider(credential, "
                "'https://cognitiveservices.azure.com/.default')",
                provider=self.name,
            )
        self._token_provider = azure_ad_token_provider
        self.deployment = deployment
        self.api_version = api_version or (DEFAULT_API_VERSION if deployment else None)
        root = (endpoint or os.environ.get(self.endpoint_env) or "").strip().rstrip("/")
        if not options.get("base_url"):
            if not root:
                raise ConfigurationError(
                    f"AzureOpenAIProvider needs the resource's endpoint: set {self.endpoint_env} "
                    "or pass `endpoint='https://<resource>.openai.azure.com'`",
                    provider=self.name,
                )
            options["base_url"] = f"{root}/openai" + ("" if self.api_version else "/v1")
        super().__init__(**options)

    def __repr__(self) -> str:
        mode = f", api_version={self.api_version!r}" if self.api_version else ""
        return f"AzureOpenAIProvider(base_url={self.base_url!r}{mode})"

    @property
    def has_api_key(self) -> bool:
        """Whether a key or an Entra ID token provider is configured (never shows it)."""
        return self._token_provider is not None or super().has_api_key

    # -- URLs -----------------------------------------------------------------------

    def model_url(self, path: str, model: str) -> str:
        """A request's URL: v1, or the deployment path with `api-version`
        (the Responses API has no deployment path: `/openai/responses?api-version=...`)."""
        if self.api_version is None or path == self.responses_path:
            return self.url(path)
        deployment = quote(self.deployment or model, safe="")
        return f"{self.base_url}/deployments/{deployment}{path}?api-version={self.api_version}"

    def url(self, path: str) -> str:
        """The full URL of an API path (with `api-version` on the deployment path)."""
        if self.api_version is None:
            return self.base_url + path
        return f"{self.base_url}{path}?api-version={self.api_version}"

    # -- auth -----------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """The `api-key` header (the token provider's bearer token is added per request)."""
        if self._token_provider is not None:
            return {}
        return {"api-key": self.api_key()}

    async def request_headers(self) -> dict[str, str]:
        """Every header of a request; a fresh Entra ID token each time, if one is used."""
        headers = await super().request_headers()
        if self._token_provider is None:
            return headers
        return {**headers, "authorization": f"Bearer {await self._token()}"}

    async def _token(self) -> str:
        assert self._token_provider is not None
        try:
            token = self._token_provider()
            if inspect.isawaitable(token):
                token = await token
        except Exception as exc:
            raise AuthenticationError(
                f"the Entra ID token provider failed ({type(exc).__name__}: {exc}); check the "
                "credential (`az login`, a managed identity) and its role on the resource",
                provider=self.name,
                retryable=False,
            ) from exc
        if not isinstance(token, str) or not token:
            raise ConfigurationError(
                "azure_ad_token_provider returned no token (it must return the bearer "
                f"token as a string, got {type(token).__name__})",
                provider=self.name,
            )
        return token

    def api_key(self) -> str:
        """The `api-key`; raises `ConfigurationError` saying how to set it (or use Entra ID)."""
        try:
            return super().api_key()
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"{exc.message}, or pass `azure_ad_token_provider=` for Microsoft Entra ID",
                provider=self.name,
            ) from None
