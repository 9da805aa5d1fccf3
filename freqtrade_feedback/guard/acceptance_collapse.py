"""``AcceptanceCollapse``: the gate's take rate falls far below where it started."""

from __future__ import annotations

from collections import deque

from freqtrade_feedback.guard.kinds import BinaryDetector
from freqtrade_feedback.validation import check_count, check_interval, unit_interval


class AcceptanceCollapse(BinaryDetector):
    """Alarm when the gate stops taking the signals it used to take.

    A learner that trains only on the trades it took can talk itself out of trading: each
    rejected region yields no outcome that could prove it wrong, so the take rate drifts to
    zero and learning stops with it (Jiang et al. 2019, "Degenerate Feedback Loops in
    Recommender Systems"; in our own simulation the rate fell to 0.000).

    One observation is one signal that reached the gate: `update(taken)` with `taken` 1 when
    the gate took it and 0 when it skipped it (a fraction in [0, 1] is accepted too).

    **Statistic.** The take rate over the last `window` signals divided by the reference take
    rate, the take rate over the first `warmup` signals after the last reset (the start of the
    stream counts as one). With `warmup=0` the reference is the take rate of every signal since
    the reset. When the reference is 0 the ratio is undefined and reads 0.0.

    **Alarm.** After `warmup` signals, when the ratio is below `threshold` (and the reference
    is positive), or when the rolling take rate itself is below `floor` while signals keep
    arriving: the learner has stopped trading and so stopped learning, whatever the
    reference was. `floor=0` turns that second rule off. `warning` is raised when the ratio is
    below `2 * threshold`. The detector resets on the update after an alarm, so the new
    reference is the take rate after the alarm.

    Choose `window` so that it holds a few dozen takes: at a steady 10% take rate the default
    window of 100 (about 10 takes) alarmed by noise alone on 21% of 200 streams of 2,000
    signals, a window and warm-up of 300 on none; at 30% the defaults alarmed on none.

    Parameters
    ----------
    window
        Signals in the rolling take rate.
    threshold
        Alarm when the rolling take rate falls below this fraction of the reference rate.
    warmup
        Signals after a reset that set the reference rate; no alarm before.
    floor
        Alarm when the rolling take rate falls below this rate (a ratio, 0.02 = 2% of signals).

    Examples
    --------
    The gate takes 60% of signals, then collapses to 5% at signal 500.

    >>> import random
    >>> from freqtrade_feedback.guard.acceptance_collapse import AcceptanceCollapse

    >>> rng = random.Random(7)
    >>> detector = AcceptanceCollapse(window=100, threshold=0.25, warmup=100)
    >>> for i in range(1000):
    ...     detector.update(rng.random() < (0.6 if i < 500 else 0.05))
    ...     if detector.alarm:
    ...         print(f"alarm at {i}: {detector.reason()}")
    alarm at 583: AcceptanceCollapse: take rate 0.16 is 0.242 of the reference 0.66
    (threshold 0.25, floor 0.02) after 584 signals

    """

    def __init__(
        self, window: int = 100, threshold: float = 0.25, warmup: int = 100, floor: float = 0.02
    ) -> None:
        check_count("AcceptanceCollapse", "window", window, 2)
        check_interval("AcceptanceCollapse", "threshold", threshold, 0, 1, open_low=True)
        check_count("AcceptanceCollapse", "warmup", warmup, 0)
        check_interval("AcceptanceCollapse", "floor", floor, 0, 1, open_high=True)
        self.window = window
        self.threshold = threshold
        self.warmup = warmup
        self.floor = floor
        self._reset()

    def _reset(self) -> None:
        self._recent: deque[float] = deque(maxlen=self.window)
        self._recent_sum = 0.0
        self._reference_sum = 0.0
        self._count = 0
        self._alarm = False
        self._warning = False

    def _update(self, taken: float) -> None:  # type: ignore[override]
        value = unit_interval("AcceptanceCollapse", "taken", taken, " (1 taken, 0 skipped)")
        if len(self._recent) == self.window:
            self._recent_sum -= self._recent[0]
        self._recent.append(value)
        self._recent_sum += value
        if self.warmup == 0 or self._count < self.warmup:
            self._reference_sum += value
        self._count += 1
        self._alarm, self._warning = self._flags()

    def _flags(self) -> tuple[bool, bool]:
        """``alarm`` and ``warning``: they change only here, and the guard reads them on every
        outcome, so they are worked out once per update."""
        if self._count <= self.warmup:
            return False, False
        rate, reference = self.rate, self.reference
        if reference == 0:  # the ratio is undefined: only the floor can alarm
            return rate < self.floor, False
        ratio = rate / reference
        return ratio < self.threshold or rate < self.floor, ratio < 2 * self.threshold

    @property
    def rate(self) -> float:
        """The take rate over the last `window` signals (0.0 before the first)."""
        return self._recent_sum / len(self._recent) if self._recent else 0.0

    @property
    def reference(self) -> float:
        """The reference take rate (0.0 before the first signal)."""
        seen = self._count if self.warmup == 0 else min(self._count, self.warmup)
        return self._reference_sum / seen if seen else 0.0

    @property
    def statistic(self) -> float:
        """The rolling take rate divided by the reference take rate; 0.0 when undefined."""
        reference = self.reference
        return self.rate / reference if reference > 0 else 0.0

    @property
    def alarm(self) -> bool:
        return self._alarm

    @property
    def warning(self) -> bool:
        return self._warning

    def reason(self) -> str:
        """The ratio against the threshold, and the rate against the floor."""
        return (
            f"AcceptanceCollapse: take rate {self.rate:.3g} is {self.statistic:.3g} of the "
            f"reference {self.reference:.3g} (threshold {self.threshold:.3g}, floor "
            f"{self.floor:.3g}) after {self.n} signals"
        )
