"""A key's budget follows its period: the same budget within a period (the label computed
once), a new one when the period turns, with `retry_after`'s seconds counting down."""

from __future__ import annotations

import pytest

from llmkit.server import keys
from llmkit.server.keys import ApiKey


def test_the_budget_is_kept_within_a_period_and_replaced_when_it_turns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = {"now": 1_000.0}
    labels: list[str] = []

    def fake_label(period: str, now: object = None) -> tuple[str, float]:
        assert period == "day"
        label = "day-1" if clock["now"] < 1_010 else "day-2"
        labels.append(label)
        return label, (1_010.0 if label == "day-1" else 1_020.0) - clock["now"]

    monkeypatch.setattr(keys, "period_label", fake_label)
    monkeypatch.setattr(keys.time, "time", lambda: clock["now"])
    key = ApiKey.build("team", budget={"limit_usd": 5.0, "period": "day"})

    first, left = key.budget()
    assert first is not None and first.limit_usd == 5.0
    assert left == pytest.approx(10.0)
    clock["now"] = 1_004.0
    again, left = key.budget()
    assert again is first  # the same period: the same budget, its spending kept
    assert left == pytest.approx(6.0)
    assert labels == ["day-1"]  # the label was worked out once
    clock["now"] = 1_010.0
    turned, left = key.budget()
    assert turned is not first  # a new period starts from nothing
    assert left == pytest.approx(10.0)
    assert labels == ["day-1", "day-2"]


def test_a_total_budget_never_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"now": 0.0}
    monkeypatch.setattr(keys.time, "time", lambda: clock["now"])
    key = ApiKey.build("team", budget={"limit_usd": 1.0, "period": "total"})
    first, left = key.budget()
    clock["now"] = 10.0**9
    later, left = key.budget()
    assert later is first
    assert left == float("inf")
