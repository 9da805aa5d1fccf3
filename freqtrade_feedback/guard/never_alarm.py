"""``NeverAlarm``: the null detector, for tests and the lab (like river's ``drift.NoDrift``)."""

from __future__ import annotations

import math

from freqtrade_feedback.guard.kinds import ScalarDetector


class NeverAlarm(ScalarDetector):
    """A detector that never alarms: the guard with detection switched off.

    Use it to drive the guard in tests and in the lab when a scenario needs a detector slot
    filled but no freeze, or as the "no guard" arm of an experiment.

    One observation is any number (`update(x)`). The statistic is the last finite `x` seen
    (0.0 before the first, and after a non-finite one), so reports show what was fed in. The
    threshold is infinite: the statistic never reaches it, and `alarm` and `warning` are always
    `False`.

    Examples
    --------
    >>> from freqtrade_feedback.guard.never_alarm import NeverAlarm

    >>> detector = NeverAlarm()
    >>> for x in [0.1, 5.0, -3.0, 1e9]:
    ...     detector.update(x)
    ...     assert not detector.alarm
    >>> detector.statistic
    1000000000.0
    >>> detector.reason()
    'NeverAlarm: statistic=1e+09 threshold=inf after 4 updates'

    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._last = 0.0

    def _update(self, x: float) -> None:  # type: ignore[override]
        value = float(x)
        self._last = value if math.isfinite(value) else 0.0

    @property
    def statistic(self) -> float:
        """The last finite observation, 0.0 before the first."""
        return self._last

    @property
    def alarm(self) -> bool:
        return False

    @property
    def threshold_value(self) -> float:
        """Infinite: no statistic reaches it."""
        return math.inf
