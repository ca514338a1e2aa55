"""Budgets: no request crosses the limit under concurrency; warn mode and threshold warnings."""

from __future__ import annotations

import random
import warnings

import anyio
import pytest

from llmkit.clients import DeepSeekClient
from llmkit.cost import Budget, BudgetWarning, CostTracker, MemoryBudgetBackend
from llmkit.errors import BudgetExceededError, ConfigurationError
from llmkit.testing import FakeProvider
from llmkit.types import Response, Usage


async def test_a_request_whose_worst_case_would_cross_is_refused() -> None:
    budget = Budget(1.0)
    first = await budget.reserve(0.6)
    with pytest.raises(BudgetExceededError) as info:
        await budget.reserve(0.5)
    assert "$1.0000" in info.value.message and "reserved $0.600000" in info.value.message
    await budget.settle(first, 0.1)  # the real cost was lower: room again
    second = await budget.reserve(0.5)
    assert second.accepted
    assert await budget.remaining() == pytest.approx(1.0 - 0.1 - 0.5)


async def test_unknown_actual_cost_counts_the_worst_case() -> None:
    budget = Budget(1.0)
    await budget.settle(await budget.reserve(0.3), None)
    assert await budget.spent() == pytest.approx(0.3)


async def test_a_released_reservation_costs_nothing() -> None:
    budget = Budget(1.0)
    await budget.release(await budget.reserve(0.9))
    assert await budget.spent() == 0 and await budget.remaining() == pytest.approx(1.0)


async def test_an_unbounded_request_is_refused_unless_allowed() -> None:
    with pytest.raises(BudgetExceededError, match="allow_unpriced"):
        await Budget(1.0).reserve(None)
    lenient = Budget(1.0, allow_unpriced=True)
    await lenient.settle(await lenient.reserve(None), 0.2)
    assert await lenient.spent() == pytest.approx(0.2)


@pytest.mark.parametrize(
    "kwargs",
    [{"limit_usd": -1}, {"limit_usd": 1, "warn_at": 1.5}, {"limit_usd": 1, "on_exceed": "shout"}],
)
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Budget(**kwargs)  # type: ignore[arg-type]


async def test_warns_once_when_spending_crosses_the_threshold() -> None:
    budget = Budget(1.0, warn_at=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await budget.settle(await budget.reserve(0.3), 0.3)
        assert not caught
        await budget.settle(await budget.reserve(0.3), 0.3)
        await budget.settle(await budget.reserve(0.1), 0.1)
    assert [w.category for w in caught] == [BudgetWarning]
    assert "60%" in str(caught[0].message)


async def test_warn_mode_lets_the_request_through_with_a_warning() -> None:
    budget = Budget(1.0, on_exceed="warn", warn_at=None)
    await budget.reserve(0.8)
    with pytest.warns(BudgetWarning, match="exceeded"):
        reservation = await budget.reserve(0.5)
    assert not reservation.accepted


class _Watched(MemoryBudgetBackend):
    """Checks the invariant after every change: spent + reserved never passes the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.peak = 0

    async def reserve(
        self, reservation_id: str, amount: int, limit: int, *, force: bool
    ) -> tuple[bool, int, int]:
        result = await super().reserve(reservation_id, amount, limit, force=force)
        spent, reserved = await self.totals()
        assert spent + reserved <= self.limit
        self.peak = max(self.peak, spent + reserved)
        return result


async def test_no_interleaving_of_concurrent_requests_crosses_the_limit() -> None:
    rng = random.Random(7)
    backend = _Watched(limit=2_000_000_000)
    budget = Budget(2.0, backend=backend, warn_at=None)
    refused = 0

    async def request() -> None:
        nonlocal refused
        worst = rng.uniform(0.01, 0.2)
        try:
            reservation = await budget.reserve(worst)
        except BudgetExceededError:
            refused += 1
            return
        await anyio.sleep(rng.uniform(0, 0.01))
        await budget.settle(reservation, worst * rng.uniform(0.2, 1.0))

    async with anyio.create_task_group() as group:
        for _ in range(300):
            group.start_soon(request)
    assert refused > 0
    assert await budget.spent() <= 2.0
    assert backend.peak <= 2_000_000_000


async def test_clients_sharing_a_budget_never_cross_it() -> None:
    # deepseek-flash peak prices: 100 prompt-ish tokens + 1000 max output ~ $0.0012 worst case
    reply = Response(text="ok", usage=Usage(input_tokens=50, output_tokens=900))
    budget = Budget(0.02, warn_at=None)
    tracker = CostTracker()
    clients = [
        DeepSeekClient(
            provider=FakeProvider([reply] * 100, name="deepseek", first_token_delay=0.001),
            budget=budget,
            cost_tracker=tracker,
            max_tokens=1000,
        )
        for _ in range(3)
    ]
    outcomes: list[object] = []

    async def call(client: DeepSeekClient) -> None:
        try:
            outcomes.append(await client.generate("hello"))
        except BudgetExceededError as error:
            outcomes.append(error)

    async with anyio.create_task_group() as group:
        for i in range(60):
            group.start_soon(call, clients[i % 3])
    refused = [o for o in outcomes if isinstance(o, BudgetExceededError)]
    assert refused and len(refused) < 60
    assert await budget.spent() == pytest.approx(tracker.total)
    assert tracker.total <= 0.02
    assert await budget.remaining() == pytest.approx(0.02 - tracker.total)  # nothing left held


async def test_a_failed_request_holds_nothing() -> None:
    from llmkit.errors import InvalidRequestError

    budget = Budget(1.0)
    client = DeepSeekClient(
        provider=FakeProvider([InvalidRequestError("bad")], name="deepseek"),
        budget=budget,
        max_tokens=100,
    )
    with pytest.raises(InvalidRequestError):
        await client.generate("x")
    assert await budget.remaining() == pytest.approx(1.0)


def test_budget_totals_have_sync_twins() -> None:
    budget = Budget(3.0)
    assert budget.spent_sync() == 0 and budget.remaining_sync() == 3.0


async def test_a_request_the_family_refuses_releases_its_hold_in_a_stream() -> None:
    from llmkit.errors import InvalidRequestError
    from llmkit.types import Request

    class Refusing(DeepSeekClient):
        def prepare(self, request: Request, provider: object, entry: object) -> Request:  # type: ignore[override]
            raise InvalidRequestError("refused before sending")

    backend = MemoryBudgetBackend()
    client = Refusing(FakeProvider(), budget=Budget(1.0, backend=backend), max_tokens=100)
    with pytest.raises(InvalidRequestError):
        await client.stream("hi").collect()
    assert backend._held == {}


async def test_a_cancelled_generate_leaves_no_hold_behind() -> None:
    backend = MemoryBudgetBackend()
    client = DeepSeekClient(
        FakeProvider(first_token_delay=5), budget=Budget(1.0, backend=backend), max_tokens=100
    )
    with anyio.move_on_after(0.05):
        await client.generate("hi")
    assert backend._held == {}
