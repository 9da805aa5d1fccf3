"""``BettingMean``: an anytime-valid one-sided test of a bounded mean, by betting.

The detectors of the guard are checked after every outcome, forever. A fixed-sample test
(a t test, Diebold-Mariano) looked at that often is certain to raise a false alarm in the end.
A test by betting is not: its wealth is a nonnegative supermartingale under the null, so by
Ville's inequality the chance that it *ever* reaches ``1 / alpha`` is at most ``alpha``, however
often it is looked at and whenever the caller decides to stop (Waudby-Smith & Ramdas 2023;
Choe & Ramdas 2023 use the same construction to compare forecasters).
"""

from __future__ import annotations

import math

from river import base

from freqtrade_feedback.validation import check_alpha, check_margin, check_positive, finite

__all__ = ["BettingMean"]

#: Fraction of the admissible betting range actually used (Waudby-Smith & Ramdas use 1/2).
_BET_CAP = 0.5


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
    gap for another 1,000 updates). The other forgets at a rate of ``1 / memory`` per
    observation (1/100 by default), so it catches up within about ``memory`` updates. The
    average costs at most ``log 2`` of log wealth against the better bettor.

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
    memory
        Effective memory, in observations, of the forgetting bettor's mean and variance
        estimates (at least 1). Shorter catches up with a change sooner after a quiet
        stretch; validity does not depend on it.

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

    def __init__(self, bound: float = 1.0, alpha: float = 0.01, margin: float = 0.0,
                 memory: float = 100.0) -> None:
        check_positive("BettingMean", "bound", bound)
        if not (isinstance(memory, int | float) and not isinstance(memory, bool)
                and memory >= 1):
            raise ValueError("The 'memory' parameter of BettingMean must be a number >= 1. "
                             f"Got {memory!r} instead.")
        check_alpha("BettingMean", alpha)
        check_margin("BettingMean", "margin", margin, bound, signed=True)
        self.bound = bound
        self.alpha = alpha
        self.margin = margin
        self.memory = memory
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        # One mean, variance and log wealth per bettor (all of history, and ``memory``), each
        # starting from the
        # prior pseudo-observation. Scalars, not lists: ``update`` runs on every outcome.
        self._mean_all = self._mean_recent = float(self.margin)
        self._variance_all = self._variance_recent = self.bound**2 / 4.0
        self._log_wealth_all = self._log_wealth_recent = 0.0
        self._log_wealth = 0.0
        self._rejected = False
        # Derived from the parameters once, not on every update.
        self._max_bet = _BET_CAP / (self.bound + self.margin)
        self._log_threshold = math.log(1.0 / self.alpha)
        self._forget = 1.0 / self.memory

    def _bet(self, mean: float, variance: float) -> float:
        """aGRAPA: the growth-optimal fraction for the estimated edge, clipped."""
        edge = mean - self.margin
        if edge <= 0.0:
            return 0.0
        edge_bet = edge / (variance + edge * edge)
        return edge_bet if edge_bet <= self._max_bet else self._max_bet  # min(), first on ties

    def update(self, x: float) -> None:
        """Bet on one observation, then learn from it.

        The two bettors are written out rather than looped over: this runs a few times per
        outcome of the guarded loop, and the loop's bookkeeping cost more than the arithmetic.
        """
        if type(x) is not float or not math.isfinite(x):
            x = finite("BettingMean", "x", x)
        bound, margin = self.bound, self.margin
        value = x if -bound <= x <= bound else (bound if x > bound else -bound)
        self._n = n = self._n + 1
        rate_all = 1.0 / (n + 1)  # the prior weighs one observation
        forget = self._forget
        rate_recent = rate_all if rate_all >= forget else forget  # max(), first on ties
        mean, variance = self._mean_all, self._variance_all
        self._log_wealth_all += math.log1p(self._bet(mean, variance) * (value - margin))
        step = value - mean
        self._mean_all = mean + rate_all * step
        self._variance_all = (1.0 - rate_all) * (variance + rate_all * step * step)
        mean, variance = self._mean_recent, self._variance_recent
        self._log_wealth_recent += math.log1p(self._bet(mean, variance) * (value - margin))
        step = value - mean
        self._mean_recent = mean + rate_recent * step
        self._variance_recent = (1.0 - rate_recent) * (variance + rate_recent * step * step)
        # log of the average wealth, by log-sum-exp about the larger of the two
        first, second = self._log_wealth_all, self._log_wealth_recent
        high = second if second > first else first  # max(), first on ties
        total = math.exp(first - high) + math.exp(second - high)
        self._log_wealth = high + math.log(total / 2)
        if self._log_wealth >= self._log_threshold:
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
        return self._log_threshold
