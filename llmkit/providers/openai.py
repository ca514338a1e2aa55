"""OpenAI's Chat Completions API (sent with `httpx2`; `sender="sdk"`: the `openai` SDK), or its
Responses API with `api="responses"` (the `openai_responses` codec)."""

from __future__ import annotations

from typing import ClassVar

from llmkit.batches._methods import BatchMethods
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.providers.openai_compatible import OpenAICompatibleProvider

__all__ = ["OpenAIProvider"]


class OpenAIProvider(BatchMethods, OpenAICompatibleProvider):
    """OpenAI's hosted models (`OPENAI_API_KEY`); `api="responses"` for the Responses API."""

    name: ClassVar[str] = "openai"
    batch_api: ClassVar[str | None] = "openai"  # llmkit.batches: /files + /batches
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    requires_api_key: ClassVar[bool] = True
    # `max_tokens` is refused by reasoning models and deprecated for the rest:
    # https://platform.openai.com/docs/api-reference/chat/create#chat-create-max_completion_tokens
    default_dialect: ClassVar[Dialect] = Dialect(max_tokens_param="max_completion_tokens")
