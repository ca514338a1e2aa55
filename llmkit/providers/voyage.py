"""Voyage AI (`api.voyageai.com`): embeddings only, spoken with `httpx2` directly (no SDK).

Voyage serves no chat models: `complete` and `stream` say so. `embed` sends
`POST /v1/embeddings` with the key from `VOYAGE_API_KEY`; `kind` becomes
Voyage's `input_type`, `dimensions` its `output_dimension`.
https://docs.voyageai.com/reference/embeddings-api
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import ClassVar

from llmkit.errors import ConfigurationError
from llmkit.providers import _embed
from llmkit.providers._base import BaseProvider, ModelInfo
from llmkit.types import Embeddings, Request, Response, StreamEvent

__all__ = ["VoyageProvider"]

MODELS = ("voyage-3.5", "voyage-3.5-lite", "voyage-3-large", "voyage-code-3", "voyage-law-2")
"""What `list_models` reports: Voyage has no model-listing endpoint."""


class VoyageProvider(BaseProvider):
    """Voyage AI's embedding models (`VOYAGE_API_KEY`).

    Example:
        emb = await VoyageProvider().embed(["hello", "world"], model="voyage-3.5", kind="document")
    """

    name: ClassVar[str] = "voyage"
    default_base_url: ClassVar[str] = "https://api.voyageai.com/v1"
    api_key_env: ClassVar[str | None] = "VOYAGE_API_KEY"

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str,
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """Vectors for `inputs` (one per input, in order); see `llmkit.embeddings`."""
        return await _embed.voyage(self, inputs, model=model, kind=kind, dimensions=dimensions)

    async def list_models(self) -> list[ModelInfo]:
        """Voyage's current embedding models (it has no listing endpoint)."""
        return [ModelInfo(id=m, provider=self.name, owned_by="voyage") for m in MODELS]

    async def _complete(self, request: Request) -> Response:
        raise _no_chat()

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        for _ in ():  # an async generator that raises on its first step
            yield _
        raise _no_chat()


def _no_chat() -> ConfigurationError:
    return ConfigurationError(
        "Voyage AI serves embeddings only: use `VoyageProvider().embed(...)` or "
        "`llmkit.embeddings.EmbeddingClient`, and another provider for chat",
        provider="voyage",
    )
