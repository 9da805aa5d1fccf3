"""``Calibration``: the model's probabilities no longer match the unbiased outcomes."""

from __future__ import annotations

import math

import numpy as np

from freqtrade_feedback.guard.kinds import ForecastDetector
from freqtrade_feedback.validation import check_count, check_rolling_detector, unit_interval

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
"""E|Z| for a standard normal Z: scales a bin's standard error into its expected |error|."""


class Calibration(ForecastDetector):
    """Alarm when the model's win probabilities drift away from the unbiased win rates.

    A model that learns from its own selection grows over- or under-confident on signals it no
    longer trades. Calibration is measured on the unbiased stream only (holdout coin-flip
    trades and shadow outcomes): on the gate's own trades it would look fine exactly when
    it is not (Guo et al. 2017; Kumar, Liang and Ma 2019).

    One observation is `update(p, y)`: `p` the model's probability of a win for one outcome of
    the unbiased stream, `y` 1 for a win and 0 for a loss.

    **Statistic: excess ECE.** The last `window` pairs are sorted by `p` and cut into `bins`
    bins of equal mass (sizes differ by at most one). The expected calibration error is
    `ECE = sum_b (n_b / n) * |mean(y_b) - mean(p_b)|` (property `ece`). A perfectly calibrated
    model (p uniform in [0.1, 0.9]) still shows an ECE of about 0.08 on 200 outcomes in 10
    bins, and 0.16 on 50, by chance alone, so the raw ECE cannot be held against a fixed
    threshold: at the defaults it crossed 0.15 on 37 of 40 calibrated streams of 2,000
    updates. The statistic is the ECE minus what chance alone gives with the same
    probabilities, `sum_b (n_b / n) * sqrt(2 / pi) * sqrt(sum_{i in b} p_i (1 - p_i)) / n_b`
    (the normal approximation of E|mean(y_b) - mean(p_b)| under calibration). It is about 0
    on a calibrated stream (it may read slightly negative): its 99.9% quantile on 50
    calibrated outcomes is 0.13 (raw ECE: 0.28), on 200 it is 0.06 (raw ECE: 0.14). The price:
    a large miscalibration reads low by up to that chance level (about 0.08 with a full window
    at the defaults), so the alarm comes later than a raw ECE's would, about one window after
    the model turns miscalibrated.

    **Alarm.** After `warmup` updates, when the statistic exceeds `threshold`. The detector
    resets on the update after an alarm.

    Two more summaries of the window are exposed for reports: `brier` (mean squared error of
    `p`) and `calibration_in_the_large` (`mean(y) - mean(p)`: negative when the model
    over-predicts wins, positive when it under-predicts them).

    Parameters
    ----------
    window
        Outcomes kept (the last `window` pairs).
    threshold
        Alarm when the excess ECE exceeds this (a probability difference).
    warmup
        Updates after a reset before an alarm may fire.
    bins
        Equal-mass bins of the ECE (fewer while the window holds fewer outcomes than bins).

    Examples
    --------
    A calibrated model until update 400, then one that wins only half as often as it says.

    >>> import random
    >>> from freqtrade_feedback.guard.calibration import Calibration

    >>> rng = random.Random(5)
    >>> detector = Calibration(window=200, threshold=0.15, warmup=50, bins=10)
    >>> for i in range(1000):
    ...     p = rng.uniform(0.1, 0.9)
    ...     y = float(rng.random() < (p if i < 400 else p / 2))
    ...     detector.update(p, y)
    ...     if detector.alarm:
    ...         break
    >>> print(f"alarm at {i}: {detector.reason()}")
    alarm at 568: Calibration: statistic=0.1517 threshold=0.15 after 569 updates
    >>> round(detector.ece, 3), round(detector.calibration_in_the_large, 3)
    (0.23, -0.209)

    """

    def __init__(
        self, window: int = 200, threshold: float = 0.15, warmup: int = 50, bins: int = 10
    ) -> None:
        check_rolling_detector("Calibration", window, threshold, warmup)
        check_count("Calibration", "bins", bins, 1)
        self.window = window
        self.threshold = threshold
        self.warmup = warmup
        self.bins = bins
        self._reset()

    def _reset(self) -> None:
        # Ring buffers: the order of the window does not matter, the bins sort it by p.
        self._p = np.zeros(self.window)
        self._y = np.zeros(self.window)
        self._count = 0
        self._cached: tuple[float, float] | None = None

    def _update(self, p: float, y: float) -> None:  # type: ignore[override]
        prob = unit_interval("Calibration", "p", p)
        outcome = unit_interval("Calibration", "y", y)
        slot = self._count % self.window
        self._p[slot] = prob
        self._y[slot] = outcome
        self._count += 1
        self._cached = None

    @property
    def ece(self) -> float:
        """Expected calibration error over the window, equal-mass bins; 0.0 when empty."""
        return self._errors()[0]

    @property
    def statistic(self) -> float:
        """Excess ECE: the ECE minus the ECE chance alone gives a calibrated model."""
        return self._errors()[1]

    @property
    def brier(self) -> float:
        """Mean of `(p - y) ** 2` over the window; 0.0 when empty."""
        p, y = self._window()
        return float(np.mean((p - y) ** 2)) if len(p) else 0.0

    @property
    def calibration_in_the_large(self) -> float:
        """`mean(y) - mean(p)` over the window; 0.0 when empty."""
        p, y = self._window()
        return float(np.mean(y - p)) if len(p) else 0.0

    @property
    def alarm(self) -> bool:
        return self._count > self.warmup and self.statistic > self.threshold

    def _window(self) -> tuple[np.ndarray, np.ndarray]:
        n = min(self._count, self.window)
        return self._p[:n], self._y[:n]

    def _errors(self) -> tuple[float, float]:
        """ECE and excess ECE, computed once per update (the guard reads them several times)."""
        if self._cached is None:
            self._cached = self._compute_errors()
        return self._cached

    def _compute_errors(self) -> tuple[float, float]:
        p, y = self._window()
        n = len(p)
        if n == 0:
            return 0.0, 0.0
        order = np.argsort(p, kind="stable")
        k = min(self.bins, n)
        starts = np.arange(k) * n // k
        ece = float(np.abs(np.add.reduceat((y - p)[order], starts)).sum()) / n
        noise = np.sqrt(np.add.reduceat((p * (1 - p))[order], starts))
        return ece, ece - SQRT_2_OVER_PI * float(noise.sum()) / n
