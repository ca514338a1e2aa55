"""Budgets: a spending limit that concurrent requests can never together cross.

`Budget(limit_usd, warn_at=0.8, on_exceed="raise")` reserves each request's
worst case (prompt at the input rate plus `max_tokens` at the output rate,
`llmkit.cost.worst_case`) before it is sent and settles the real cost after.
`MemoryBudgetBackend` keeps the totals in this process;
`llmkit.cost_redis.RedisBudgetBackend` shares one budget between processes.
"""

from __future__ import annotations

import logging
import threading
import uuid
import warnings
from typing import Literal, Protocol

from attrs import frozen

from llmkit import _sync
from llmkit.errors import BudgetExceededError, ConfigurationError

__all__ = ["Budget", "BudgetBackend", "BudgetWarning", "MemoryBudgetBackend", "Reservation"]

_log = logging.getLogger("llmkit")


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
