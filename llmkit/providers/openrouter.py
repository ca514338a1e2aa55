"""OpenRouter, through the `openai` SDK with OpenRouter's base URL and attribution headers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from llmkit.providers._base import DEFAULT
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.providers.openai_compatible import OpenAICompatibleProvider

if TYPE_CHECKING:
    from collections.abc import Mapping

    from llmkit.ratelimit import RateLimit
    from llmkit.retry import RetryPolicy
    from llmkit.timeouts import Timeouts

__all__ = ["OpenRouterProvider"]


class OpenRouterProvider(OpenAICompatibleProvider):
    """Models of many vendors behind one key (`OPENROUTER_API_KEY`).

    Reasoning goes back as `reasoning`, with the `reasoning_details` OpenRouter
    asks to preserve: https://openrouter.ai/docs/use-cases/reasoning-tokens
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
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: Any = None,
        timeout: float | Timeouts | None = DEFAULT,
        retry: RetryPolicy | None = DEFAULT,
        rate_limit: RateLimit | None = DEFAULT,
        headers: Mapping[str, str] | None = None,
        app_url: str | None = None,
        app_name: str | None = None,
    ) -> None:
        """Configure the provider; `app_url` and `app_name` attribute your app on openrouter.ai.

        Args:
            app_url: sent as `HTTP-Referer` (https://openrouter.ai/docs/app-attribution).
            app_name: sent as `X-Title`.
            **others: as for `OpenAICompatibleProvider`.
        """
        attribution = {"HTTP-Referer": app_url, "X-Title": app_name}
        merged = {k: v for k, v in attribution.items() if v} | dict(headers or {})
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            http_client=http_client,
            timeout=timeout,
            retry=retry,
            rate_limit=rate_limit,
            headers=merged,
        )
