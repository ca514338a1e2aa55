"""What the catalog says about each host's batch API: its discount and its limits.

Pure functions over the catalog's `batch` section (`llmkit/data/catalog.json`):
`limits_for(provider)` gives a host's `BatchLimits`; `batch_prices` scales a
model's live prices by the host's discount; `split` cuts a list of requests
into batches the host accepts (one model each where the host requires it, at
most `max_requests` requests and `max_bytes` of encoded requests per batch).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from attrs import frozen

from llmkit.catalog import Catalog, Prices, PriceTier, default_catalog
from llmkit.errors import ConfigurationError
from llmkit.parts import rough_bytes
from llmkit.types import Request

__all__ = ["BatchLimits", "batch_prices", "check_items", "limits_for", "split"]

Item = tuple[str, Request]


@frozen
class BatchLimits:
    """One host's batch limits and price, from the catalog."""

    provider: str
    discount: float | None = None
    """Multiplier on the live price (0.5: half price); None: not known."""
    max_requests: int | None = None
    max_bytes: int | None = None
    one_model: bool = False
    """Whether every request of one batch must name the same model."""
    window: str | None = None


def limits_for(provider: str, catalog: Catalog | None = None) -> BatchLimits | None:
    """The batch limits of `provider` in the catalog (None: no batch API known there)."""
    data = (catalog or default_catalog()).data
    host = ((data.get("batch") or {}).get("hosts") or {}).get(provider)
    if not isinstance(host, dict):
        return None
    return BatchLimits(
        provider=provider,
        discount=host.get("discount"),
        max_requests=host.get("max_requests"),
        max_bytes=host.get("max_bytes"),
        one_model=bool(host.get("one_model", False)),
        window=host.get("window"),
    )


def batch_prices(provider: str, model: str | None, catalog: Catalog | None = None) -> Prices | None:
    """The catalog's prices for `model` on `provider`, at the host's batch discount.

    None when the model's price or the host's discount is unknown (a cost is then
    left unknown, never guessed at the live price).
    """
    if model is None:
        return None
    catalog = catalog or default_catalog()
    entry = catalog.find(provider, model)
    limits = limits_for(provider, catalog)
    if entry is None or entry.prices is None or limits is None or limits.discount is None:
        return None
    return scale(entry.prices, limits.discount)


def scale(prices: Prices, factor: float) -> Prices:
    """Every rate of `prices` times `factor` (tiers included; time-of-day rules kept)."""

    def times(value: float | None) -> float | None:
        return None if value is None else value * factor

    tiers = tuple(
        PriceTier(t.above_input_tokens, times(t.input), times(t.cached_input), times(t.output))
        for t in prices.tiers
    )
    return attrs.evolve(
        prices,
        input=times(prices.input),
        cached_input=times(prices.cached_input),
        cache_write=times(prices.cache_write),
        output=times(prices.output),
        tiers=tiers,
    )


def check_items(items: Sequence[Item], limits: BatchLimits | None, *, provider: str) -> None:
    """Refuse a batch the host would refuse: empty, duplicate ids, over its limits.

    Raises:
        ConfigurationError: saying what is wrong and how to fix it.
    """
    if not items:
        raise ConfigurationError("a batch needs at least one request", provider=provider)
    seen: set[str] = set()
    for custom_id, request in items:
        if not isinstance(custom_id, str) or not custom_id:
            raise ConfigurationError(
                f"batch ids must be non-empty strings, not {custom_id!r}", provider=provider
            )
        if custom_id in seen:
            raise ConfigurationError(f"batch id {custom_id!r} is used twice", provider=provider)
        if not isinstance(request, Request):
            raise ConfigurationError(
                f"batch request {custom_id!r} is a {type(request).__name__}, not a Request "
                "(client.generate_batch takes prompts)",
                provider=provider,
            )
        seen.add(custom_id)
    if limits is None:
        return
    if limits.one_model and len({r.model for _, r in items}) > 1:
        models = ", ".join(sorted({r.model for _, r in items}))
        raise ConfigurationError(
            f"{provider} runs one model per batch, and these requests name several ({models}); "
            "submit one batch per model (client.generate_batch splits for you)",
            provider=provider,
        )
    if limits.max_requests is not None and len(items) > limits.max_requests:
        raise ConfigurationError(
            f"{provider} takes at most {limits.max_requests} requests per batch, not "
            f"{len(items)}; split them (client.generate_batch and llmkit.batches.generate_batch "
            "split for you)",
            provider=provider,
        )


def split(
    items: Sequence[Item],
    limits: BatchLimits | None,
    *,
    size: Callable[[Request], int] | None = None,
) -> list[list[Item]]:
    """`items` cut into batches within `limits`, in input order within each model.

    Args:
        items: `(custom_id, request)` pairs.
        limits: the host's limits (None: one batch per model... or one batch in all).
        size: the encoded size of one request in bytes (default: its JSON, roughly).
    """
    measure = size or _rough_size
    groups: dict[str, list[Item]] = {}
    for item in items:
        key = item[1].model if limits is not None and limits.one_model else ""
        groups.setdefault(key, []).append(item)
    most = limits.max_requests if limits is not None and limits.max_requests else None
    budget = int(limits.max_bytes * 0.9) if limits is not None and limits.max_bytes else None
    batches: list[list[Item]] = []
    for group in groups.values():
        current: list[Item] = []
        used = 0
        for item in group:
            weight = measure(item[1]) if budget is not None else 0
            full = (most is not None and len(current) >= most) or (
                budget is not None and current and used + weight > budget
            )
            if full:
                batches.append(current)
                current, used = [], 0
            current.append(item)
            used += weight
        if current:
            batches.append(current)
    return batches


def _rough_size(request: Request) -> int:
    """About how many bytes a request takes encoded (its messages, tools and options)."""
    parts: list[Any] = [m.content if isinstance(m.content, str) else "" for m in request.messages]
    media = sum(rough_bytes(m.content) for m in request.messages if not isinstance(m.content, str))
    parts += [t.parameters for t in request.tools]
    try:
        return len(json.dumps(parts, default=str)) + 200 + media
    except (TypeError, ValueError):
        return 1000
