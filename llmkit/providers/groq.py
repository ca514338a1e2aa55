"""Groq's OpenAI-compatible API (sent with `httpx2`; `sender="sdk"`: the `groq` SDK, which takes only `httpx` clients)."""

from __future__ import annotations

from typing import Any, ClassVar

from llmkit._imports import require
from llmkit.batches._methods import BatchMethods
from llmkit.providers._codecs.openai_chat import GROQ_REFUSED, Dialect
from llmkit.providers._http import as_httpx_client
from llmkit.providers.openai_compatible import OpenAICompatibleProvider

__all__ = ["GroqProvider"]


class GroqProvider(BatchMethods, OpenAICompatibleProvider):
    """Groq's hosted models (`GROQ_API_KEY`).

    Groq refuses `n` other than 1, logprobs and `messages[].name`
    (https://console.groq.com/docs/openai): such requests fail before they are
    sent. It also refuses `reasoning` on assistant turns, so an assistant turn's
    reasoning (from Groq or another host) is withheld, never sent back.
    """

    name: ClassVar[str] = "groq"
    batch_api: ClassVar[str | None] = "openai"  # llmkit.batches: OpenAI's batch API
    default_base_url: ClassVar[str] = "https://api.groq.com/openai/v1"
    api_key_env: ClassVar[str | None] = "GROQ_API_KEY"
    requires_api_key: ClassVar[bool] = True
    sdk_module: ClassVar[str | None] = "groq"
    sdk_extra: ClassVar[str] = "groq"
    # Usage comes under `x_groq` on the last chunk; the SDK refuses `stream_options`.
    default_dialect: ClassVar[Dialect] = Dialect(
        max_tokens_param="max_completion_tokens",
        stream_usage=False,
        refused_params=GROQ_REFUSED,
        single_choice_only=True,
        refuses_message_names=True,
    )

    def _make_sdk(self, api_key: str, http_client: Any) -> Any:
        groq = require("groq", extra="groq")
        return groq.AsyncGroq(
            api_key=api_key,
            base_url=self.base_url,
            http_client=as_httpx_client(http_client),
            max_retries=0,
            timeout=self.timeout,
            default_headers=self.default_headers() or None,
        )

    def _raw_response_type(self) -> type[Any]:
        import httpx

        return httpx.Response
