"""Summary statistics for benchmark samples: percentiles, mean with a confidence interval.

Pure functions over sequences of floats; no I/O, no clock, no numpy. The
percentile is the usual linear interpolation between closest ranks (numpy's
default, `statistics.quantiles(method="inclusive")`), so figures match what a
notebook would compute from the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from attrs import frozen

__all__ = ["Distribution", "mean_ci", "percentile", "summarize", "t_critical"]

# Two-sided 95% critical values of Student's t by degrees of freedom (standard tables).
_T95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131,
    16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074,
    23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045,
    30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
}  # fmt: skip
_Z95 = 1.960


@frozen
class Distribution:
    """What a set of measurements looks like (seconds, or tokens per second)."""

    count: int
    mean: float
    ci_low: float
    """Lower end of the 95% confidence interval of the mean (Student's t)."""
    ci_high: float
    p50: float
    p90: float
    p99: float
    min: float
    max: float


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) of `values`, interpolating linearly between ranks.

    Raises:
        ValueError: `values` is empty or `q` is outside 0-100.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0 and 100, not {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def t_critical(df: int) -> float:
    """Two-sided 95% critical value of Student's t with `df` degrees of freedom.

    Between tabulated values it takes the next smaller df (the wider interval).
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, not {df}")
    if df in _T95:
        return _T95[df]
    if df > 120:
        return _Z95
    return _T95[max(k for k in _T95 if k < df)]


def mean_ci(values: Sequence[float]) -> tuple[float, float, float]:
    """`(mean, low, high)`: the mean and its 95% confidence interval.

    With one value the interval is that value alone (nothing says how wide it is).

    Raises:
        ValueError: `values` is empty.
    """
    if not values:
        raise ValueError("mean of no values")
    n = len(values)
    mean = math.fsum(values) / n
    if n == 1:
        return mean, mean, mean
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    half = t_critical(n - 1) * math.sqrt(variance / n)
    return mean, mean - half, mean + half


def summarize(values: Sequence[float]) -> Distribution | None:
    """The `Distribution` of `values`, or None when there are none."""
    if not values:
        return None
    mean, low, high = mean_ci(values)
    return Distribution(
        count=len(values),
        mean=mean,
        ci_low=low,
        ci_high=high,
        p50=percentile(values, 50),
        p90=percentile(values, 90),
        p99=percentile(values, 99),
        min=min(values),
        max=max(values),
    )
