"""Embeddings on every host that has them: `EmbeddingClient` over any provider's `embed`.

    from llmkit.embeddings import EmbeddingClient
    client = EmbeddingClient(provider=OpenAIProvider())
    emb = await client.embed(["a document", "another"], kind="document")

See docs/embeddings.md. Providers embed on their own too
(`await provider.embed(inputs, model=...)`); the client adds the catalog's
model, limits, batching, concurrency, the cache, budgets and events.
"""

from __future__ import annotations

from llmkit.embeddings._models import EmbeddingModel, embedding_model, embedding_models
from llmkit.embeddings.client import EmbeddingClient
from llmkit.types import Embeddings

__all__ = ["EmbeddingClient", "EmbeddingModel", "Embeddings", "embedding_model", "embedding_models"]
