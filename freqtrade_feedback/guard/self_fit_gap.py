"""``SelfFitGap``: the model does better on its own trades than on the unbiased stream."""

from __future__ import annotations

import math

from river import stats, utils

from freqtrade_feedback.guard.kinds import TwoSampleDetector
from freqtrade_feedback.validation import check_rolling_detector, invalid_value

MIN_T = 2.0
"""The one-sided Welch t statistic the gap must also exceed, so that noise does not alarm."""


class SelfFitGap(TwoSampleDetector):
    """Alarm when the loss on the unbiased stream pulls away from the loss on the gate's trades.

    A learner that trains on the trades it chose fits its own selection: on those trades its
    loss keeps falling, while on outcomes it did not pick (holdout coin-flip trades and shadow
    outcomes) it gets worse. The gap between the two losses is the signature of
    self-referential fit (selective labels, Lakkaraju et al. 2017; Sculley et al. 2015); in our
    simulation it reached +0.10 to +0.30 against at most +0.08 without the loop.

    One observation is one per-sample loss of the current model (log-loss or Brier, the same
    one throughout): `update(loss, unbiased)` with `unbiased=True` for an outcome of the
    unbiased stream and `unbiased=False` for a trade the gate itself chose and learned from.

    **Statistic.** The mean loss over the last `window` unbiased outcomes minus the mean loss
    over the last `window` taken trades (each stream has its own window); 0.0 while a stream
    is empty. It grows positive as the model fits its own selection.

    **Alarm.** When the statistic exceeds `threshold`, each stream has had at least `warmup`
    samples since the last reset, and the one-sided Welch t statistic of the two windows
    (`t_statistic`) exceeds 2, so that a gap made of noise does not alarm. `warning` is raised
    when the statistic exceeds `threshold / 2` with the same warm-up. The detector resets on the
    update after an alarm.

    Parameters
    ----------
    window
        Samples in each stream's rolling mean loss.
    threshold
        Alarm when the unbiased loss exceeds the taken loss by more than this (in loss units:
        nats for log-loss).
    warmup
        Samples each stream needs after a reset before an alarm may fire.

    Examples
    --------
    Both streams lose about 0.69 nats a sample until update 600, where the unbiased loss
    rises by 0.2.

    >>> import random
    >>> from freqtrade_feedback.guard.self_fit_gap import SelfFitGap

    >>> rng = random.Random(3)
    >>> detector = SelfFitGap(window=100, threshold=0.08, warmup=30)
    >>> for i in range(1200):
    ...     unbiased = rng.random() < 0.5
    ...     loss = rng.gauss(0.69, 0.15) + (0.2 if unbiased and i >= 600 else 0.0)
    ...     detector.update(loss, unbiased)
    ...     if detector.alarm:
    ...         break
    >>> print(f"alarm at {i}: {detector.reason()}")
    alarm at 675: SelfFitGap: statistic=0.08147 threshold=0.08 after 676 updates
    >>> round(detector.t_statistic, 2)
    3.66

    """

    def __init__(self, window: int = 100, threshold: float = 0.08, warmup: int = 30) -> None:
        check_rolling_detector("SelfFitGap", window, threshold, warmup)
        self.window = window
        self.threshold = threshold
        self.warmup = warmup
        self._reset()

    def _reset(self) -> None:
        self._unbiased = utils.Rolling(stats.Var, window_size=self.window, ddof=1)
        self._taken = utils.Rolling(stats.Var, window_size=self.window, ddof=1)
        self._n_unbiased = 0
        self._n_taken = 0
        self._alarm = False
        self._warning = False

    def _update(self, loss: float, unbiased: bool) -> None:  # type: ignore[override]
        value = float(loss)
        if not math.isfinite(value):
            raise invalid_value(
                "SelfFitGap", "loss", "a finite number", loss,
                hint="Clip probabilities before taking logs, as river's metrics.LogLoss does.",
            )
        if unbiased:
            self._unbiased.update(value)
            self._n_unbiased += 1
        else:
            self._taken.update(value)
            self._n_taken += 1
        self._alarm, self._warning = self._flags()

    def _flags(self) -> tuple[bool, bool]:
        """``alarm`` and ``warning``: they change only here, and are read after every update,
        so the gap (and its t statistic, when the gap is large enough) is worked out once."""
        if not self._warm:
            return False, False
        gap = self.statistic
        return gap > self.threshold and self.t_statistic > MIN_T, gap > self.threshold / 2

    @property
    def statistic(self) -> float:
        """Rolling mean loss on the unbiased stream minus that on the taken trades."""
        if not self._unbiased.window or not self._taken.window:
            return 0.0
        return self._unbiased.mean.get() - self._taken.mean.get()

    @property
    def t_statistic(self) -> float:
        """Welch's t of the gap: the statistic over its standard error.

        0.0 while a window holds fewer than two samples; infinite when both windows are
        constant and the gap is positive.
        """
        n_unbiased, n_taken = len(self._unbiased.window), len(self._taken.window)
        if n_unbiased < 2 or n_taken < 2:
            return 0.0
        variance = max(self._unbiased.get(), 0.0) / n_unbiased
        variance += max(self._taken.get(), 0.0) / n_taken
        gap = self.statistic
        if variance == 0.0:
            return math.inf if gap > 0 else 0.0
        return gap / math.sqrt(variance)

    @property
    def alarm(self) -> bool:
        return self._alarm

    @property
    def warning(self) -> bool:
        return self._warning

    @property
    def _warm(self) -> bool:
        return min(self._n_unbiased, self._n_taken) >= self.warmup
