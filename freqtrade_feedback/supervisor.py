"""The guard wired to the loop's events: champion and challenger, holdout, detectors.

The champion (a snapshot) gates; the challenger learns. Every event of the loop feeds the
detectors what each one measures, and after each outcome the guard's state machine may move.
The challenger replaces the champion only when the paired sequential test says it is better
on the unbiased stream (shadow outcomes and holdout trades); when the test says it is worse,
it is rolled back to the champion and the guard freezes.

Detectors that measure a change of the world rather than a learner fooling itself
(calibration of the champion, coverage of the training set) only warn: they move the guard to
SUSPECT, never to FROZEN, so that an exogenous regime change is adapted to instead of frozen.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.guard.acceptance_collapse import AcceptanceCollapse
from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.calibration import Calibration
from freqtrade_feedback.guard.coverage import Coverage
from freqtrade_feedback.guard.execution_gap import ExecutionGap
from freqtrade_feedback.guard.guard import Guard, finite_statistics
from freqtrade_feedback.guard.own_impact import OwnImpact
from freqtrade_feedback.guard.paired_loss import PairedLoss
from freqtrade_feedback.guard.self_fit_gap import SelfFitGap
from freqtrade_feedback.guard.states import GuardState, Transition, Trigger
from freqtrade_feedback.learner import OnlineLearner
from freqtrade_feedback.typing import Features, ModelInput

EPSILON = 1e-4
PROMOTE_EVERY = 100
"""Paired outcomes after which a challenger that is not even suspected of being worse
replaces the champion, so that the champion keeps up while nothing is wrong; a challenger
proven better is promoted at once."""
SELF_FIT_THRESHOLD = 0.2
"""Residual gap (skipped minus taken) at which the learner is fitting its own selection."""


def log_loss(p: float, y: bool) -> float:
    """Per-example log-loss with clipped probability, in nats.

    >>> round(log_loss(0.8, True), 4), round(log_loss(0.8, False), 4)
    (0.2231, 1.6094)
    """
    # min(1 - EPSILON, max(EPSILON, p)) written out, NaN included: called twice per outcome
    p = p if p > EPSILON else EPSILON
    p = p if p < 1.0 - EPSILON else 1.0 - EPSILON
    return -math.log(p if y else 1.0 - p)


class WarnOnly(Detector):
    """Turn a detector's alarm into a warning: it may make the guard suspicious, not freeze it.

    A warning only delays nothing, so the inner detector is read once every ``every``
    updates (a PSI or an ECE costs a sort of their windows), and its verdict held between.

    >>> from freqtrade_feedback.guard.periodic_alarm import PeriodicAlarm
    >>> det = WarnOnly(PeriodicAlarm(period=2))
    >>> det.update(0.0); det.update(0.0)
    >>> det.alarm, det.warning
    (False, True)
    """

    def __init__(self, detector: Detector, every: int = 1) -> None:
        self.detector = detector
        self.every = every
        self._reset()

    def _reset(self) -> None:
        self._inner = self.detector.clone()
        self._seen = 0
        self._flag = False
        self._inner_alarmed = False

    def update(self, *values: Any) -> None:
        """``Detector.update`` without its reset-after-alarm: a WarnOnly never alarms itself."""
        self.observe(*values)

    def _update(self, *values: Any) -> None:
        # Feeds the inner detector without reading its flags, so that its verdict (a sort of
        # its window) is computed every ``every`` updates only, with the same reset-after-alarm
        # rule as ``Detector.update``.
        inner = self._inner
        if self._inner_alarmed:
            inner.reset()
            self._inner_alarmed = False
        inner.observe(*values)
        self._seen += 1
        if self._seen % self.every == 0:
            self._inner_alarmed = bool(inner.alarm)
            self._flag = self._inner_alarmed or bool(inner.warning)

    @property
    def statistic(self) -> float:
        return self._inner.statistic

    @property
    def threshold_value(self) -> float:
        return self._inner.threshold_value

    @property
    def alarm(self) -> bool:
        return False

    @property
    def warning(self) -> bool:
        return self._flag

    def reason(self) -> str:
        return f"WarnOnly (warns, never freezes): {self._inner.reason()}"


def default_detectors(settings: FeedbackSettings) -> dict[str, Detector]:
    """The guard's detectors, by the names that appear in its events and reports."""
    alpha = settings.guard.alpha
    return {
        "acceptance_collapse": AcceptanceCollapse(),
        "self_fit_gap": WarnOnly(SelfFitGap(threshold=SELF_FIT_THRESHOLD)),
        "paired_loss": PairedLoss(alpha=alpha),
        "execution_gap": ExecutionGap(alpha=alpha, tolerance=0.001, bound=0.01),
        "own_impact": OwnImpact(),
        "calibration": WarnOnly(Calibration(), every=10),
        "coverage": WarnOnly(Coverage(), every=20),
    }


def _copy(learner: OnlineLearner) -> OnlineLearner:
    """An independent copy of ``learner``: a pickle round trip gives the same state as
    ``copy.deepcopy`` (the ledger's checkpoints rely on it) in a quarter of the time."""
    return pickle.loads(pickle.dumps(learner, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301


class Supervisor:
    """Champion, challenger and guard for one loop. Created by the loop when the guard is on."""

    def __init__(self, settings: FeedbackSettings, make_learner: Callable[[], OnlineLearner]):
        self._settings = settings
        self.make_learner = make_learner
        self._reset()

    def _reset(self) -> None:
        g = self._settings.guard
        self._detectors = default_detectors(self._settings)
        self._guard = Guard(self._detectors, suspect_dwell=g.suspect_dwell,
                            cooldown=g.cooldown, probation=g.probation)
        self._challengers: dict[str, OnlineLearner] = {}
        self._champions: dict[str, OnlineLearner] = {}
        self._realized: dict[str, tuple[float, float]] = {}
        self._shadow: dict[str, float] = {}
        self._predicted: dict[str, dict[object, float]] = {}
        self.promotions = 0
        self.rollbacks = 0

    @property
    def settings(self) -> FeedbackSettings:
        """The settings the guard runs with; only :meth:`reconfigure` changes them."""
        return self._settings

    def reconfigure(self, settings: FeedbackSettings) -> None:
        """Run with ``settings`` and keep the learners (the loop calls this only when they fit
        the new settings): the guard's state machine counts with the new dwell, cooldown and
        probation at once, and a new ``alpha`` starts the detectors afresh, because their
        evidence was weighed against the old level."""
        old, g = self._settings.guard, settings.guard
        self._settings = settings
        self._guard.tune(suspect_dwell=g.suspect_dwell, cooldown=g.cooldown,
                         probation=g.probation)
        if g.alpha != old.alpha:
            self._detectors.update(default_detectors(settings))  # the guard reads this dict

    # -- learners ------------------------------------------------------------------------

    def challenger(self, key: str) -> OnlineLearner:
        learner = self._challengers.get(key)
        if learner is None:
            learner = self._challengers[key] = self.make_learner()
        return learner

    def decider(self, key: str) -> OnlineLearner:
        """The champion once there is one; before the first promotion, the challenger."""
        return self._champions.get(key) or self.challenger(key)

    def win_probability(self, learner: OnlineLearner, signal_id: str, x: ModelInput) -> float:
        """``learner``'s probability of a win for the signal, predicted once per model state.

        The same signal is scored at its decision, at its shadow outcome and at its trade, by
        the champion and the challenger; one of them is often unchanged since it was last asked
        (the champion only changes when promoted, the challenger only when it learns), and
        river predicts the same for the same model and features, so its answer is reused.
        """
        state = learner.state
        known = self._predicted.get(signal_id)
        if known is None:
            known = self._predicted[signal_id] = {}
        p = known.get(state)
        if p is None:
            p = known[state] = learner.predict_proba_one(x)[True]
        return p

    def forget(self, signal_ids: Iterable[str]) -> None:
        """Drop what is kept per signal (cached probabilities, a trade or a shadow waiting for
        its pair) for signals the loop has let go of."""
        for signal_id in signal_ids:
            self._predicted.pop(signal_id, None)
            self._realized.pop(signal_id, None)
            self._shadow.pop(signal_id, None)

    def _promote(self) -> None:
        self._champions = {k: _copy(v) for k, v in self._challengers.items()}
        self._detectors["paired_loss"] = self._detectors["paired_loss"].clone()
        self.promotions += 1

    def _rollback(self) -> None:
        self._challengers = {k: _copy(v) for k, v in self._champions.items()}
        self.rollbacks += 1

    # -- state ---------------------------------------------------------------------------

    @property
    def state(self) -> GuardState:
        return self._guard.state

    @property
    def learning_allowed(self) -> bool:
        return self._guard.learning_allowed

    @property
    def transitions(self) -> tuple[Transition, ...]:
        return self._guard.history

    @property
    def detectors(self) -> dict[str, Detector]:
        return dict(self._detectors)

    def short_desc(self) -> str:
        return self._guard.short_desc()

    # -- events --------------------------------------------------------------------------

    def observe_decision(self, features: Features | None, model_decided: bool,
                         taken: bool) -> None:
        """Every signal: the acceptance rate of the model, the feature coverage of all."""
        if model_decided:
            self._detectors["acceptance_collapse"].update(float(taken))
        if features:
            self._detectors["coverage"].update(features, False)

    def observe_realized(self, key: str, signal_id: str, features: Features, x: ModelInput,
                         win: bool, profit: float, stake: float, holdout: bool) -> bool:
        """A closed trade (``features`` for the coverage detector, ``x`` what the learners
        read); returns whether the challenger may learn from it."""
        if not holdout:
            p = self.win_probability(self.challenger(key), signal_id, x)
            self._detectors["self_fit_gap"].update(float(win) - p, False)
        shadow = self._shadow.pop(signal_id, None)
        if shadow is None:
            self._realized[signal_id] = (profit, stake)
        else:
            self._predicted.pop(signal_id, None)  # shadow and trade both seen: no more asks
            self._execution(profit, shadow, stake)
        allowed = self.learning_allowed
        if allowed:
            self._detectors["coverage"].update(features, True)
        return allowed

    def observe_shadow(self, key: str, signal_id: str, x: ModelInput, win: bool,
                       profit: float, taken: bool) -> None:
        """A shadow outcome: the unbiased yardstick for champion, challenger and calibration."""
        p_challenger = self.win_probability(self.challenger(key), signal_id, x)
        p_champion = self.win_probability(self.decider(key), signal_id, x)
        loss = log_loss(p_challenger, win)
        if key in self._champions:
            self._detectors["paired_loss"].update(loss, log_loss(p_champion, win))
        self._detectors["calibration"].update(p_champion, float(win))
        if not taken:
            self._detectors["self_fit_gap"].update(float(win) - p_challenger, True)
        realized = self._realized.pop(signal_id, None)
        if realized is not None:
            self._execution(realized[0], profit, realized[1])
        elif taken:
            self._shadow[signal_id] = profit
        if not taken or realized is not None:  # no trade to come: no more asks
            self._predicted.pop(signal_id, None)

    def _execution(self, realized: float, shadow: float, stake: float) -> None:
        self._detectors["execution_gap"].update(realized, shadow)
        self._detectors["own_impact"].update(stake, realized - shadow)

    def fire(self, trigger: Trigger, *, now: datetime, reason: str) -> Transition:
        """Move the guard by hand (an operator's freeze or unfreeze), with the reason."""
        return self._guard.fire(trigger, now=now, reason=reason,
                                values=finite_statistics(self._detectors))

    def step(self, *, now: datetime, min_outcomes: int) -> Transition | None:
        """After one outcome: bootstrap or promote the champion, then move the guard."""
        if not self._champions and self._challengers and all(
            c.n_learned >= min_outcomes for c in self._challengers.values()
        ):
            self._promote()
        paired = self._detectors["paired_loss"]
        worse = paired.alarm
        transition = self._guard.step(now=now)
        if worse:
            self._rollback()
        elif self._guard.state is GuardState.LEARNING and (
            getattr(paired, "better", False)
            or (paired.n >= PROMOTE_EVERY and not paired.warning)
        ):
            self._promote()
        return transition
