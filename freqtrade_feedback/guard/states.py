"""The guard's states, triggers and transition table: the single source of truth.

The guard is a table, not a tangle of ifs (as nautilus_trader's ``FiniteStateMachine``): a pair
``(state, trigger)`` either has one target state in ``TRANSITIONS`` or is not a transition, and
``Guard.fire`` raises ``InvalidTransition`` for it. ``Guard.step`` only decides *which* trigger
to fire; *where* it leads is read from here. States and triggers are string enums because the
ledger persists their values, which must stay readable in SQL and survive reordering.

| state     | trigger          | target    | loud | why                                         |
|-----------|------------------|-----------|------|---------------------------------------------|
| learning  | warning          | suspect   |      | a detector warns: keep learning, watch      |
| learning  | alarm            | frozen    | yes  | a detector alarms: stop learning at once    |
| learning  | manual_freeze    | frozen    | yes  | an operator stops learning                  |
| suspect   | alarm            | frozen    | yes  |                                             |
| suspect   | clear            | learning  |      | ``suspect_dwell`` quiet outcomes in a row   |
| suspect   | manual_unfreeze  | learning  |      | an operator dismisses the suspicion         |
| suspect   | manual_freeze    | frozen    | yes  |                                             |
| frozen    | cooldown_elapsed | probation |      | ``cooldown`` outcomes observed frozen       |
| frozen    | manual_unfreeze  | learning  | yes  |                                             |
| probation | probation_failed | frozen    | yes  | an alarm on probation (what ``step`` fires) |
| probation | alarm            | frozen    | yes  | the same, for callers that fire alarms      |
| probation | probation_passed | learning  | yes  | ``probation`` outcomes without an alarm     |
| probation | manual_unfreeze  | learning  | yes  |                                             |
| probation | manual_freeze    | frozen    | yes  |                                             |

Every other pair raises. Why those are left out: a warning moves only a guard that is
learning unwatched (in SUSPECT it restarts the quiet count, in PROBATION only alarms count);
nothing escalates FROZEN further (it is a time-out, and probation is the test); and freezing
what is frozen or unfreezing what is learning would record an event that changes nothing. An
alarm during probation is ``probation_failed`` when ``Guard.step`` sees it, so the ledger tells
the story; ``alarm`` is accepted there too, so that "an alarm freezes every state that learns"
holds for callers that fire it themselves.

**Loud or quiet** (``Transition.loud`` and ``Rollback.loud``; the rule lives here only): what
a user must act on is loud, a WARNING log line and a notification (Telegram in dry-run and
live): entering FROZEN, a thaw (FROZEN or PROBATION back to LEARNING) and a ``Rollback`` of
the challenger. SUSPECT, its clearing and the start of probation are quiet, an INFO line: the
guard is watching, and nothing is asked of the user. A guard loud about what needs no action
teaches its user to ignore it.

**Roles** (``Role``) say how the guard reads a detector's flags: an ``alarm`` detector's alarm
freezes and its warning suspects; a ``warn`` detector's alarm and warning both only suspect
(it measures a change of the world, which is to be adapted to, not frozen on); a ``promote``
detector is read as an ``alarm`` one, and the supervisor also promotes and rolls back the
challenger on its evidence.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Final

from freqtrade_feedback.exceptions import FeedbackError


class GuardState(StrEnum):
    """Where the guard is; the value is what the ledger stores."""

    LEARNING = "learning"
    """Outcomes are learned; detectors quiet."""
    SUSPECT = "suspect"
    """A detector warns: still learning, but watched, and one alarm away from frozen."""
    FROZEN = "frozen"
    """A detector alarmed: outcomes are recorded, not learned, for ``cooldown`` outcomes."""
    PROBATION = "probation"
    """The challenger learns again; any alarm sends the guard back to frozen."""


class Trigger(StrEnum):
    """What moves the guard; the value is what the ledger stores."""

    WARNING = "warning"
    """A detector warns (LEARNING -> SUSPECT)."""
    ALARM = "alarm"
    """A detector alarms (LEARNING, SUSPECT, PROBATION -> FROZEN)."""
    CLEAR = "clear"
    """Nothing warned for ``suspect_dwell`` outcomes in a row (SUSPECT -> LEARNING)."""
    COOLDOWN_ELAPSED = "cooldown_elapsed"
    """``cooldown`` outcomes observed while frozen (FROZEN -> PROBATION)."""
    PROBATION_PASSED = "probation_passed"
    """``probation`` outcomes without an alarm (PROBATION -> LEARNING)."""
    PROBATION_FAILED = "probation_failed"
    """An alarm during probation (PROBATION -> FROZEN)."""
    MANUAL_UNFREEZE = "manual_unfreeze"
    """An operator lets the learner learn again (SUSPECT, FROZEN, PROBATION -> LEARNING)."""
    MANUAL_FREEZE = "manual_freeze"
    """An operator stops learning (LEARNING, SUSPECT, PROBATION -> FROZEN)."""


class Role(StrEnum):
    """How a detector's flags move the guard (a row of ``guard.wiring.WIRING`` says which)."""

    ALARM = "alarm"
    """Its alarm freezes (LEARNING, SUSPECT -> FROZEN; fails probation); its warning
    suspects."""
    WARN = "warn"
    """Its alarm and its warning only make the guard suspicious (LEARNING -> SUSPECT)."""
    PROMOTE = "promote"
    """Champion and challenger evidence: read as ``alarm``, and the supervisor promotes the
    challenger when it is better and rolls it back when it alarms (it is worse)."""


_S, _T = GuardState, Trigger

TRANSITIONS: Final[Mapping[tuple[GuardState, Trigger], GuardState]] = types.MappingProxyType(
    {
        (_S.LEARNING, _T.WARNING): _S.SUSPECT,
        (_S.LEARNING, _T.ALARM): _S.FROZEN,
        (_S.LEARNING, _T.MANUAL_FREEZE): _S.FROZEN,
        (_S.SUSPECT, _T.ALARM): _S.FROZEN,
        (_S.SUSPECT, _T.CLEAR): _S.LEARNING,
        (_S.SUSPECT, _T.MANUAL_UNFREEZE): _S.LEARNING,
        (_S.SUSPECT, _T.MANUAL_FREEZE): _S.FROZEN,
        (_S.FROZEN, _T.COOLDOWN_ELAPSED): _S.PROBATION,
        (_S.FROZEN, _T.MANUAL_UNFREEZE): _S.LEARNING,
        (_S.PROBATION, _T.ALARM): _S.FROZEN,
        (_S.PROBATION, _T.PROBATION_PASSED): _S.LEARNING,
        (_S.PROBATION, _T.PROBATION_FAILED): _S.FROZEN,
        (_S.PROBATION, _T.MANUAL_UNFREEZE): _S.LEARNING,
        (_S.PROBATION, _T.MANUAL_FREEZE): _S.FROZEN,
    }
)
"""``(state, trigger) -> next state``; every pair not listed is not a transition."""


class InvalidTransition(FeedbackError, RuntimeError):
    """A trigger was fired in a state that has no transition for it.

    A bug in the caller, never a market condition: ``Guard.step`` fires only pairs of the
    table. The adapter catches it like any other error inside a trading callback.
    """

    def __init__(self, state: GuardState, trigger: Trigger) -> None:
        self.state = state
        self.trigger = trigger
        allowed = ", ".join(t.value for (s, t) in TRANSITIONS if s is state)
        super().__init__(
            f"{state.value} -> {trigger.value} is not a transition. "
            f"From {state.value} the triggers are: {allowed}."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.state, self.trigger))


@dataclass(frozen=True)
class Transition:
    """One move of the guard: the record the ledger appends, and the guard keeps in ``history``.

    ``values`` are the detector statistics that caused the move (for an alarm, each alarming
    detector's statistic under its name); it is copied and read-only, so the record cannot
    change after the fact.
    """

    source: GuardState
    target: GuardState
    trigger: Trigger
    at: datetime
    reason: str
    values: Mapping[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", types.MappingProxyType(dict(self.values)))

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.source, self.target, self.trigger, self.at, self.reason, dict(self.values))
        return (type(self), fields)

    @property
    def loud(self) -> bool:
        """Whether the user must act on this move: entering FROZEN, or a thaw (FROZEN or
        PROBATION back to LEARNING). SUSPECT, its clearing and the start of probation are not.

        >>> from datetime import UTC, datetime
        >>> now = datetime(2024, 1, 1, tzinfo=UTC)
        >>> Transition(_S.LEARNING, _S.SUSPECT, _T.WARNING, now, "warning").loud
        False
        >>> Transition(_S.PROBATION, _S.LEARNING, _T.PROBATION_PASSED, now, "passed").loud
        True
        """
        if self.target is GuardState.FROZEN:
            return True
        return self.target is GuardState.LEARNING and self.source in _THAWS

    def __str__(self) -> str:
        return (
            f"{self.at.isoformat()} {self.source.value} -> {self.target.value} "
            f"({self.trigger.value}): {self.reason}"
        )


_THAWS: Final = frozenset({GuardState.FROZEN, GuardState.PROBATION})
"""States whose return to LEARNING is a thaw: the learner learns again after a freeze."""


@dataclass(frozen=True)
class Rollback:
    """The challenger was found worse than the champion and starts again from it.

    Not a move of the state machine (it happens in any state, FROZEN too), but reported
    beside its moves: the learning since the last promotion was thrown away, which a user
    must know. ``values`` are the statistics of the evidence, as in ``Transition``.
    """

    at: datetime
    reason: str
    values: Mapping[str, float] = field(default_factory=dict, hash=False)

    loud: ClassVar[bool] = True
    """Always: the learner lost what it had learned since the last promotion."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", types.MappingProxyType(dict(self.values)))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.at, self.reason, dict(self.values)))

    def __str__(self) -> str:
        return f"{self.at.isoformat()} rollback: {self.reason}"


__all__ = [
    "TRANSITIONS",
    "GuardState",
    "InvalidTransition",
    "Role",
    "Rollback",
    "Transition",
    "Trigger",
]
