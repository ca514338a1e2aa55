"""What replies cost: prices from the catalog, a shared tracker, and budgets.

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
- `Budget(limit_usd, warn_at=0.8, on_exceed="raise")` reserves each request's
  worst case (prompt at the input rate plus `max_tokens` at the output rate)
  before it is sent and settles the real cost after, so concurrent requests
  can never together cross the limit. `llmkit.cost_redis.RedisBudgetBackend`
  shares one budget between processes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import threading
import time
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from attrs import asdict, evolve, fields, frozen

from llmkit import _sync
from llmkit.errors import BudgetExceededError, ConfigurationError
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
    return Cost(total=sum(usd.values()), source="catalog", **usd)


def price_response(
    response: Response, prices: Prices | None, *, when: dt.datetime | None = None
) -> Response:
    """`response` with its `cost` set from `prices`, unless the host already reported one."""
    if response.cost is not None and response.cost.source == "host":
        return response
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


# -- budgets -------------------------------------------------------------------


class BudgetWarning(UserWarning):
    """Issued once when a budget's spending crosses its warning threshold, or is exceeded in warn mode."""


def _nano(usd: float) -> int:
    """USD as whole nano-dollars, so shared backends add integers exactly."""
    return round(usd * 1e9)


@frozen
class Reservation:
    """The worst case of one request, held against a budget until it is settled."""

    id: str
    amount_usd: float
    """What was held."""
    accepted: bool = True
    """False when the budget was exceeded in warn mode and the request went ahead anyway."""


class BudgetBackend(Protocol):
    """Where a budget's spent and reserved totals live (memory, Redis)."""

    async def reserve(
        self, reservation_id: str, amount: int, limit: int, *, force: bool
    ) -> tuple[bool, int, int]:
        """Hold `amount` (nano-USD) unless spent + reserved + amount > `limit` (or `force`).

        Returns:
            (held, spent, reserved) as they stand after the attempt.
        """
        ...

    async def settle(self, reservation_id: str, actual: int) -> tuple[int, int]:
        """Release the hold and add `actual` (nano-USD) to spent; returns (spent, reserved)."""
        ...

    async def totals(self) -> tuple[int, int]:
        """(spent, reserved) in nano-USD."""
        ...


class MemoryBudgetBackend:
    """A budget's totals in this process; atomic under threads and tasks alike."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent = 0
        self._held: dict[str, int] = {}

    async def reserve(
        self, reservation_id: str, amount: int, limit: int, *, force: bool
    ) -> tuple[bool, int, int]:
        """See `BudgetBackend.reserve`."""
        with self._lock:
            reserved = sum(self._held.values())
            if not force and self._spent + reserved + amount > limit:
                return False, self._spent, reserved
            self._held[reservation_id] = amount
            return True, self._spent, reserved + amount

    async def settle(self, reservation_id: str, actual: int) -> tuple[int, int]:
        """See `BudgetBackend.settle`."""
        with self._lock:
            self._held.pop(reservation_id, None)
            self._spent += actual
            return self._spent, sum(self._held.values())

    async def totals(self) -> tuple[int, int]:
        """See `BudgetBackend.totals`."""
        with self._lock:
            return self._spent, sum(self._held.values())


class Budget:
    """A spending limit in USD shared by every client it is given to.

    Before a request is sent its worst case is reserved; a request that would
    take spent + reserved past `limit_usd` is refused with
    `BudgetExceededError` (`on_exceed="raise"`) or let through with a
    `BudgetWarning` (`on_exceed="warn"`). Once spending crosses
    `warn_at * limit_usd`, a `BudgetWarning` is issued (once).
    """

    def __init__(
        self,
        limit_usd: float,
        *,
        warn_at: float | None = 0.8,
        on_exceed: Literal["raise", "warn"] = "raise",
        allow_unpriced: bool = False,
        backend: BudgetBackend | None = None,
    ) -> None:
        """Set the limit.

        Args:
            limit_usd: the most that may be spent, in USD.
            warn_at: the fraction of the limit at which to warn once; None never warns.
            on_exceed: `"raise"` refuses a request that would cross the limit, `"warn"` lets it through.
            allow_unpriced: let through requests whose worst case cannot be priced
                (model without catalog prices), counting their real cost if the host reports one.
            backend: where the totals live; by default this process's memory.
                `llmkit.cost_redis.RedisBudgetBackend` shares them between processes.
        """
        if limit_usd < 0:
            raise ConfigurationError("Budget(limit_usd=...) must be zero or more")
        if on_exceed not in ("raise", "warn"):
            raise ConfigurationError(f"Budget(on_exceed={on_exceed!r}): use 'raise' or 'warn'")
        if warn_at is not None and not 0 < warn_at <= 1:
            raise ConfigurationError("Budget(warn_at=...) is a fraction of the limit in (0, 1]")
        self.limit_usd = limit_usd
        self.warn_at = warn_at
        self.on_exceed = on_exceed
        self.allow_unpriced = allow_unpriced
        self.backend: BudgetBackend = backend if backend is not None else MemoryBudgetBackend()
        self._warned = False

    def __repr__(self) -> str:
        return f"Budget(limit_usd={self.limit_usd}, warn_at={self.warn_at}, on_exceed={self.on_exceed!r})"

    async def reserve(self, worst_case_usd: float | None, *, what: str = "request") -> Reservation:
        """Hold `worst_case_usd` for one request, or refuse it.

        Raises:
            BudgetExceededError: the request could cross the limit (raise mode), or its
                worst case is unknown and `allow_unpriced` is off.
        """
        if worst_case_usd is None:
            if not self.allow_unpriced:
                raise BudgetExceededError(
                    f"A budget is set but the cost of this {what} cannot be bounded "
                    "(no catalog prices or no max_tokens); set max_tokens, add prices "
                    "with LLMKIT_CATALOG, or pass Budget(..., allow_unpriced=True)"
                )
            worst_case_usd = 0.0
        rid = uuid.uuid4().hex
        amount, limit = _nano(worst_case_usd), _nano(self.limit_usd)
        force = self.on_exceed == "warn"
        held, spent, reserved = await self.backend.reserve(rid, amount, limit, force=force)
        if not held:
            raise BudgetExceededError(
                f"Budget of ${self.limit_usd:.4f} would be exceeded: spent ${spent / 1e9:.6f}, "
                f"reserved ${reserved / 1e9:.6f} for requests under way, this {what} "
                f"may cost up to ${worst_case_usd:.6f}; raise the limit, lower max_tokens, "
                "or use on_exceed='warn'"
            )
        accepted = spent + reserved <= limit
        if not accepted:
            self._warn(
                f"Budget of ${self.limit_usd:.4f} exceeded (on_exceed='warn'): "
                f"spent ${spent / 1e9:.6f}, reserved ${reserved / 1e9:.6f}"
            )
        return Reservation(rid, worst_case_usd, accepted)

    async def settle(self, reservation: Reservation, actual_usd: float | None) -> None:
        """Release `reservation` and count what the request really cost.

        An unknown `actual_usd` counts the reserved worst case (the safe side).
        """
        cost = reservation.amount_usd if actual_usd is None else actual_usd
        spent, _ = await self.backend.settle(reservation.id, _nano(cost))
        threshold = None if self.warn_at is None else self.warn_at * self.limit_usd
        if threshold is not None and not self._warned and spent / 1e9 >= threshold:
            self._warned = True
            self._warn(
                f"Budget warning: ${spent / 1e9:.6f} spent of ${self.limit_usd:.4f} "
                f"({spent / 1e9 / self.limit_usd:.0%})"
                if self.limit_usd
                else "Budget warning"
            )

    async def release(self, reservation: Reservation) -> None:
        """Release `reservation` for a request that failed without a known cost."""
        await self.backend.settle(reservation.id, 0)

    async def spent(self) -> float:
        """USD settled so far."""
        return (await self.backend.totals())[0] / 1e9

    async def remaining(self) -> float:
        """USD left, after what is spent and what is reserved for requests under way."""
        spent, reserved = await self.backend.totals()
        return self.limit_usd - (spent + reserved) / 1e9

    def spent_sync(self) -> float:
        """Blocking twin of `spent`."""
        return _sync.run(self.spent)

    def remaining_sync(self) -> float:
        """Blocking twin of `remaining`."""
        return _sync.run(self.remaining)

    @staticmethod
    def _warn(message: str) -> None:
        _log.warning("llmkit %s", message)
        warnings.warn(message, BudgetWarning, stacklevel=3)
