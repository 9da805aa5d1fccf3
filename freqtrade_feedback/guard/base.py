"""The detector contract: ``update(*values) -> None``, then read properties.

Signals live in properties, not in return values (river's ``ADWIN.update`` changed what it
returned under its users). Constructor arguments are stored unchanged as public attributes;
learned state is private and set up only in ``_reset``. After an alarm, the next ``update``
starts from a fresh state, as river's PageHinkley does, so one episode raises one alarm.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from river import base


class Detector(base.Base):
    """Base of every guard detector.

    Subclasses implement ``_reset`` (fresh learned state), ``_update`` (one observation) and
    the ``statistic`` and ``alarm`` properties; ``warning`` defaults to never. What one
    observation is depends on the detector (a 0/1 take, a loss, a pair of values, a feature
    dict): each derives from the kind of ``guard.kinds`` that says so, and the wiring table
    (``guard.wiring``) feeds each what its kind reads.
    """

    warmup: int = 0
    # Class-level starting values: subclasses build their state with ``_reset``, which leaves
    # these two to the base (``update`` runs on every outcome; a getattr would cost more).
    _n: int = 0
    _alarmed: bool = False

    def _reset(self) -> None:
        raise NotImplementedError

    def _update(self, *values: Any) -> None:
        raise NotImplementedError

    def update(self, *values: Any) -> None:
        """Add one observation; an alarm raised by the previous one is cleared first."""
        if self._alarmed:
            self._reset()
            self._n = 0
        self._update(*values)
        self._n += 1
        self._alarmed = self.alarm

    def update_many(self, batch: Iterable[tuple[Any, ...]]) -> None:
        """Add a batch of observations, reading the flags once, after the last.

        For a detector whose verdict costs a sort of its windows (a PSI, an ECE) and need not
        be known after every observation: fed ``k`` at a time, it is read once per ``k``. An
        alarm read after the previous batch clears the state first, as ``update`` does;
        ``update_many([values])`` is ``update(*values)``.
        """
        if self._alarmed:
            self._reset()
            self._n = 0
        for values in batch:
            self._update(*values)
            self._n += 1
        self._alarmed = self.alarm

    def reset(self) -> None:
        """Forget every observation: the fresh state an alarm leads to."""
        self._reset()
        self._n = 0
        self._alarmed = False

    @property
    def n(self) -> int:
        """Observations since the last reset."""
        return self._n

    @property
    def statistic(self) -> float:
        raise NotImplementedError

    @property
    def alarm(self) -> bool:
        raise NotImplementedError

    @property
    def warning(self) -> bool:
        return False

    @property
    def threshold_value(self) -> float:
        """The level the statistic is compared with (for reasons and reports)."""
        return float(getattr(self, "threshold", float("nan")))

    def reason(self) -> str:
        """One human-readable line: what the detector measured against what."""
        return (
            f"{type(self).__name__}: statistic={self.statistic:.4g} "
            f"threshold={self.threshold_value:.4g} after {self.n} updates"
        )
