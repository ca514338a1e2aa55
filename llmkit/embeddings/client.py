"""`EmbeddingClient`: embeddings on any host that has them, under the shared policies.

It picks the catalog's embedding model for the provider (or `model=`),
checks each input against the model's token limit (truncating on request),
serves what its `cache` holds (per input), cuts the rest into the host's
batch size, and sends the batches concurrently through `provider.embed`,
whose own rate limit and retries apply to each batch. The budget holds the
batches' estimated price until their usage settles it; the cost tracker and
the hooks see the call. Vectors come back in input order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from llmkit import _sync
from llmkit import events as ev
from llmkit.catalog import Catalog, default_catalog
from llmkit.embeddings._models import (
    EmbeddingModel,
    batches,
    check_dimensions,
    check_lengths,
    embedding_model,
    price,
)
from llmkit.errors import ConfigurationError, LLMError
from llmkit.providers._embed import check_inputs
from llmkit.types import Embeddings, Response, Usage

if TYPE_CHECKING:
    from llmkit.budget import Budget
    from llmkit.cache import Cache
    from llmkit.cost import CostTracker
    from llmkit.events import Hooks
    from llmkit.providers._base import Provider

__all__ = ["EmbeddingClient"]


class EmbeddingClient:
    """Embeddings from one provider, with the catalog's model, batching and the policies.

    Example:
        client = EmbeddingClient(provider=OpenAIProvider())   # text-embedding-3-small
        emb = await client.embed(["first document", "second document"], kind="document")
        emb.vectors[0][:3], emb.dimensions, emb.usage.input_tokens, emb.cost
    """

    def __init__(
        self,
        provider: Provider,
        model: str | None = None,
        *,
        catalog: Catalog | None = None,
        concurrency: int = 4,
        batch_size: int | None = None,
        truncate: bool = False,
        cache: Cache | str | None = None,
        budget: Budget | None = None,
        cost_tracker: CostTracker | None = None,
        hooks: Hooks | None = None,
        tokenizer: Any = None,
    ) -> None:
        """Pick the embedding model `provider` serves (or `model`, which always wins).

        Args:
            provider: the host; `set_provider` swaps it later.
            model: a catalog name or the host's own id (default: the catalog's for the host).
            catalog: the catalog to read models from (default: the shipped one).
            concurrency: the most batches under way at once.
            batch_size: inputs per request (default: the host's limit from the catalog).
            truncate: cut inputs over the model's token limit instead of refusing them.
            cache: a `llmkit.cache` backend, or a spec (`"memory"`, a file path,
                `"redis://..."`); vectors are cached per input.
            budget: a `llmkit.budget.Budget` that holds each batch's estimated price.
            cost_tracker: a `llmkit.cost.CostTracker` recording each call.
            hooks: `llmkit.events.Hooks` (request, error, retry and cache events).
            tokenizer: for exact token counts of long inputs (see `llmkit.tokens`).

        Raises:
            ConfigurationError: the provider has no embedding model in the catalog and
                no `model=` was given, or `concurrency` / `batch_size` is not positive.
        """
        for name, value in (("concurrency", concurrency), ("batch_size", batch_size)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigurationError(f"EmbeddingClient({name}={value!r}): a positive int")
        self.catalog = catalog or default_catalog()
        self.requested_model = model
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.truncate = truncate
        if isinstance(cache, str):  # a spec: `memory`, a file path, `redis://...`
            from llmkit.cache import open_cache

            cache = open_cache(cache)
        self.cache = cache
        self.budget = budget
        self.cost_tracker = cost_tracker
        self.hooks = hooks
        self.tokenizer = tokenizer
        self._provider = provider
        self._model = embedding_model(self.catalog, provider.name, model)

    def __repr__(self) -> str:
        return f"EmbeddingClient(provider={self.provider.name!r}, model={self.model!r})"

    @property
    def provider(self) -> Provider:
        """The provider new calls go to."""
        return self._provider

    @property
    def model(self) -> str:
        """The host's id of the model new calls use."""
        return self._model.id

    @property
    def entry(self) -> EmbeddingModel:
        """What the catalog says of the model (dimensions, limits, price)."""
        return self._model

    def set_provider(self, provider: Provider) -> None:
        """Send new calls to `provider` (with its catalog model); calls under way finish."""
        self._model = embedding_model(self.catalog, provider.name, self.requested_model)
        self._provider = provider

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        kind: str | None = None,
        dimensions: int | None = None,
        model: str | None = None,
    ) -> Embeddings:
        """Vectors for `inputs`, one per input, in order.

        Args:
            inputs: one text or a sequence of texts.
            kind: `"query"` or `"document"` (the host's input type or task, or the prefix
                the model wants); None for symmetric use.
            dimensions: shorter vectors, where the model can give them.
            model: this call's model (default: the client's).

        Raises:
            ContextLengthExceededError: an input is over the model's limit (without
                `truncate=True`); nothing was sent.
            LLMError: the host's error, after the provider's retries.
        """
        provider = self._provider
        entry = (
            self._model if model is None else embedding_model(self.catalog, provider.name, model)
        )
        texts = check_inputs(inputs, kind=kind, dimensions=dimensions, provider=provider.name)
        check_dimensions(entry, dimensions)
        texts = check_lengths(texts, entry, truncate=self.truncate, tokenizer=self.tokenizer)
        started = time.perf_counter()
        ev.emit(self.hooks, self._event("request", entry, reason=f"{len(texts)} inputs"))
        send = partial(self._send_batches, provider, entry, kind, dimensions)
        try:
            with ev.using_hooks(self.hooks, client="EmbeddingClient"):
                if self.cache is not None:
                    from llmkit.cache import embed_cached

                    result = await embed_cached(
                        self.cache, provider, texts, model=entry.id, kind=kind,
                        dimensions=dimensions, send=send,
                    )  # fmt: skip
                else:
                    result = await send(texts)
        except LLMError as error:
            ev.emit(self.hooks, self._event("error", entry, error=error))
            raise
        result = attrs.evolve(result, cost=price(result.usage, entry))
        if self.cost_tracker is not None:  # recorded as a reply with input tokens only
            self.cost_tracker.record(
                Response(model=result.model, provider=result.provider, usage=result.usage,
                         cost=result.cost),
                client="EmbeddingClient",
            )  # fmt: skip
        elapsed = time.perf_counter() - started
        ev.emit(
            self.hooks,
            self._event("response", entry, reason=f"{len(texts)} vectors in {elapsed:.3f}s"),
        )
        return result

    def embed_sync(
        self,
        inputs: str | Sequence[str],
        *,
        kind: str | None = None,
        dimensions: int | None = None,
        model: str | None = None,
    ) -> Embeddings:
        """Blocking twin of `embed`: same arguments, same result."""
        return _sync.run(partial(self.embed, inputs, kind=kind, dimensions=dimensions, model=model))

    def _event(self, kind: ev.EventKind, entry: EmbeddingModel, **fields: Any) -> ev.Event:
        return ev.Event(
            kind, provider=self._provider.name, model=entry.id, client="EmbeddingClient", **fields
        )

    async def _send_batches(
        self,
        provider: Provider,
        entry: EmbeddingModel,
        kind: str | None,
        dimensions: int | None,
        texts: list[str],
    ) -> Embeddings:
        """Every batch of `texts`, `concurrency` at a time, joined back in order."""
        parts: list[Embeddings | None] = [None] * len(
            spans := batches(len(texts), self.batch_size or entry.max_batch)
        )
        gate = anyio.Semaphore(self.concurrency)

        async def one(index: int, span: range) -> None:
            async with gate:
                parts[index] = await self._send_one(
                    provider, entry, texts[span.start : span.stop], kind, dimensions
                )

        if len(spans) == 1:
            await one(0, spans[0])
        else:
            async with anyio.create_task_group() as group:
                for index, span in enumerate(spans):
                    group.start_soon(one, index, span)
        done = [p for p in parts if p is not None]
        vectors = [v for p in done for v in p.vectors]
        counts = [p.usage.input_tokens for p in done]
        tokens = None if any(c is None for c in counts) else sum(c or 0 for c in counts)
        named = next((p.model for p in done if p.model), entry.id)
        return Embeddings(
            vectors, model=named, provider=provider.name, usage=Usage(input_tokens=tokens)
        )

    async def _send_one(
        self,
        provider: Provider,
        entry: EmbeddingModel,
        texts: list[str],
        kind: str | None,
        dimensions: int | None,
    ) -> Embeddings:
        embed = getattr(provider, "embed", None)
        if embed is None:
            raise ConfigurationError(
                f"{provider.name} has no embed(); use a provider with an embeddings endpoint",
                provider=provider.name,
            )
        reservation = None
        if self.budget is not None:
            estimate = price(Usage(input_tokens=sum(len(t) for t in texts)), entry)
            reservation = await self.budget.reserve(
                estimate.total if estimate else None, what=f"embeddings from {entry.id}"
            )
        try:
            result: Embeddings = await embed(
                texts, model=entry.id, kind=kind, dimensions=dimensions
            )
        except BaseException:
            if reservation is not None and self.budget is not None:
                with anyio.CancelScope(shield=True):
                    await self.budget.release(reservation)
            raise
        if len(result.vectors) != len(texts):
            from llmkit.errors import InvalidResponseError

            raise InvalidResponseError(
                f"{provider.name} returned {len(result.vectors)} vectors for {len(texts)} inputs",
                provider=provider.name,
                model=entry.id,
            )
        if reservation is not None and self.budget is not None:
            cost = price(result.usage, entry)
            await self.budget.settle(reservation, cost.total if cost else None)
        return result
