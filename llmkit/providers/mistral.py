"""Mistral's La Plateforme API (sent with `httpx2`; `sender="sdk"`: the `openai` SDK)."""

from __future__ import annotations

from typing import ClassVar

from llmkit.batches._methods import BatchMethods
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.providers.openai_compatible import OpenAICompatibleProvider

__all__ = ["MistralProvider"]


class MistralProvider(BatchMethods, OpenAICompatibleProvider):
    """Mistral's hosted models (`MISTRAL_API_KEY`).

    Tool-call ids from other hosts are re-keyed to Mistral's 9 alphanumerics.
    """

    name: ClassVar[str] = "mistral"
    batch_api: ClassVar[str | None] = "mistral"  # llmkit.batches: /v1/batch/jobs
    default_base_url: ClassVar[str] = "https://api.mistral.ai/v1"
    api_key_env: ClassVar[str | None] = "MISTRAL_API_KEY"
    requires_api_key: ClassVar[bool] = True
    # `random_seed`, no `stream_options`, 9-character tool-call ids:
    # https://docs.mistral.ai/api/#tag/chat ; mozilla-ai/any-llm#720 ; anomalyco/opencode#1680
    default_dialect: ClassVar[Dialect] = Dialect(
        seed_param="random_seed", stream_usage=False, tool_call_ids="mistral"
    )
