"""The bias lab's 95% intervals: how far a figure over a few hundred seeds may be from the truth.

A freeze rate of 1% on 200 seeds is two seeds; the next 200 could give zero or five. Every
figure the lab reports therefore carries its interval:

- a **rate** (a share of seeds: frozen, false freezes): the Wilson score interval, which
  stays inside [0, 1] and is honest at 0% and 100%, where the textbook ``p +- 1.96 se`` is
  not;
- a **mean** over seeds (profit, the collapse ratio): Student's t interval, ``mean +- t(0.975,
  n - 1) s / sqrt(n)``, seed to seed; for a comparison of two policies on the same seeds, the
  same interval on the per-seed differences (paired: the seeds' common luck cancels);
- a **median** (detection delay): the distribution-free interval between two order
  statistics whose ranks come from Binomial(n, 1/2).

Targets are judged on the point estimate; the interval says how sure that judgement is.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from scipy import stats

CONFIDENCE: Final = 0.95


@dataclass(frozen=True)
class Estimate:
    """A figure and its 95% interval; all NaN when there was nothing to estimate."""

    value: float
    low: float
    high: float
    n: int
    """Observations behind it (seeds)."""

    @property
    def half_width(self) -> float:
        """Half the interval's width (exact for the symmetric t interval)."""
        return (self.high - self.low) / 2

    def as_dict(self, name: str) -> dict[str, float | None]:
        """``{name: value, name_low: low, name_high: high}`` (NaN as ``None``, for JSON)."""
        return {
            f"{name}{suffix}": None if math.isnan(v) else v
            for suffix, v in (("", self.value), ("_low", self.low), ("_high", self.high))
        }

    def percent(self) -> str:
        """A rate and its interval: ``"2.0% [0.8, 5.0]"``.

        >>> wilson(1, 20).percent()
        '5.0% [0.9, 23.6]'
        """
        if math.isnan(self.value):
            return "-"
        return f"{self.value:.1%} [{100 * self.low:.1f}, {100 * self.high:.1f}]"

    def short_percent(self) -> str:
        """A rate and its interval in percent, for narrow tables.

        >>> wilson(5, 200).short_percent(), wilson(0, 200).short_percent()
        ('2.5 [1.1-5.7]', '0 [0-1.9]')
        """
        if math.isnan(self.value):
            return "-"
        return f"{_pct(self.value)} [{_pct(self.low)}-{_pct(self.high)}]"

    def plus_minus(self, fmt: str = "{:+.2f}") -> str:
        """A mean and half its interval's width.

        >>> t_interval([1.0, 2.0, 3.0]).plus_minus()
        '+2.00 ±2.48'
        """
        if math.isnan(self.value):
            return "-"
        half = "?" if math.isnan(self.half_width) else f"{self.half_width:.2f}"
        return f"{fmt.format(self.value)} ±{half}"

    def bracket(self, fmt: str = "{:g}") -> str:
        """A figure and its (possibly asymmetric) interval: ``"52 [40, 77]"``."""
        if math.isnan(self.value):
            return "-"
        return f"{fmt.format(self.value)} [{fmt.format(self.low)}, {fmt.format(self.high)}]"


NOTHING: Final = Estimate(math.nan, math.nan, math.nan, 0)


def _pct(share: float) -> str:
    """A share in percent with one decimal, without a trailing ``.0``."""
    return f"{100 * share:.1f}".removesuffix(".0")


def _z() -> float:
    return float(stats.norm.ppf(0.5 + CONFIDENCE / 2))


def wilson(successes: int, n: int) -> Estimate:
    """The share ``successes / n`` with its Wilson score interval.

    >>> e = wilson(0, 200)
    >>> e.value, round(e.low, 4), round(e.high, 4)
    (0.0, 0.0, 0.0188)
    """
    if n == 0:
        return NOTHING
    z = _z()
    p = successes / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Estimate(p, max(0.0, center - half), min(1.0, center + half), n)


def t_interval(values: Sequence[float]) -> Estimate:
    """The mean of ``values`` with Student's t interval (NaN bounds with one value)."""
    n = len(values)
    if n == 0:
        return NOTHING
    mean = statistics.fmean(values)
    if n == 1:
        return Estimate(mean, math.nan, math.nan, 1)
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * statistics.stdev(values) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


def median_interval(values: Sequence[float]) -> Estimate:
    """The median of ``values`` with its distribution-free interval.

    The bounds are the order statistics of ranks ``j`` and ``n + 1 - j``, ``j`` the largest
    rank with ``P(Binomial(n, 1/2) < j) < 2.5%``: at least 95% coverage for any continuous
    distribution. With fewer than 6 values no such ``j`` exists and the bounds are the
    extremes (less than 95%).

    >>> median_interval(list(range(1, 101))).bracket()
    '50.5 [40, 61]'
    """
    n = len(values)
    if n == 0:
        return NOTHING
    ordered = sorted(values)
    j = max(1, int(stats.binom.ppf((1 - CONFIDENCE) / 2, n, 0.5)))  # P(B <= j - 1) < 2.5%
    return Estimate(statistics.median(ordered), ordered[j - 1], ordered[n - j], n)
