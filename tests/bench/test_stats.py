"""Table tests for the benchmark statistics: percentiles, t values, mean with a 95% CI."""

from __future__ import annotations

import math
import statistics

import pytest

from llmkit.bench._stats import mean_ci, percentile, summarize, t_critical

TEN = [float(v) for v in range(1, 11)]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 0, 5.0),
        ([5.0], 50, 5.0),
        ([5.0], 99, 5.0),
        ([1.0, 2.0], 50, 1.5),
        ([2.0, 1.0], 50, 1.5),  # order of the input does not matter
        ([1.0, 2.0, 3.0], 50, 2.0),
        (TEN, 0, 1.0),
        (TEN, 100, 10.0),
        (TEN, 50, 5.5),
        (TEN, 90, 9.1),
        (TEN, 99, 9.91),
        ([0.1, 0.1, 0.1, 10.0], 50, 0.1),  # one outlier does not move the median
        ([0.1, 0.1, 0.1, 10.0], 99, 9.703),
    ],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], q: float, expected: float
) -> None:
    assert percentile(values, q) == pytest.approx(expected)


@pytest.mark.parametrize("q", [10, 20, 50, 70, 90])
def test_percentile_matches_the_standard_library_inclusive_method(q: int) -> None:
    values = [0.3, 1.7, 0.2, 5.5, 2.2, 0.9, 3.1, 0.4]
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    assert percentile(values, q) == pytest.approx(deciles[q // 10 - 1])


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], -1), ([1.0], 100.5)])
def test_percentile_refuses_no_values_and_out_of_range(values: list[float], q: float) -> None:
    with pytest.raises(ValueError):
        percentile(values, q)


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.706), (2, 4.303), (9, 2.262), (29, 2.045), (30, 2.042), (35, 2.042), (40, 2.021),
     (100, 2.000), (120, 1.980), (121, 1.960), (10_000, 1.960)],
)  # fmt: skip
def test_t_critical_from_the_table_or_the_next_smaller_df(df: int, expected: float) -> None:
    assert t_critical(df) == expected


def test_t_critical_needs_a_degree_of_freedom() -> None:
    with pytest.raises(ValueError):
        t_critical(0)


@pytest.mark.parametrize(
    ("values", "mean", "half_width"),
    [
        ([2.0], 2.0, 0.0),
        ([1.0, 1.0, 1.0], 1.0, 0.0),
        ([1.0, 3.0], 2.0, 12.706 * math.sqrt(2.0 / 2)),
        (TEN, 5.5, 2.262 * statistics.stdev(TEN) / math.sqrt(10)),
    ],
)
def test_mean_ci_uses_student_t(values: list[float], mean: float, half_width: float) -> None:
    got_mean, low, high = mean_ci(values)
    assert got_mean == pytest.approx(mean)
    assert (high - low) / 2 == pytest.approx(half_width)
    assert low <= got_mean <= high


def test_mean_ci_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        mean_ci([])


def test_summarize_gathers_every_figure() -> None:
    dist = summarize(TEN)
    assert dist is not None
    assert (dist.count, dist.min, dist.max, dist.p50, dist.p90) == (
        10,
        1.0,
        10.0,
        5.5,
        pytest.approx(9.1),
    )
    assert dist.ci_low < dist.mean < dist.ci_high


def test_summarize_of_nothing_is_none() -> None:
    assert summarize([]) is None
