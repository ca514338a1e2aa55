"""OpenRouter: the OpenAI-compatible provider with OpenRouter's base URL and attribution headers."""

from __future__ import annotations

from typing import ClassVar, Unpack

from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.providers.openai_compatible import OpenAICompatibleOptions, OpenAICompatibleProvider

__all__ = ["OpenRouterProvider"]


class OpenRouterProvider(OpenAICompatibleProvider):
    """Models of many vendors behind one key (`OPENROUTER_API_KEY`).

    Reasoning goes back as `reasoning`, with the `reasoning_details` OpenRouter
    asks to preserve: https://openrouter.ai/docs/use-cases/reasoning-tokens
    `api="responses"` speaks OpenRouter's Responses API (`/api/v1/responses`).
    """

    name: ClassVar[str] = "openrouter"
    default_base_url: ClassVar[str] = "https://openrouter.ai/api/v1"
    api_key_env: ClassVar[str | None] = "OPENROUTER_API_KEY"
    requires_api_key: ClassVar[bool] = True
    default_dialect: ClassVar[Dialect] = Dialect(
        reasoning_field="reasoning", send_reasoning_details=True
    )

    def __init__(
        self,
        *,
        app_url: str | None = None,
        app_name: str | None = None,
        **options: Unpack[OpenAICompatibleOptions],
    ) -> None:
        """Configure the provider; `app_url` and `app_name` attribute your app on openrouter.ai.

        Args:
            app_url: sent as `HTTP-Referer` (https://openrouter.ai/docs/app-attribution).
            app_name: sent as `X-Title`.
            **options: as for `OpenAICompatibleProvider` (`api_key`, `base_url`,
                `http_client`, `timeout`, `retry`, `rate_limit`, `headers`, `dialect`,
                `sender`); `headers` win over the attribution headers.
        """
        attribution = {"HTTP-Referer": app_url, "X-Title": app_name}
        caller = options.get("headers") or {}
        options["headers"] = {k: v for k, v in attribution.items() if v} | dict(caller)
        super().__init__(**options)
