"""``BettingMean``: an anytime-valid one-sided test of a bounded mean, by betting.

The detectors of the guard are checked after every outcome, forever. A fixed-sample test
(a t test, Diebold-Mariano) looked at that often is certain to raise a false alarm in the end.
A test by betting is not: its wealth is a nonnegative supermartingale under the null, so by
Ville's inequality the chance that it *ever* reaches ``1 / alpha`` is at most ``alpha``, however
often it is looked at and whenever the caller decides to stop (Waudby-Smith & Ramdas 2023;
Choe & Ramdas 2023 use the same construction to compare forecasters).

This module also holds the parameter checks shared by the detectors built on the test.
"""

from __future__ import annotations

import math
from typing import Any

from river import base

from freqtrade_feedback.validation import invalid, is_int, is_real

__all__ = ["BettingMean"]

#: Fraction of the admissible betting range actually used (Waudby-Smith & Ramdas use 1/2).
_BET_CAP = 0.5
#: Effective memory, in observations, of each bettor's mean and variance estimates: the whole
#: history, and an exponential forgetting that catches up with a change after a quiet stretch.
_MEMORIES = (math.inf, 100.0)


def _check_alpha(owner: str, value: Any) -> None:
    if not (is_real(value) and 0.0 < value < 1.0):
        raise invalid(owner, "alpha", "a float in (0, 1)", value)


def _check_positive(owner: str, name: str, value: Any) -> None:
    if not (is_real(value) and value > 0.0):
        raise invalid(owner, name, "a finite float > 0", value)


def _check_margin(owner: str, name: str, value: Any, bound: float, *, signed: bool) -> None:
    """``value`` in ``(-bound, bound)`` if ``signed``, else in ``[0, bound)``."""
    interval = f"(-{bound!r}, {bound!r})" if signed else f"[0, {bound!r})"
    if not is_real(value) or not (-bound < value < bound) or (value < 0.0 and not signed):
        raise invalid(owner, name, f"a float in {interval}", value)


def _check_count(owner: str, name: str, value: Any, minimum: int) -> None:
    if not is_int(value) or value < minimum:
        raise invalid(owner, name, f"an int >= {minimum}", value)


def _finite(owner: str, name: str, value: Any) -> float:
    """``value`` as a float, or a ValueError naming the argument of ``owner.update``."""
    if type(value) is float and math.isfinite(value):  # the common case, fast
        return value
    if not is_real(value):
        raise ValueError(f"{owner}.update needs a finite number for {name!r}. Got {value!r}.")
    return float(value)


class BettingMean(base.Base):
    """Sequential test of H0 "the mean of x is at most ``margin``", valid at any stopping time.

    Each observation is clipped to ``[-bound, bound]``. A bettor stakes a fraction
    ``lambda_t`` of its wealth on ``x_t`` exceeding ``margin``:

    ``K_t = prod_{s <= t} (1 + lambda_s * (x_s - margin))``, starting at ``K_0 = 1``.

    **Betting rule (aGRAPA, Waudby-Smith & Ramdas 2023).** Before seeing ``x_t``,
    ``lambda_t = (m - margin) / (v + (m - margin) ** 2)``, the growth-optimal fraction for the
    estimated edge, where ``m`` and ``v`` are a running mean and variance of the clipped
    observations ``x_1 .. x_{t-1}``, started from one pseudo-observation (mean ``margin``,
    variance ``bound ** 2 / 4``). ``lambda_t`` is then clipped to
    ``[0, 1 / (2 * (bound + margin))]``: half of the range that keeps every factor positive,
    so one observation can at worst halve the wealth.

    Two such bettors share the test and its wealth is the average of theirs. One estimates
    ``m`` and ``v`` from the whole history: steady under the null, but after a long quiet
    stretch its mean lags behind a change (an average of 1,000 gaps of zero hides a new
    gap for another 1,000 updates). The other forgets at a rate of 1/100 per observation, so
    it catches up within about a hundred updates. The average costs at most ``log 2`` of log
    wealth against the better bettor.

    **Statistic and threshold.** ``log_wealth`` (``log K_t``) against ``log(1 / alpha)``; the
    test rejects once ``K_t >= 1 / alpha`` and ``rejected`` stays True from then on.

    **Guarantee.** Each ``lambda_t`` is non-negative and depends only on the past, so whenever
    ``E[x_t | past] <= margin`` for every ``t`` (a mean that may change over time) each factor
    has conditional mean at most 1, each bettor's wealth is a nonnegative supermartingale, and
    so is their average ``K_t``. Ville's inequality
    gives ``P(K_t >= 1 / alpha for some t) <= alpha``: checking after every update and stopping
    at any data-dependent time keeps the error rate. The null concerns the *clipped*
    observations; they equal the raw ones when ``bound`` really bounds the data. The betting
    rule only affects power, never validity.

    A helper, not a ``Detector``: it never resets itself. It is also a test, not a change
    detector: bets lost while the mean sits exactly at ``margin`` stay lost, so after a long
    stretch at the boundary of the null it needs longer to see a change. The detectors that
    use it reset after an alarm.

    Parameters
    ----------
    bound
        Observations are clipped to ``[-bound, bound]``, in the unit of ``x``.
    alpha
        Type I error: the chance of ever rejecting when the null holds.
    margin
        The mean tested against, in ``(-bound, bound)``.

    Examples
    --------
    A fair coin paying -1 or +1 never builds up evidence; one biased to pay +1 with
    probability 0.7 soon does.

    >>> import random
    >>> from freqtrade_feedback.guard.sequential import BettingMean
    >>> rng = random.Random(7)
    >>> fair, biased = BettingMean(alpha=0.01), BettingMean(alpha=0.01)
    >>> for t in range(1, 1001):
    ...     fair.update(rng.choice((-1.0, 1.0)))
    ...     if not biased.rejected:
    ...         biased.update(1.0 if rng.random() < 0.7 else -1.0)
    >>> biased.n, round(biased.wealth)
    (32, 130)
    >>> fair.rejected, round(fair.wealth, 3)
    (False, 0.153)

    References
    ----------
    Waudby-Smith, I. and Ramdas, A. (2023). Estimating means of bounded random variables by
    betting. JRSS B 86(1). Ville, J. (1939). Etude critique de la notion de collectif.
    """

    def __init__(self, bound: float = 1.0, alpha: float = 0.01, margin: float = 0.0) -> None:
        _check_positive("BettingMean", "bound", bound)
        _check_alpha("BettingMean", alpha)
        _check_margin("BettingMean", "margin", margin, bound, signed=True)
        self.bound = bound
        self.alpha = alpha
        self.margin = margin
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        # One entry per bettor (see _MEMORIES), each starting from the prior pseudo-observation.
        self._means = [float(self.margin)] * len(_MEMORIES)
        self._variances = [self.bound**2 / 4.0] * len(_MEMORIES)
        self._log_wealths = [0.0] * len(_MEMORIES)
        self._log_wealth = 0.0
        self._rejected = False

    def _bet(self, mean: float, variance: float) -> float:
        """aGRAPA: the growth-optimal fraction for the estimated edge, clipped."""
        edge = mean - self.margin
        if edge <= 0.0:
            return 0.0
        return min(edge / (variance + edge * edge), _BET_CAP / (self.bound + self.margin))

    def update(self, x: float) -> None:
        """Bet on one observation, then learn from it."""
        value = min(max(_finite("BettingMean", "x", x), -self.bound), self.bound)
        self._n += 1
        for i, memory in enumerate(_MEMORIES):
            mean, variance = self._means[i], self._variances[i]
            self._log_wealths[i] += math.log1p(self._bet(mean, variance) * (value - self.margin))
            rate = max(1.0 / (self._n + 1), 1.0 / memory)  # the prior weighs one observation
            step = value - mean
            self._means[i] = mean + rate * step
            self._variances[i] = (1.0 - rate) * (variance + rate * step * step)
        high = max(self._log_wealths)
        total = sum(math.exp(w - high) for w in self._log_wealths)
        self._log_wealth = high + math.log(total / len(self._log_wealths))
        if self._log_wealth >= self.log_threshold:
            self._rejected = True

    @property
    def n(self) -> int:
        """Observations since the start."""
        return self._n

    @property
    def log_wealth(self) -> float:
        """``log K_t``; 0.0 before the first observation."""
        return self._log_wealth

    @property
    def wealth(self) -> float:
        """``K_t``, the e-value of the test so far (``inf`` past the float range)."""
        try:
            return math.exp(self._log_wealth)
        except OverflowError:
            return math.inf

    @property
    def rejected(self) -> bool:
        """Whether the wealth has reached ``1 / alpha`` at some point (then it stays True)."""
        return self._rejected

    @property
    def log_threshold(self) -> float:
        """``log(1 / alpha)``, the level ``log_wealth`` is compared with."""
        return math.log(1.0 / self.alpha)
