"""Embedding models from the catalog, and the pure planning of one `embed` call.

`embedding_model(catalog, provider, model)` reads the catalog's `embeddings`
section (the host's id, dimensions, limits, prices); `check_lengths` finds
the inputs over the model's token limit (counting only those that could be:
a token is at least one byte) and truncates them on request; `batches` cuts
the inputs into the host's batch size; `price` prices the tokens used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

from llmkit.catalog import Catalog
from llmkit.errors import ConfigurationError, ContextLengthExceededError
from llmkit.tokens import counter_for
from llmkit.types import Cost, Usage

__all__ = ["EmbeddingModel", "batches", "check_lengths", "embedding_model", "price"]

DEFAULT_BATCH = 96
"""Inputs per request for a model the catalog does not know (Cohere's limit, the smallest)."""


@frozen
class EmbeddingModel:
    """One embedding model on one host, as the catalog describes it."""

    id: str
    """The id the host knows."""
    provider: str
    dimensions: int | None = None
    """The length of its vectors by default."""
    shorten: bool | tuple[int, ...] = False
    """Whether `dimensions=` may shorten them: any size (True) or these sizes."""
    max_input_tokens: int | None = None
    max_batch: int = DEFAULT_BATCH
    input_price: float | None = None
    """USD per 1M input tokens (None: unknown)."""
    known: bool = True
    """False for an id the catalog does not list (sent as given, limits unknown)."""


def _section(catalog: Catalog) -> Mapping[str, Any]:
    models = (catalog.data.get("embeddings") or {}).get("models") or {}
    return models if isinstance(models, Mapping) else {}


def _model(name: str, host: str, data: Mapping[str, Any]) -> EmbeddingModel:
    shorten = data.get("shorten", False)
    return EmbeddingModel(
        id=str(data.get("id") or name),
        provider=host,
        dimensions=data.get("dimensions"),
        shorten=tuple(shorten) if isinstance(shorten, list) else bool(shorten),
        max_input_tokens=data.get("max_input_tokens"),
        max_batch=int(data.get("max_batch") or DEFAULT_BATCH),
        input_price=(data.get("prices") or {}).get("input"),
    )


def embedding_models(catalog: Catalog, provider: str) -> list[EmbeddingModel]:
    """Every embedding model the catalog lists for `provider`, its default first."""
    return [
        _model(name, provider, hosts[provider])
        for name, entry in _section(catalog).items()
        if provider in (hosts := entry.get("hosts") or {})
    ]


def embedding_model(catalog: Catalog, provider: str, model: str | None = None) -> EmbeddingModel:
    """The catalog's model for `provider`: `model` (a catalog name or the host's id), or the
    host's default. An id the catalog does not know is used as given, limits unknown.

    Raises:
        ConfigurationError: no `model` and the catalog lists none for the host.
    """
    listed = embedding_models(catalog, provider)
    if model is None:
        if not listed:
            names = sorted({h for e in _section(catalog).values() for h in e.get("hosts") or {}})
            raise ConfigurationError(
                f"The catalog lists no embedding model for {provider}: pass `model=` with the "
                f"host's id, or use a provider that has one ({', '.join(names)})",
                provider=provider,
            )
        return listed[0]
    hosts: Mapping[str, Any] = (_section(catalog).get(model) or {}).get("hosts") or {}
    if provider in hosts:
        return _model(model, provider, hosts[provider])
    found = next((m for m in listed if m.id == model), None)
    return found or EmbeddingModel(id=model, provider=provider, known=False)


def check_dimensions(model: EmbeddingModel, dimensions: int | None) -> None:
    """`ConfigurationError` when the catalog says `model` cannot give `dimensions`."""
    if dimensions is None or not model.known or dimensions == model.dimensions:
        return
    allowed = model.shorten
    if allowed is True and (model.dimensions is None or dimensions <= model.dimensions):
        return
    if isinstance(allowed, tuple) and dimensions in allowed:
        return
    sizes = f"one of {list(allowed)}" if isinstance(allowed, tuple) else f"{model.dimensions} only"
    if allowed is True:
        sizes = f"at most {model.dimensions}"
    raise ConfigurationError(
        f"{model.id} on {model.provider} cannot give {dimensions}-dimensional vectors: "
        f"ask for {sizes}, or leave dimensions=None",
        provider=model.provider,
        model=model.id,
    )


def check_lengths(
    texts: Sequence[str], model: EmbeddingModel, *, truncate: bool, tokenizer: Any = None
) -> list[str]:
    """`texts`, each within the model's input limit: truncated when `truncate`, else an error.

    Raises:
        ContextLengthExceededError: an input is over the limit and `truncate` is False.
    """
    limit = model.max_input_tokens
    if limit is None:
        return list(texts)
    counter = None
    out = list(texts)
    for index, text in enumerate(texts):
        if len(text) * 4 <= limit or len(text.encode("utf-8")) <= limit:
            continue  # a token is at least one byte (a character at most four): it fits
        counter = counter or counter_for(model.id, tokenizer)
        tokens = counter.count(text)
        if tokens <= limit:
            continue
        if not truncate:
            how = "" if counter.exact else " (estimated)"
            raise ContextLengthExceededError(
                f"input {index} has {tokens} tokens{how}, over {model.id}'s limit of {limit} "
                "per input: shorten it, or pass truncate=True to cut it to the limit",
                provider=model.provider,
                model=model.id,
            )
        out[index] = _cut(text, limit, counter)
    return out


def _cut(text: str, limit: int, counter: Any) -> str:
    """The longest prefix of `text` within `limit` tokens (binary search on its length)."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if counter.count(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def batches(count: int, size: int) -> list[range]:
    """The index ranges of `count` inputs cut into batches of at most `size`."""
    size = max(1, size)
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def price(usage: Usage, model: EmbeddingModel) -> Cost | None:
    """What the input tokens cost (None when the price or the count is unknown)."""
    if model.input_price is None or usage.input_tokens is None:
        return None
    total = usage.input_tokens * model.input_price / 1_000_000
    return Cost(total=total, input=total)
