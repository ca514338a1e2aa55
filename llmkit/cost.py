"""What replies cost: prices from the catalog and a shared tracker.

- `price_usage(usage, prices, when=...)` turns a reply's `Usage` into a
  `Cost` with the catalog's USD-per-million prices: uncached input, cached
  input (priced as cached, never as fresh input), cache writes, output.
  Long-context tiers (Gemini above 200K prompt tokens, GPT above 272K) price
  the whole request at the tier's rates; time-of-day prices (DeepSeek's
  off-peak half price) follow the clock at `when`. Unknown prices or unknown
  token counts give None, never a guess. `price_response` keeps a cost the
  host reported itself (OpenRouter's `usage.cost`): that figure wins.
- `CostTracker` collects a record per reply from any number of clients,
  thread- and task-safe, with totals per provider, model and client, and
  exports to JSON and CSV.
- Budgets live beside this module, in `llmkit.budget` (re-exported here).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from attrs import asdict, evolve, fields, frozen

from llmkit.errors import ConfigurationError
from llmkit.types import Cost, Response, Usage

if TYPE_CHECKING:
    from llmkit.catalog import Prices

__all__ = [
    "Budget",
    "BudgetBackend",
    "BudgetWarning",
    "CostRecord",
    "CostTracker",
    "MemoryBudgetBackend",
    "Reservation",
    "price_response",
    "price_usage",
    "time_of_day_multiplier",
    "worst_case",
]

_log = logging.getLogger("llmkit")
_PER = 1_000_000
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# -- pricing -------------------------------------------------------------------


def _utc(when: dt.datetime | None) -> dt.datetime:
    if when is None:
        return dt.datetime.now(dt.UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    return int(hours) * 60 + int(minutes or 0)


def time_of_day_multiplier(rule: Mapping[str, Any] | None, when: dt.datetime | None) -> float:
    """The price multiplier that `rule` (the catalog's `time_of_day`) gives at `when` (UTC).

    Inside a peak window, or before the rule's `since`, prices are as listed
    (1.0); outside, `off_peak_multiplier` applies. DeepSeek also counts Chinese
    public holidays as off-peak; llmkit does not know them and prices them as
    peak (the listed, higher price).
    """
    if not rule:
        return 1.0
    now = _utc(when)
    since = rule.get("since")
    if since and now < dt.datetime.fromisoformat(str(since).replace("Z", "+00:00")):
        return 1.0
    days = [str(d).lower()[:3] for d in rule.get("peak_days", _DAYS[:5])]
    if _DAYS[now.weekday()] in days:
        minute = now.hour * 60 + now.minute
        for start, end in rule.get("peak_hours_utc", ()):
            if _minutes(start) <= minute < _minutes(end):
                return 1.0
    return float(rule.get("off_peak_multiplier", 1.0))


@frozen
class _Rates:
    input: float
    cached_input: float | None
    """None when the catalog gives no cached-read price (then cached reads cannot be priced)."""
    cache_write: float | None
    """None when the catalog gives no cache-write price."""
    output: float


def _rates(prices: Prices, input_tokens: int) -> _Rates | None:
    """USD per million tokens for a prompt of `input_tokens`, tier applied; None if unknown."""
    if prices.input is None or prices.output is None:
        return None
    base_input, output = prices.input, prices.output
    cached, write = prices.cached_input, prices.cache_write
    tier = None
    for candidate in prices.tiers:  # lowest threshold first; the highest one passed applies
        if input_tokens > candidate.above_input_tokens:
            tier = candidate
    if tier is None:
        return _Rates(base_input, cached, write, output)
    tier_input = tier.input if tier.input is not None else base_input
    # A tier that lists no cached rate scales it like the input rate (2x for both
    # Gemini 2.5 Pro above 200K and GPT-5.4 above 272K).
    scale = tier_input / base_input if base_input else 1.0
    return _Rates(
        tier_input,
        tier.cached_input if tier.cached_input is not None else _scaled(cached, scale),
        _scaled(write, scale),
        tier.output if tier.output is not None else output,
    )


def _scaled(rate: float | None, scale: float) -> float | None:
    return None if rate is None else rate * scale


def price_usage(
    usage: Usage, prices: Prices | None, *, when: dt.datetime | None = None
) -> Cost | None:
    """The cost of `usage` at `prices` (the catalog's), or None when either is incomplete.

    `usage.input_tokens` includes cached reads and cache writes (llmkit's
    codecs normalise it so); each part is priced at its own rate. Reasoning
    tokens are part of `output_tokens` and priced as output. Cached reads or
    cache writes the catalog has no price for make the cost None (unknown),
    never a guess at the full input price.
    """
    if prices is None or usage.input_tokens is None or usage.output_tokens is None:
        return None
    rates = _rates(prices, usage.input_tokens)
    if rates is None:
        return None
    multiplier = time_of_day_multiplier(prices.time_of_day, when)
    cached = usage.cached_input_tokens or 0
    written = usage.cache_write_tokens or 0
    if (cached and rates.cached_input is None) or (written and rates.cache_write is None):
        return None
    fresh = max(0, usage.input_tokens - cached - written)
    parts = {
        "input": fresh * rates.input,
        "cached_input": cached * (rates.cached_input or 0.0),
        "cache_write": written * (rates.cache_write or 0.0),
        "output": usage.output_tokens * rates.output,
    }
    usd = {name: value * multiplier / _PER for name, value in parts.items()}
    uncached = (cached + written) * rates.input  # the same tokens at the full input price
    saving = (uncached - parts["cached_input"] - parts["cache_write"]) * multiplier / _PER
    return Cost(total=sum(usd.values()), source="catalog", cache_saving=saving, **usd)


def price_response(
    response: Response, prices: Prices | None, *, when: dt.datetime | None = None
) -> Response:
    """`response` with its `cost` set from `prices`, unless the host already reported one."""
    if response.cost is not None and response.cost.source in ("host", "cache"):
        return response  # the host's own figure, or a cached reply's zero
    cost = price_usage(response.usage, prices, when=when)
    if cost == response.cost:
        return response
    return evolve(response, cost=cost)


def worst_case(prompt_tokens: int, max_output: int | None, prices: Prices | None) -> float | None:
    """The most a request can cost: its prompt uncached plus `max_output` tokens, no discount.

    None when a price is unknown or the output cap is unknown (then nothing bounds it).
    """
    if prices is None or max_output is None:
        return None
    rates = _rates(prices, prompt_tokens)
    if rates is None:
        return None
    # Cache writes can cost more than fresh input (Anthropic: 1.25x).
    input_rate = max(rates.input, rates.cache_write or 0.0)
    return (prompt_tokens * input_rate + max_output * rates.output) / _PER


# -- the tracker ---------------------------------------------------------------


@frozen
class CostRecord:
    """One reply as the tracker saw it."""

    time: float
    """Unix time the reply was recorded."""
    client: str | None
    provider: str | None
    model: str | None
    input_tokens: int | None
    cached_input_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    cost: float | None
    """USD, or None when the price is unknown."""
    source: str | None
    """Where the cost came from: `catalog` or `host`."""


Grouping = Literal["provider", "model", "client"]


class CostTracker:
    """Collects the cost of every reply from any number of clients; thread- and task-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CostRecord] = []

    def record(self, response: Response, *, client: str | None = None) -> CostRecord:
        """Add one reply; returns the record made."""
        usage, cost = response.usage, response.cost
        entry = CostRecord(
            time=time.time(),
            client=client,
            provider=response.provider,
            model=response.model,
            input_tokens=usage.input_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            output_tokens=usage.output_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cost=None if cost is None else cost.total,
            source=None if cost is None else cost.source,
        )
        with self._lock:
            self._records.append(entry)
        return entry

    @property
    def records(self) -> tuple[CostRecord, ...]:
        """Every record, oldest first."""
        with self._lock:
            return tuple(self._records)

    @property
    def total(self) -> float:
        """USD of every priced reply."""
        return sum(r.cost for r in self.records if r.cost is not None)

    @property
    def unpriced(self) -> int:
        """How many replies had no known cost (left out of the totals)."""
        return sum(1 for r in self.records if r.cost is None)

    def totals(self, by: Grouping = "provider") -> dict[str, float]:
        """USD per provider, model or client (`"?"` where a record has no name)."""
        if by not in ("provider", "model", "client"):
            raise ConfigurationError(f"totals(by={by!r}): use 'provider', 'model' or 'client'")
        out: dict[str, float] = {}
        for entry in self.records:
            if entry.cost is not None:
                key = getattr(entry, by) or "?"
                out[key] = out.get(key, 0.0) + entry.cost
        return out

    def reset(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def to_json(self) -> str:
        """Totals and records as a JSON document."""
        records = self.records
        document = {
            "total_usd": sum(r.cost for r in records if r.cost is not None),
            "unpriced": sum(1 for r in records if r.cost is None),
            "by_provider": self.totals("provider"),
            "by_model": self.totals("model"),
            "by_client": self.totals("client"),
            "records": [asdict(r) for r in records],
        }
        return json.dumps(document, indent=2)

    def to_csv(self) -> str:
        """One CSV row per record, with a header."""
        names = [f.name for f in fields(CostRecord)]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        for entry in self.records:
            writer.writerow(asdict(entry))
        return buffer.getvalue()

    def export(self, path: str | Path) -> Path:
        """Write `to_csv()` to a `.csv` path, else `to_json()`; returns the path."""
        target = Path(path)
        text = self.to_csv() if target.suffix.lower() == ".csv" else self.to_json()
        target.write_text(text, encoding="utf-8")
        return target


# Budgets moved to `llmkit.budget`; these names stay importable from here.
from llmkit.budget import (  # noqa: E402
    Budget,
    BudgetBackend,
    BudgetWarning,
    MemoryBudgetBackend,
    Reservation,
)
