"""``Guard``: the state machine that freezes learning when a detector alarms, and thaws it.

The table of moves lives in ``states.TRANSITIONS``; this module decides, once per observed
outcome, which trigger (if any) the detectors' flags call for. Core code: no freqtrade import,
no clock (every time is a ``now=`` argument, UTC-aware).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

from freqtrade_feedback.exceptions import ConfigError
from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.states import (
    TRANSITIONS,
    GuardState,
    InvalidTransition,
    Role,
    Transition,
    Trigger,
)

HISTORY: Final = 256
"""Transitions kept in memory; the ledger keeps them all."""

Verdict = tuple[Trigger, str, dict[str, float]]
"""What a step rule asks for: the trigger, its reason and the statistics behind it."""


class Guard:
    """Moves between LEARNING, SUSPECT, FROZEN and PROBATION as the detectors flag outcomes.

    The loop feeds the detectors one outcome, then calls ``step``; the guard reads their
    ``alarm`` and ``warning`` flags, as each detector's ``Role`` says, and fires at most one
    transition. A ``warn`` detector's alarm counts as a warning: it may make the guard
    suspicious, never freeze it. Entering a more cautious
    state happens at once, on the detectors' own thresholds, because a detector's alarm holds
    for one update only and every outcome learned meanwhile may be biased. Leaving one needs
    dwell, so that a flickering detector cannot make the guard flap:

    - LEARNING: an alarm fires ``alarm`` (to FROZEN), else a warning fires ``warning``.
    - SUSPECT: an alarm fires ``alarm``; ``suspect_dwell`` quiet outcomes in a row (no warning,
      no alarm) fire ``clear``. The quiet count starts at entry, so ``suspect_dwell`` is also
      SUSPECT's minimum dwell.
    - FROZEN: alarms are not the guard's business here (the model is frozen, so a detector
      measuring it may never clear; probation is the test). After ``cooldown`` outcomes, the
      first one without a probation alarm fires ``cooldown_elapsed``.
    - PROBATION: an alarm fires ``probation_failed``; ``probation`` outcomes without one fire
      ``probation_passed``. Warnings are ignored.

    Dwell, cooldown and probation are counted in outcomes observed (calls to ``step``), not in
    time, so a quiet market does not thaw the guard; a time-based variant may come later.
    Every transition (manual ones too) restarts the counts. ``learning_allowed`` is False only
    in FROZEN: outcomes are still recorded there, never learned. In PROBATION the challenger
    learns again while the champion keeps deciding; promotion is the loop's business.

    The guard reads its detectors and never feeds or resets them: whoever feeds them owns their
    state. A guard pickles as a whole (detectors, counters, history), which is its snapshot.

    Parameters
    ----------
    detectors
        The detectors to read, by name; names appear in reasons and in ``Transition.values``.
        None means none: the guard then moves only when fired by hand.
    suspect_dwell
        Quiet outcomes in a row that clear SUSPECT, and its minimum dwell.
    cooldown
        Outcomes observed in FROZEN before probation.
    probation
        Outcomes without an alarm that pass probation.
    probation_alarms
        Names of the detectors whose alarm fails probation (and holds the cooldown at its end).
        None means every detector. Leave out a detector expected to alarm when learning
        resumes, such as one watching the model's own acceptance rate.
    roles
        How each detector's flags are read, by name (``Role``); a name left out is an
        ``alarm`` detector, and so is every detector when None. Only ``warn`` reads
        differently: its alarms and warnings are warnings.

    Examples
    --------
    A stand-in detector that alarms on the outcome numbers it is told (real ones live in
    ``freqtrade_feedback.guard``):

    >>> from datetime import UTC, datetime, timedelta
    >>> from freqtrade_feedback.guard.base import Detector
    >>> class AlarmAt(Detector):
    ...     def __init__(self, at=()):
    ...         self.at = at
    ...         self._reset()
    ...     def _reset(self):
    ...         self._i = None
    ...     def _update(self, i):
    ...         self._i = i
    ...     statistic = property(lambda self: float(self.alarm))
    ...     alarm = property(lambda self: self._i in self.at)

    >>> detector = AlarmAt(at=(3,))
    >>> guard = Guard({"demo": detector}, suspect_dwell=2, cooldown=4, probation=3)
    >>> start = datetime(2024, 1, 1, tzinfo=UTC)
    >>> for i in range(12):
    ...     detector.update(i)
    ...     if move := guard.step(now=start + timedelta(minutes=5 * i)):
    ...         print(i, move.source, "->", move.target, move.values)
    3 learning -> frozen {'demo': 1.0}
    7 frozen -> probation {'demo': 0.0}
    10 probation -> learning {'demo': 0.0}
    >>> guard.state, guard.learning_allowed
    (<GuardState.LEARNING: 'learning'>, True)
    >>> print(guard.history[0])
    2024-01-01T00:15:00+00:00 learning -> frozen (alarm): alarm from demo: AlarmAt: ...
    """

    def __init__(
        self,
        detectors: Mapping[str, Detector] | None = None,
        suspect_dwell: int = 20,
        cooldown: int = 50,
        probation: int = 50,
        probation_alarms: tuple[str, ...] | None = None,
        roles: Mapping[str, Role] | None = None,
    ) -> None:
        self.detectors = detectors
        self.suspect_dwell = suspect_dwell
        self.cooldown = cooldown
        self.probation = probation
        self.probation_alarms = probation_alarms
        self.roles = roles
        self._validate()
        # Read on every outcome: the names whose alarm is only a warning, worked out once.
        self._warn_only = frozenset(n for n, r in (roles or {}).items() if r is Role.WARN)
        self._reset()

    def _validate(self) -> None:
        for name in ("suspect_dwell", "cooldown", "probation"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"The {name!r} parameter of Guard must be an int >= 1 (outcomes). "
                    f"Got {value!r} instead."
                )
        for name, detector in self._detectors.items():
            if not isinstance(name, str) or not isinstance(detector, Detector):
                raise ConfigError(
                    "The 'detectors' parameter of Guard must map names to Detector instances. "
                    f"Got {name!r}: {detector!r} instead."
                )
        unknown = set(self.probation_alarms or ()) - set(self._detectors)
        if isinstance(self.probation_alarms, str) or unknown:
            raise ConfigError(
                "The 'probation_alarms' parameter of Guard must be a tuple of detector names "
                f"among {sorted(self._detectors)}. Got {self.probation_alarms!r} instead."
            )
        roles = self.roles or {}
        if set(roles) - set(self._detectors) or not all(isinstance(r, Role) for r in
                                                         roles.values()):
            raise ConfigError(
                "The 'roles' parameter of Guard must map detector names among "
                f"{sorted(self._detectors)} to a Role ({', '.join(r.value for r in Role)}). "
                f"Got {self.roles!r} instead."
            )

    def tune(self, *, suspect_dwell: int, cooldown: int, probation: int) -> None:
        """Count with new dwell, cooldown and probation lengths from the next step on (new
        settings at a restart); the state and the outcomes counted in it so far stay."""
        self.suspect_dwell = suspect_dwell
        self.cooldown = cooldown
        self.probation = probation
        self._validate()

    def _reset(self) -> None:
        """Fresh state: LEARNING, counters at zero, no history. Detectors are left alone."""
        self._state = GuardState.LEARNING
        self._dwell = 0
        self._quiet = 0
        self._history: deque[Transition] = deque(maxlen=HISTORY)
        self._alarms: dict[str, Detector] = {}
        self._warnings: dict[str, Detector] = {}

    @property
    def _detectors(self) -> Mapping[str, Detector]:
        return self.detectors if self.detectors is not None else {}

    @property
    def state(self) -> GuardState:
        """Where the guard is now; its value is what the ledger stores."""
        return self._state

    @property
    def is_frozen(self) -> bool:
        """In FROZEN, where outcomes are recorded but not learned."""
        return self._state is GuardState.FROZEN

    @property
    def learning_allowed(self) -> bool:
        """Whether an outcome observed now may be learned: everywhere but FROZEN."""
        return not self.is_frozen

    @property
    def history(self) -> tuple[Transition, ...]:
        """The latest transitions, oldest first (at most ``HISTORY`` of them)."""
        return tuple(self._history)

    def short_desc(self) -> str:
        """One line for the startup log: the detectors (and which only warn) and the dwell
        settings."""
        if self._detectors:
            names = ", ".join(
                f"{n} ({type(d).__name__}{', warns only' if n in self._warn_only else ''})"
                for n, d in self._detectors.items()
            )
        else:
            names = "none (moves only when fired by hand)"
        fails = "any alarm" if self.probation_alarms is None else ", ".join(self.probation_alarms)
        return (
            f"Guard in {self._state.value}: detectors {names}; suspect_dwell={self.suspect_dwell}"
            f", cooldown={self.cooldown}, probation={self.probation} outcomes; "
            f"probation fails on {fails or 'nothing'}"
        )

    def fire(
        self,
        trigger: Trigger,
        *,
        now: datetime,
        reason: str,
        values: Mapping[str, float] | None = None,
    ) -> Transition:
        """Move by ``trigger`` as ``TRANSITIONS`` says, record it and restart the counts.

        Raises ``InvalidTransition`` for a pair the table does not list, and leaves the guard
        unchanged then. A trigger may be given by its value (``"manual_freeze"``), as a CLI
        or the ledger would; an unknown value raises ``ValueError``.
        """
        trigger = Trigger(trigger)
        _check_now(now)
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(
                f"The 'reason' of a guard transition must be a non-empty string. "
                f"Got {reason!r} instead."
            )
        target = TRANSITIONS.get((self._state, trigger))
        if target is None:
            raise InvalidTransition(self._state, trigger)
        move = Transition(self._state, target, trigger, now, reason, values or {})
        self._state = target
        self._dwell = 0
        self._quiet = 0
        self._history.append(move)
        return move

    def step(self, *, now: datetime) -> Transition | None:
        """Account for one outcome the detectors have just seen; fire at most one transition."""
        _check_now(now)
        self._dwell += 1
        # Read every detector once per step: their properties may cost a window's statistic.
        self._alarms, self._warnings = self._flagged()
        noisy = self._alarms or self._warnings
        self._quiet = 0 if noisy else self._quiet + 1
        verdict = _RULES[self._state](self)
        if verdict is None:
            return None
        trigger, reason, values = verdict
        return self.fire(trigger, now=now, reason=reason, values=values)

    def _flagged(self) -> tuple[dict[str, Detector], dict[str, Detector]]:
        """The detectors that alarm, and those that warn, as their roles read them: a ``warn``
        detector that alarms or warns is among the second.

        One pass reading the properties by name, not by ``getattr``: this runs on every outcome.
        """
        alarms: dict[str, Detector] = {}
        warnings: dict[str, Detector] = {}
        warn_only = self._warn_only
        for name, detector in self._detectors.items():
            if name in warn_only:
                if detector.alarm or detector.warning:
                    warnings[name] = detector
                continue
            if detector.alarm:
                alarms[name] = detector
            if detector.warning:
                warnings[name] = detector
        return alarms, warnings

    def _alarming(self, names: tuple[str, ...] | None = None) -> dict[str, Detector]:
        """This step's alarming detectors, among ``names`` (None for all)."""
        return {n: d for n, d in self._alarms.items() if names is None or n in names}

    def _on_learning(self) -> Verdict | None:
        if alarming := self._alarms:
            return Trigger.ALARM, _blame("alarm", alarming), finite_statistics(alarming)
        if warning := self._warnings:
            reason = _blame("warning", warning, self._warn_only)
            return Trigger.WARNING, reason, finite_statistics(warning)
        return None

    def _on_suspect(self) -> Verdict | None:
        if alarming := self._alarms:
            return Trigger.ALARM, _blame("alarm", alarming), finite_statistics(alarming)
        if self._quiet >= self.suspect_dwell:
            reason = f"no warning or alarm for {self._quiet} outcomes in a row"
            return Trigger.CLEAR, reason, finite_statistics(self._detectors)
        return None

    def _on_frozen(self) -> Verdict | None:
        if self._dwell < self.cooldown or self._alarming(self.probation_alarms):
            return None
        reason = f"cooldown of {self.cooldown} outcomes elapsed ({self._dwell} observed frozen)"
        return Trigger.COOLDOWN_ELAPSED, reason, finite_statistics(self._detectors)

    def _on_probation(self) -> Verdict | None:
        if alarming := self._alarming(self.probation_alarms):
            blame = _blame("alarm", alarming)
            reason = f"outcome {self._dwell} of {self.probation} on probation: {blame}"
            return Trigger.PROBATION_FAILED, reason, finite_statistics(alarming)
        if self._dwell >= self.probation:
            reason = f"{self._dwell} outcomes on probation without an alarm"
            return Trigger.PROBATION_PASSED, reason, finite_statistics(self._detectors)
        return None

    def __repr__(self) -> str:
        return (
            f"Guard(state={self._state.value!r}, detectors={sorted(self._detectors)!r}, "
            f"suspect_dwell={self.suspect_dwell}, cooldown={self.cooldown}, "
            f"probation={self.probation}, probation_alarms={self.probation_alarms!r}, "
            f"roles={self.roles!r})"
        )


_RULES: Final[Mapping[GuardState, Callable[[Guard], Verdict | None]]] = {
    GuardState.LEARNING: Guard._on_learning,
    GuardState.SUSPECT: Guard._on_suspect,
    GuardState.FROZEN: Guard._on_frozen,
    GuardState.PROBATION: Guard._on_probation,
}
"""Which trigger a step may fire, per state; where it leads is ``TRANSITIONS``'s business."""


def _blame(flag: str, detectors: Mapping[str, Detector],
           warn_only: frozenset[str] = frozenset()) -> str:
    """``alarm from name: <reason()>; other: <reason()>``: who flagged, and on what evidence
    (a ``warn`` detector's name says that it only warns)."""
    return f"{flag} from " + "; ".join(
        f"{n}{' (warns only)' if n in warn_only else ''}: {d.reason()}"
        for n, d in detectors.items()
    )


def finite_statistics(detectors: Mapping[str, Detector]) -> dict[str, float]:
    """Each detector's statistic by name, leaving out those not finite yet (in warm-up)."""
    values = {name: float(detector.statistic) for name, detector in detectors.items()}
    return {name: value for name, value in values.items() if math.isfinite(value)}


def _check_now(now: datetime) -> None:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise ValueError(
            "The 'now' argument of Guard must be a timezone-aware datetime, "
            f"e.g. datetime(2024, 1, 1, tzinfo=UTC). Got {now!r} instead."
        )


__all__ = ["HISTORY", "Guard", "finite_statistics"]
