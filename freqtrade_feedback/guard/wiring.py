"""The supervisor's wiring: one row per detector, the single source of what feeds what.

As ``states.TRANSITIONS`` is the guard's state machine written as a table, ``WIRING`` is the
supervisor's use of its detectors written as one: for each detector, its name (in reasons,
reports and ``Transition.values``), how it is built from the guard settings, which events of
the loop feed it and how each event becomes one observation of its kind (``guard.kinds``), its
``Role`` (``alarm``: may freeze; ``warn``: may only make the guard suspicious; ``promote``:
the champion and challenger evidence, read as ``alarm`` too), and ``every``: how many
observations it takes between two reads of its flags.

| name                | kind        | fed by                      | role    | every |
|---------------------|-------------|-----------------------------|---------|-------|
| acceptance_collapse | binary      | decision                    | alarm   | 1     |
| self_fit_gap        | two-sample  | realized, shadow            | warn    | 1     |
| paired_loss         | comparison  | shadow                      | promote | 1     |
| execution_gap       | paired      | execution                   | alarm   | 1     |
| own_impact          | treatment   | execution                   | alarm   | 1     |
| calibration         | forecast    | shadow                      | warn    | 10    |
| coverage            | feature     | decision, realized          | warn    | 20    |

``acceptance_collapse`` is ``warn`` with ``labels: "all"`` (``Wire.role_all_labels``): a
learner that learns every signal's outcome, taken or not, cannot collapse by its own
selection, so a falling take rate is its answer to the market (on the dev set's 5m
SampleStrategy it fell to a fifth in August 2024 and froze the loop for no cause); with
``labels: "realized"`` it is the collapse.

**Adding a detector** is one module in ``guard/`` (a subclass of the kind that says what one
observation is; the contract suite then checks it on a stream of that kind) and one row here.
Nothing else names it: the supervisor feeds rows by event and reads the ``promote`` row for
its champion, the guard reads every row's flags by role.

A ``warn`` row measures a change of the world rather than a learner fooling itself (the
champion's calibration, the coverage of the training set), which is adapted to, not frozen
on. ``every`` above 1 feeds a detector in batches of ``every`` observations and reads it once
per batch (``Detector.update_many``): a warning delays nothing, and a PSI or an ECE costs a
sort of its windows. Between two batches the guard reads the verdict of the last one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, NamedTuple

from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.guard.acceptance_collapse import AcceptanceCollapse
from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.calibration import Calibration
from freqtrade_feedback.guard.coverage import Coverage
from freqtrade_feedback.guard.execution_gap import ExecutionGap
from freqtrade_feedback.guard.kinds import ComparisonDetector, kind_of
from freqtrade_feedback.guard.own_impact import OwnImpact
from freqtrade_feedback.guard.paired_loss import PairedLoss
from freqtrade_feedback.guard.self_fit_gap import SelfFitGap
from freqtrade_feedback.guard.states import Role
from freqtrade_feedback.typing import Features

EPSILON = 1e-4
"""Probabilities are clipped to ``[EPSILON, 1 - EPSILON]`` before a log-loss is taken."""
SELF_FIT_THRESHOLD = 0.2
"""Residual gap (skipped minus taken) at which the learner is fitting its own selection."""
EXECUTION_BOUND: Final = 0.007
"""Largest fill gap (realized minus shadow profit ratio) the execution test weighs: a bound
near the gaps it must see lets it bet harder (an impact of 0.3% per unit of stake froze the
lab's loop after a median 87 trades, against 108 at 0.01); a larger gap counts as 0.7%."""
EXECUTION_MEMORY: Final = 20.0
"""Memory of the execution test's forgetting bettors: a gap that appears after months of clean
fills is caught in dozens of trades, not hundreds (the lab's impact freeze: a median 87 trades
after the onset, 137 with the default memory of 100). The paired test of the challenger keeps
the default: a shorter memory there rolled back (and froze) the realized-labels learner in 19%
of the lab's stationary seeds, against 6.5%."""


class Event(StrEnum):
    """What happens in the loop that a detector may be fed; each has its record type."""

    DECISION = "decision"
    """A signal reached the gate and was decided: ``DecisionEvent``."""
    REALIZED = "realized"
    """A trade closed (a realized outcome): ``RealizedEvent``."""
    SHADOW = "shadow"
    """A signal's shadow outcome, taken or not (the unbiased stream): ``ShadowEvent``."""
    EXECUTION = "execution"
    """A trade's realized outcome and its signal's shadow outcome, once both are known (how
    our fills compare with the candles): ``ExecutionEvent``."""


# The records are named tuples: one is built on every event, and a tuple is the cheapest
# record to build.


class DecisionEvent(NamedTuple):
    """A signal decided at the gate."""

    features: Features | None
    """Its features when they are all finite, else None."""
    model_decided: bool
    """The model's own decision (a model or exploration take, or a skip), not a cold start,
    a holdout, a frozen or a fallback one."""
    taken: bool


class RealizedEvent(NamedTuple):
    """A closed trade."""

    features: Features
    win: bool
    p_challenger: float
    """The learning challenger's probability of a win for the signal."""
    holdout: bool
    """A holdout trade: taken by a coin flip, whatever the model said."""
    learned: bool
    """The challenger may learn from it (the guard is not frozen)."""


class ShadowEvent(NamedTuple):
    """A shadow outcome."""

    win: bool
    p_challenger: float
    p_champion: float
    """The deciding model's probability: the champion's, or the challenger's before the first
    promotion."""
    has_champion: bool
    taken: bool
    """The gate took the signal: the trade's own outcome comes (or came) too."""


class ExecutionEvent(NamedTuple):
    """A trade and its signal's shadow outcome, both known."""

    realized: float
    """The trade's profit ratio."""
    shadow: float
    """The shadow profit ratio of the same signal."""
    stake: float
    """The stake factor the trade was given (randomized by the holdout's reduced stake)."""


Input = Callable[[Any], tuple[Any, ...] | None]
"""How an event becomes one observation of a detector: the ``update`` arguments, or None when
this event says nothing to it."""


def log_loss(p: float, y: bool) -> float:
    """Per-example log-loss with clipped probability, in nats.

    >>> round(log_loss(0.8, True), 4), round(log_loss(0.8, False), 4)
    (0.2231, 1.6094)
    """
    # min(1 - EPSILON, max(EPSILON, p)) written out, NaN included: called twice per outcome
    p = p if p > EPSILON else EPSILON
    p = p if p < 1.0 - EPSILON else 1.0 - EPSILON
    return -math.log(p if y else 1.0 - p)


def _take(e: DecisionEvent) -> tuple[float] | None:
    """1 taken, 0 skipped, for a signal the model decided itself."""
    return (float(e.taken),) if e.model_decided else None


def _seen_features(e: DecisionEvent) -> tuple[Features, bool] | None:
    """Every signal with features: the sample the training set should look like."""
    return (e.features, False) if e.features else None


def _trained_features(e: RealizedEvent) -> tuple[Features, bool] | None:
    """A trade the challenger learns from: the training sample."""
    return (e.features, True) if e.learned else None


def _taken_residual(e: RealizedEvent) -> tuple[float, bool] | None:
    """Outcome minus the challenger's probability on a trade the gate chose (not a holdout)."""
    return None if e.holdout else (float(e.win) - e.p_challenger, False)


def _skipped_residual(e: ShadowEvent) -> tuple[float, bool] | None:
    """The same on a signal the gate skipped: the unbiased sample."""
    return None if e.taken else (float(e.win) - e.p_challenger, True)


def _losses(e: ShadowEvent) -> tuple[float, float] | None:
    """Challenger's and champion's log-losses on the same shadow outcome, once there is a
    champion to compare with."""
    if not e.has_champion:
        return None
    return log_loss(e.p_challenger, e.win), log_loss(e.p_champion, e.win)


def _forecast(e: ShadowEvent) -> tuple[float, float]:
    """The deciding model's probability and the outcome."""
    return e.p_champion, float(e.win)


def _fills(e: ExecutionEvent) -> tuple[float, float]:
    """Realized and shadow profit ratios of one trade."""
    return e.realized, e.shadow


def _stake_effect(e: ExecutionEvent) -> tuple[float, float]:
    """The randomized stake, and how much worse (or better) the fill was than the candles."""
    return e.stake, e.realized - e.shadow


@dataclass(frozen=True)
class Wire:
    """One row of ``WIRING``: a detector and how the supervisor uses it."""

    name: str
    """Its name in reasons, reports and ``Transition.values``."""
    factory: Callable[[GuardSettings], Detector]
    """A fresh detector for the guard settings (at the start, and when ``alpha`` changes)."""
    feeds: Mapping[Event, Input]
    """The events that feed it, and how each becomes one observation."""
    role: Role
    every: int = 1
    """Observations between two reads of its flags (``Detector.update_many``)."""
    role_all_labels: Role | None = None
    """Its role when the loop learns every signal's outcome (``labels: "all"``), where that
    differs from ``role``."""

    def __post_init__(self) -> None:
        if not self.feeds or not all(isinstance(e, Event) for e in self.feeds):
            raise ValueError(f"The wire {self.name!r} must be fed by at least one Event. "
                             f"Got {self.feeds!r} instead.")
        if not isinstance(self.role, Role):
            raise ValueError(f"The role of the wire {self.name!r} must be a Role. "
                             f"Got {self.role!r} instead.")
        if self.role_all_labels is not None and not isinstance(self.role_all_labels, Role):
            raise ValueError(f"The 'role_all_labels' of the wire {self.name!r} must be a Role "
                             f"or None. Got {self.role_all_labels!r} instead.")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"The 'every' of the wire {self.name!r} must be an int >= 1. "
                             f"Got {self.every!r} instead.")


WIRING: Final[tuple[Wire, ...]] = (
    Wire("acceptance_collapse", lambda g: AcceptanceCollapse(),
         {Event.DECISION: _take}, Role.ALARM, role_all_labels=Role.WARN),
    Wire("self_fit_gap", lambda g: SelfFitGap(threshold=SELF_FIT_THRESHOLD),
         {Event.REALIZED: _taken_residual, Event.SHADOW: _skipped_residual}, Role.WARN),
    Wire("paired_loss", lambda g: PairedLoss(alpha=g.alpha),
         {Event.SHADOW: _losses}, Role.PROMOTE),
    Wire("execution_gap",
         lambda g: ExecutionGap(alpha=g.alpha, tolerance=0.001, bound=EXECUTION_BOUND,
                                memory=EXECUTION_MEMORY),
         {Event.EXECUTION: _fills}, Role.ALARM),
    Wire("own_impact", lambda g: OwnImpact(),
         {Event.EXECUTION: _stake_effect}, Role.ALARM),
    Wire("calibration", lambda g: Calibration(),
         {Event.SHADOW: _forecast}, Role.WARN, every=10),
    Wire("coverage", lambda g: Coverage(),
         {Event.DECISION: _seen_features, Event.REALIZED: _trained_features}, Role.WARN,
         every=20),
)
"""The guard's detectors, in the order the guard reads them (and reasons name them)."""


Route = tuple[str, Input, int]
"""One detector an event feeds: its name, how the event becomes its input, its ``every``."""


def _routes(wiring: tuple[Wire, ...]) -> dict[Event, tuple[Route, ...]]:
    """Per event, the detectors it feeds in table order; the names must be unique."""
    names = [wire.name for wire in wiring]
    if len(set(names)) != len(names):
        raise ValueError(f"The names of the wiring must be unique. Got {names!r}.")
    return {
        event: tuple((w.name, w.feeds[event], w.every) for w in wiring if event in w.feeds)
        for event in Event
    }


def _promoter(wiring: tuple[Wire, ...]) -> str:
    """The name of the one ``promote`` row: the supervisor promotes on its evidence."""
    names = [wire.name for wire in wiring if wire.role is Role.PROMOTE]
    if len(names) != 1:
        raise ValueError(f"The wiring must have exactly one 'promote' row. Got {names!r}.")
    return names[0]


ROUTES: Final = _routes(WIRING)
"""``WIRING`` by event, worked out once: the supervisor feeds every event through it."""
PROMOTER: Final = _promoter(WIRING)
COST_EVIDENCE: Final = frozenset(
    w.name for w in WIRING if Event.EXECUTION in w.feeds and w.role is Role.ALARM
)
"""The alarms that say our fills are not what the candles pay (our own impact, slippage): a
freeze they cause makes the gate charge the measured execution cost until the guard thaws."""


class Board:
    """The detectors of ``WIRING`` at run time, each fed the events its row names.

    ``detectors`` is the one dict the guard reads (a fresh detector replaces an entry, never
    the dict). A board pickles as its detectors and its pending batches only: the table is
    code, and a restored board feeds as the release it runs in says.

    Examples
    --------
    >>> board = Board(GuardSettings())
    >>> board.feed(Event.DECISION, DecisionEvent({"rsi": 0.3}, model_decided=True, taken=True))
    >>> board.detectors["acceptance_collapse"].n, board.detectors["coverage"].n
    (1, 0)
    >>> board.roles["calibration"].value, type(board.comparison).__name__
    ('warn', 'PairedLoss')
    >>> board.roles["acceptance_collapse"].value, Board(GuardSettings(), "realized").roles[
    ...     "acceptance_collapse"].value
    ('warn', 'alarm')
    """

    def __init__(self, settings: GuardSettings, labels: str = "all") -> None:
        self.labels = labels
        """The loop's ``labels``: a row's role may depend on it (``Wire.role_all_labels``)."""
        self.detectors: dict[str, Detector] = {}
        self._batches: dict[str, list[tuple[Any, ...]]] = {}
        self.rebuild(settings)

    def rebuild(self, settings: GuardSettings) -> None:
        """Fresh detectors for ``settings``, in place, and no pending batch."""
        for wire in WIRING:
            detector = wire.factory(settings)
            kind_of(detector)
            if wire.role is Role.PROMOTE and not isinstance(detector, ComparisonDetector):
                raise TypeError(f"The 'promote' wire {wire.name!r} must build a "
                                f"ComparisonDetector. Got {type(detector).__name__}.")
            self.detectors[wire.name] = detector
        self._batches = {wire.name: [] for wire in WIRING if wire.every > 1}

    @property
    def roles(self) -> dict[str, Role]:
        """Each detector's role, by name, for the guard, under the board's ``labels``."""
        every_label = self.labels == "all"
        return {wire.name: (wire.role_all_labels or wire.role) if every_label else wire.role
                for wire in WIRING}

    @property
    def comparison(self) -> ComparisonDetector:
        """The ``promote`` detector: is the challenger worse, or better, than the champion?"""
        return self.detectors[PROMOTER]  # type: ignore[return-value]

    def renew_comparison(self) -> None:
        """A fresh ``promote`` detector: after a promotion the pair it compares is new."""
        self.detectors[PROMOTER] = self.comparison.clone()

    def feed(self, event: Event, record: tuple[Any, ...]) -> None:
        """Feed ``record`` (the event's record type) to every detector its rows name."""
        detectors, batches = self.detectors, self._batches
        for name, read, every in ROUTES[event]:
            values = read(record)
            if values is None:
                continue
            if every == 1:
                detectors[name].update(*values)
                continue
            batch = batches[name]
            batch.append(values)
            if len(batch) == every:
                detectors[name].update_many(batch)
                batch.clear()


__all__ = [
    "COST_EVIDENCE",
    "PROMOTER",
    "ROUTES",
    "SELF_FIT_THRESHOLD",
    "WIRING",
    "Board",
    "DecisionEvent",
    "Event",
    "ExecutionEvent",
    "RealizedEvent",
    "ShadowEvent",
    "Wire",
    "log_loss",
]
