"""`SentenceTransformersProvider`: embeddings from a `sentence-transformers` model, in process.

The model loads on the first `embed` (from a directory or the local Hugging
Face cache; never downloaded behind the user's back when offline) and runs
on one worker thread. `kind="query"` / `"document"` use the model's own query
and document prompts where it has them (`encode_query` / `encode_document`);
`dimensions` truncates for Matryoshka-trained models.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from llmkit._imports import require
from llmkit.errors import ConfigurationError
from llmkit.providers._base import ModelInfo, SyncTwins
from llmkit.providers._embed import check_inputs
from llmkit.providers._stream import ResponseStream
from llmkit.providers.local.loading import Device, resolve_device
from llmkit.types import Embeddings, Request, Response, StreamEvent, Usage

__all__ = ["SentenceTransformersProvider"]

_log = logging.getLogger("llmkit")


class SentenceTransformersProvider(SyncTwins):
    """Local embeddings with `sentence-transformers` (extra `local`); no chat.

    Example:
        provider = SentenceTransformersProvider(model="sentence-transformers/all-MiniLM-L6-v2")
        emb = await provider.embed(["hello", "world"])
    """

    name: ClassVar[str] = "local-embeddings"

    def __init__(
        self,
        model: str,
        *,
        device: Device = "auto",
        revision: str | None = None,
        trust_remote_code: bool = False,
        batch_size: int = 32,
    ) -> None:
        """Configure the provider; the model loads on the first `embed`.

        Args:
            model: a model id in the local Hugging Face cache, or a directory.
            device: `auto`, `cpu`, `cuda` or `mps`.
            revision: a branch, tag or commit of the model repository.
            trust_remote_code: run the repository's own Python code.
            batch_size: inputs encoded per forward pass.
        """
        self.model = model
        self._device = device
        self._revision = revision
        self._trust = trust_remote_code
        self._batch_size = batch_size
        self._st: Any = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmkit-embed")

    def __repr__(self) -> str:
        return f"SentenceTransformersProvider(model={self.model!r})"

    def _load(self) -> Any:
        if self._st is None:
            module = require("sentence_transformers", extra="local")
            torch = require("torch", extra="local")
            offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
            try:
                self._st = module.SentenceTransformer(
                    self.model,
                    device=resolve_device(self._device, torch),
                    revision=self._revision,
                    trust_remote_code=self._trust,
                    local_files_only=offline or os.path.isdir(self.model),
                )
            except OSError as exc:
                raise ConfigurationError(
                    f"Embedding model {self.model!r} is neither a directory nor in the local "
                    f"Hugging Face cache: download it once with `hf download {self.model}` "
                    f"({type(exc).__name__})",
                    provider=self.name,
                    model=self.model,
                ) from None
            _log.info("llmkit: loaded %s for embeddings on %s", self.model, self._st.device)
        return self._st

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str | None = None,
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """One vector per input, in order (float32 values as Python floats)."""
        if model is not None and model != self.model:
            raise ConfigurationError(
                f"this provider embeds with {self.model!r}; build another "
                f"SentenceTransformersProvider for {model!r}",
                provider=self.name,
            )
        texts = check_inputs(inputs, kind=kind, dimensions=dimensions, provider=self.name)
        future = self._worker.submit(self._encode, texts, kind, dimensions)
        vectors, tokens = await asyncio.wrap_future(future)
        return Embeddings(
            vectors, model=self.model, provider=self.name, usage=Usage(input_tokens=tokens)
        )

    def _encode(
        self, texts: list[str], kind: str | None, dimensions: int | None
    ) -> tuple[list[list[float]], int]:
        st = self._load()
        encode = {"query": st.encode_query, "document": st.encode_document}.get(
            kind or "", st.encode
        )
        array = encode(
            texts,
            batch_size=self._batch_size,
            truncate_dim=dimensions,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        tokens = sum(len(ids) for ids in st.tokenizer(texts)["input_ids"])
        return array.astype("float32").tolist(), tokens

    async def list_models(self) -> list[ModelInfo]:
        """The one model this provider embeds with."""
        return [ModelInfo(id=self.model, provider=self.name, owned_by="local")]

    async def complete(self, request: Request) -> Response:
        """Not available: this provider embeds only."""
        raise _no_chat()

    def stream(self, request: Request) -> ResponseStream:
        """Not available: this provider embeds only."""

        async def events() -> AsyncIterator[StreamEvent]:
            for _ in ():  # an async generator that raises on its first step
                yield _
            raise _no_chat()

        return ResponseStream(events, provider=self.name)

    async def aclose(self) -> None:
        """Free the model."""
        self._st = None
        await asyncio.to_thread(self._worker.shutdown, wait=True)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmkit-embed")


def _no_chat() -> ConfigurationError:
    return ConfigurationError(
        "SentenceTransformersProvider embeds only: use TransformersProvider for chat",
        provider="local-embeddings",
    )
