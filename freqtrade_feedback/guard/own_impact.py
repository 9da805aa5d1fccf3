"""``OwnImpact``: does the outcome depend on our own randomized action?"""

from __future__ import annotations

import math

from freqtrade_feedback.guard.kinds import TreatmentDetector
from freqtrade_feedback.validation import check_count, check_positive, finite

__all__ = ["OwnImpact"]

#: A centred sum of squares below this share of the raw one is rounding noise: no variance.
_RELATIVE = 1e-9
#: ``1 - r**2`` is floored here, so a perfect fit gives a large but finite t statistic.
_MIN_UNEXPLAINED = 1e-12


class OwnImpact(TreatmentDetector):
    """Regression of outcome on our own action over a sliding window (feedback detection).

    One observation is a pair ``(treatment, outcome)``. ``treatment`` is the intensity of our own
    action, *randomized*: the stake dither, or the exploration coin flip (0/1). ``outcome`` is
    what followed, usually realized minus shadow profit ratio (or the realized profit ratio).
    When the market does not react to us the slope of outcome on treatment is zero; a
    non-zero slope means our orders move the outcomes the learner trains on, so it is partly
    learning its own market impact (Wager et al. 2014: feedback detection by local
    randomization). Only a randomized treatment makes the slope causal: a stake chosen by the
    model's own confidence is correlated with the outcome for other reasons.

    **Statistic and threshold.** ``statistic`` is the t statistic of the ordinary least
    squares slope of outcome on treatment over the last ``window`` pairs, in closed form:
    ``t = r * sqrt((n - 2) / (1 - r ** 2))``, with ``r`` their correlation. It is 0.0 while
    fewer than three pairs are in the window and when the treatment (or the outcome) has no
    variance. The alarm fires when ``|t| > threshold``, after ``warmup`` updates; ``slope`` is
    the fitted slope, in outcome units per unit of treatment.

    **No anytime guarantee.** Unlike the betting tests, a windowed t test checked after every
    update has a false-alarm rate that grows with the length of the stream. One look at
    Gaussian noise passes ``|t| > 3`` with chance about 0.3%, yet looked at after every update
    about 22% of null streams of 2,000 updates raise an alarm at that level. The default
    ``threshold=4`` brings that down to 1.3% (coin-flip treatment) and 1.7% (uniform stake) of
    1,000 null streams with Gaussian outcomes, and under 1% with Student-t(3) outcomes
    (pinned on 100 seeds in ``tests/test_detectors_sequential.py``). The rate grows roughly in
    proportion to the number of updates: raise ``threshold`` for longer horizons.

    The window is a ring buffer with running sums about a centre, recomputed exactly (and
    re-centred) once per ``window`` updates, so each update costs O(1) and rounding cannot pile
    up. A constant treatment is recognised exactly (by counting repeats), not from a variance
    that rounding leaves at 1e-15: river's ``utils.Rolling(stats.Cov)`` leaves such a residue
    after its reverts, which would turn into a spurious slope. After an alarm the next
    ``update`` starts afresh.

    Parameters
    ----------
    window
        Number of most recent pairs the regression uses (at least 3).
    threshold
        Alarm when the absolute t statistic exceeds it.
    warmup
        Updates before an alarm may fire.

    Examples
    --------
    Each unit of stake costs 1% of profit: our own orders move the price.

    >>> import random
    >>> from freqtrade_feedback.guard.own_impact import OwnImpact
    >>> rng = random.Random(11)
    >>> detector = OwnImpact()
    >>> for i in range(1000):
    ...     stake = rng.uniform(0.5, 1.5)
    ...     detector.update(stake, -0.01 * stake + rng.gauss(0.0, 0.005))
    ...     if detector.alarm:
    ...         print(f"alarm at {i}: t={detector.statistic:.2f}, slope={detector.slope:.4f}")
    ...         break
    alarm at 60: t=-4.09, slope=-0.0085

    References
    ----------
    Wager, S., Chamandy, N., Muralidharan, O. and Najmi, A. (2014). Feedback detection for live
    predictors. NeurIPS.
    """

    def __init__(self, window: int = 200, threshold: float = 4.0, warmup: int = 50) -> None:
        check_count("OwnImpact", "window", window, 3)
        check_positive("OwnImpact", "threshold", threshold)
        check_count("OwnImpact", "warmup", warmup, 0)
        self.window = window
        self.threshold = threshold
        self.warmup = warmup
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        self._treatment = [0.0] * self.window
        self._outcome = [0.0] * self.window
        self._next = 0  # the slot the next pair overwrites
        self._filled = 0
        self._run = 0  # how many of the newest treatments equal the newest one
        self._center = (0.0, 0.0)
        self._sums = (0.0, 0.0, 0.0, 0.0, 0.0)  # x, y, xx, xy, yy about the center
        self._slope = 0.0
        self._t = 0.0

    def _update(self, treatment: float, outcome: float) -> None:  # type: ignore[override]
        x = finite("OwnImpact", "treatment", treatment)
        y = finite("OwnImpact", "outcome", outcome)
        slot = self._next
        if self._filled == 0:
            self._center = (x, y)
        same = self._filled > 0 and x == self._treatment[slot - 1]
        self._run = self._run + 1 if same else 1
        if self._filled == self.window:
            self._move(self._treatment[slot], self._outcome[slot], -1.0)
        else:
            self._filled += 1
        self._treatment[slot], self._outcome[slot] = x, y
        self._move(x, y, 1.0)
        self._next = (slot + 1) % self.window
        if self._next == 0:
            self._recenter()
        self._slope, self._t = self._fit()

    def _move(self, x: float, y: float, sign: float) -> None:
        """Add (``sign=1``) or remove (``sign=-1``) one pair from the running sums."""
        dx, dy = x - self._center[0], y - self._center[1]
        sx, sy, sxx, sxy, syy = self._sums
        self._sums = (
            sx + sign * dx,
            sy + sign * dy,
            sxx + sign * dx * dx,
            sxy + sign * dx * dy,
            syy + sign * dy * dy,
        )

    def _recenter(self) -> None:
        """Recompute the sums exactly about the window's means, so rounding cannot pile up."""
        n = self._filled
        xs, ys = self._treatment[:n], self._outcome[:n]
        self._center = (math.fsum(xs) / n, math.fsum(ys) / n)
        self._sums = (0.0, 0.0, 0.0, 0.0, 0.0)
        for x, y in zip(xs, ys, strict=True):
            self._move(x, y, 1.0)

    def _fit(self) -> tuple[float, float]:
        n = self._filled
        if n < 3 or self._run >= n:  # fewer than 3 pairs, or one treatment value only
            return 0.0, 0.0
        sx, sy, sxx, sxy, syy = self._sums
        vxx, vxy, vyy = sxx - sx * sx / n, sxy - sx * sy / n, syy - sy * sy / n
        if vxx <= _RELATIVE * sxx or vyy <= _RELATIVE * syy:
            return 0.0, 0.0
        r2 = min(vxy * vxy / (vxx * vyy), 1.0)
        t = math.sqrt((n - 2) * r2 / max(1.0 - r2, _MIN_UNEXPLAINED))
        return vxy / vxx, math.copysign(t, vxy)

    @property
    def statistic(self) -> float:
        """The t statistic of the windowed slope; 0.0 when undefined."""
        return self._t

    @property
    def slope(self) -> float:
        """Outcome change per unit of treatment over the window; 0.0 when undefined."""
        return self._slope

    @property
    def alarm(self) -> bool:
        """The outcome depends on our own action: ``|t| > threshold``."""
        return self._n > self.warmup and abs(self._t) > self.threshold
