"""``PeriodicAlarm``: a baseline that alarms on a fixed schedule (like river's
``drift.DummyDriftDetector`` with ``trigger_method="fixed"``)."""

from __future__ import annotations

from typing import Any

from freqtrade_feedback.guard.kinds import ScalarDetector
from freqtrade_feedback.validation import check_count


class PeriodicAlarm(ScalarDetector):
    """A detector that alarms every `period` updates, whatever it is fed.

    A baseline for the lab (how much does a guard that freezes on a schedule cost or save?) and
    a driver for tests of the guard's state machine. The observations are ignored, so it fits
    any stream: `update()` takes any arguments. Its kind is the scalar one, the stream the
    contract suite gives it.

    The statistic is the number of updates since the last reset. The alarm fires when it
    reaches `warmup + period`; as every detector does, it resets on the next update, so the
    warm-up starts again and alarms fall at updates `warmup + period`, `2 * (warmup + period)`,
    and so on (counted from 1). With the default `warmup=0` that is every `period` updates.

    Parameters
    ----------
    period
        Updates between two alarms, after the warm-up.
    warmup
        Updates after a reset before the count towards the next alarm starts.

    Examples
    --------
    >>> from freqtrade_feedback.guard.periodic_alarm import PeriodicAlarm

    >>> detector = PeriodicAlarm(period=3, warmup=2)
    >>> for i in range(12):
    ...     detector.update(None)
    ...     if detector.alarm:
    ...         print(f"alarm at {i}: {detector.reason()}")
    alarm at 4: PeriodicAlarm: statistic=5 threshold=5 after 5 updates
    alarm at 9: PeriodicAlarm: statistic=5 threshold=5 after 5 updates

    """

    def __init__(self, period: int = 100, warmup: int = 0) -> None:
        check_count("PeriodicAlarm", "period", period, 1)
        check_count("PeriodicAlarm", "warmup", warmup, 0)
        self.period = period
        self.warmup = warmup
        self._reset()

    def _reset(self) -> None:
        self._count = 0

    def _update(self, *values: Any) -> None:
        self._count += 1

    @property
    def statistic(self) -> float:
        """Updates since the last reset."""
        return float(self._count)

    @property
    def alarm(self) -> bool:
        return self._count >= self.warmup + self.period

    @property
    def threshold_value(self) -> float:
        """The update count at which the alarm fires: `warmup + period`."""
        return float(self.warmup + self.period)
