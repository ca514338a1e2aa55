"""DeepSeek's own API (sent with `httpx2`; `sender="sdk"`: the `openai` SDK)."""

from __future__ import annotations

from typing import ClassVar

from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.providers.openai_compatible import OpenAICompatibleProvider

__all__ = ["DeepSeekProvider"]


class DeepSeekProvider(OpenAICompatibleProvider):
    """DeepSeek's hosted models (`DEEPSEEK_API_KEY`)."""

    name: ClassVar[str] = "deepseek"
    default_base_url: ClassVar[str] = "https://api.deepseek.com"
    api_key_env: ClassVar[str | None] = "DEEPSEEK_API_KEY"
    requires_api_key: ClassVar[bool] = True
    # Thinking mode wants `reasoning_content` back on assistant turns that called tools,
    # else 400: https://api-docs.deepseek.com/guides/thinking_mode ; `max_tokens` only.
    # A tool-call turn with no reasoning (history from another host, or hand-built) gets
    # `reasoning_content: ""`, which DeepSeek accepts (HOSTS.md §1.2: vercel/ai#13203).
    default_dialect: ClassVar[Dialect] = Dialect(
        reasoning_field="reasoning_content", empty_reasoning_on_tool_turns=True
    )
