"""The guard wired to the loop's events: champion and challenger, holdout, detectors.

The challenger learns, and gates while nothing is wrong; the champion (a snapshot) gates once
the guard is FROZEN, and through probation (``CHAMPION_DECIDES``). Every event of the loop
feeds the detectors what each one measures, as the rows of ``guard.wiring.WIRING`` say, and
after each outcome the guard's state machine may move. The challenger replaces the champion
when the ``promote`` row's paired sequential test says it is better on the unbiased stream
(shadow outcomes and holdout trades), or after ``PROMOTE_EVERY`` paired outcomes without a
suspicion; when the test says it is worse, it is rolled back to the champion and the guard
freezes.

Detectors that measure a change of the world rather than a learner fooling itself
(calibration of the champion, coverage of the training set) have the ``warn`` role: they move
the guard to SUSPECT, never to FROZEN, so that an exogenous regime change is adapted to
instead of frozen.

Learning one's own market impact as if it were the signals' quality is the bias; paying for
impact is not. A freeze caused by an execution alarm (``wiring.COST_EVIDENCE``) therefore
also makes the supervisor quote an ``execution_cost``: the mean shortfall of our fills
against the candles, per unit of stake, over the last ``COST_WINDOW`` trades. The loop charges
it in the expected-profit decision until the guard thaws (back to LEARNING).
"""

from __future__ import annotations

import pickle
import statistics
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.guard import HISTORY, Guard, finite_statistics
from freqtrade_feedback.guard.states import GuardState, Rollback, Transition, Trigger
from freqtrade_feedback.guard.wiring import (
    COST_EVIDENCE,
    PROMOTER,
    Board,
    DecisionEvent,
    Event,
    ExecutionEvent,
    RealizedEvent,
    ShadowEvent,
)
from freqtrade_feedback.learner import OnlineLearner
from freqtrade_feedback.typing import Features, ModelInput

COST_WINDOW = 100
"""Trades (with their shadow outcomes) the execution cost is measured over: the recent ones,
so that a cost that grows with our size is charged as it is now."""
CHAMPION_DECIDES = frozenset({GuardState.FROZEN, GuardState.PROBATION})
"""The states in which the champion gates. While nothing is wrong (LEARNING) or the world
looks changed (SUSPECT: adapt, do not freeze) the challenger gates, as the loop without a
guard would: a champion refreshed every ``PROMOTE_EVERY`` outcomes lags behind what the bot
has learned, and that lag alone cost 2% of the lab's stationary profit and 9-11% under a regime
flip or a long shock (40 seeds). Once the evidence
says the learner is fooling itself, the champion (a snapshot from before the evidence) gates
until probation is passed."""
PROMOTE_EVERY = 100
"""Paired outcomes after which a challenger that is not even suspected of being worse
replaces the champion, so that the champion keeps up while nothing is wrong; a challenger
proven better is promoted at once."""


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
        self._board = Board(g, self._settings.labels)
        self._guard = Guard(self._board.detectors, suspect_dwell=g.suspect_dwell,
                            cooldown=g.cooldown, probation=g.probation, roles=self._board.roles)
        self._challengers: dict[str, OnlineLearner] = {}
        self._champions: dict[str, OnlineLearner] = {}
        self._realized: dict[str, tuple[float, float]] = {}
        self._shadow: dict[str, float] = {}
        self._predicted: dict[str, dict[object, float]] = {}
        self._reports: deque[Transition | Rollback] = deque(maxlen=HISTORY)
        self.n_reports = 0
        """Reports made so far, never capped (``reports`` keeps the last ``HISTORY``)."""
        self.promotions = 0
        self.rollbacks = 0
        self._gaps: deque[float] = deque(maxlen=COST_WINDOW)
        self._charging = False

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
            self._board.rebuild(g)  # in place: the guard reads the board's dict

    # -- learners ------------------------------------------------------------------------

    def challenger(self, key: str) -> OnlineLearner:
        learner = self._challengers.get(key)
        if learner is None:
            learner = self._challengers[key] = self.make_learner()
        return learner

    def champion(self, key: str) -> OnlineLearner:
        """The champion once there is one; before the first promotion, the challenger."""
        return self._champions.get(key) or self.challenger(key)

    def decider(self, key: str) -> OnlineLearner:
        """The learner that gates: the champion in ``CHAMPION_DECIDES``, else the challenger."""
        if self._guard.state in CHAMPION_DECIDES:
            return self.champion(key)
        return self.challenger(key)

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
        self._board.renew_comparison()
        self.promotions += 1

    def _rollback(self, now: datetime, evidence: Detector) -> None:
        self._challengers = {k: _copy(v) for k, v in self._champions.items()}
        self.rollbacks += 1
        reason = (f"the challenger is worse than the champion on the unbiased outcomes "
                  f"({PROMOTER}: {evidence.reason()}); it starts again from the champion, "
                  "and what it learned since the last promotion is dropped")
        self._report(Rollback(now, reason, finite_statistics({PROMOTER: evidence})))

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

    def _report(self, event: Transition | Rollback) -> None:
        self._reports.append(event)
        self.n_reports += 1
        if isinstance(event, Transition):
            self._charging = _charges(event, self._charging)

    @property
    def execution_cost(self) -> float:
        """The profit ratio per unit of stake the gate charges a signal: while a freeze that
        execution evidence caused lasts (through probation, until the thaw), how much worse
        than the candles our recent fills were on average; 0.0 otherwise, and never a credit
        (fills better than the candles are the mark of a self-fulfilling loop, not an edge)."""
        if not self._charging or not self._gaps:
            return 0.0
        return max(0.0, -statistics.fmean(self._gaps))

    def new_reports(self, seen: int) -> tuple[Transition | Rollback, ...]:
        """The reports after the first ``seen`` ever made (``n_reports`` counts them all), as
        far as the last ``HISTORY`` go back."""
        new = self.n_reports - seen
        return tuple(self._reports)[-new:] if new > 0 else ()

    @property
    def reports(self) -> tuple[Transition | Rollback, ...]:
        """What the supervisor has to tell, oldest first (at most ``HISTORY``): every move of
        the guard it made, and every rollback. Each says whether it is ``loud``."""
        return tuple(self._reports)

    @property
    def detectors(self) -> dict[str, Detector]:
        return dict(self._board.detectors)

    def short_desc(self) -> str:
        return self._guard.short_desc()

    # -- events --------------------------------------------------------------------------

    def observe_decision(self, features: Features | None, model_decided: bool,
                         taken: bool) -> None:
        """Every signal (the model's acceptance rate, the features of all signals)."""
        self._board.feed(Event.DECISION, DecisionEvent(features, model_decided, taken))

    def observe_realized(self, key: str, signal_id: str, features: Features, x: ModelInput,
                         win: bool, profit: float, stake: float, holdout: bool) -> bool:
        """A closed trade (``features`` for the coverage detector, ``x`` what the learners
        read); returns whether the challenger may learn from it."""
        p = self.win_probability(self.challenger(key), signal_id, x)
        shadow = self._shadow.pop(signal_id, None)
        if shadow is None:
            self._realized[signal_id] = (profit, stake)
        else:
            self._predicted.pop(signal_id, None)  # shadow and trade both seen: no more asks
            self._execution(profit, shadow, stake)
        allowed = self.learning_allowed
        self._board.feed(Event.REALIZED, RealizedEvent(features, win, p, holdout, allowed))
        return allowed

    def observe_shadow(self, key: str, signal_id: str, x: ModelInput, win: bool,
                       profit: float, taken: bool) -> None:
        """A shadow outcome: the unbiased yardstick for champion, challenger and calibration."""
        p_challenger = self.win_probability(self.challenger(key), signal_id, x)
        p_champion = self.win_probability(self.champion(key), signal_id, x)
        self._board.feed(Event.SHADOW, ShadowEvent(win, p_challenger, p_champion,
                                                   key in self._champions, taken))
        realized = self._realized.pop(signal_id, None)
        if realized is not None:
            self._execution(realized[0], profit, realized[1])
        elif taken:
            self._shadow[signal_id] = profit
        if not taken or realized is not None:  # no trade to come: no more asks
            self._predicted.pop(signal_id, None)

    def _execution(self, realized: float, shadow: float, stake: float) -> None:
        self._board.feed(Event.EXECUTION, ExecutionEvent(realized, shadow, stake))
        if stake > 0:
            self._gaps.append((realized - shadow) / stake)

    def fire(self, trigger: Trigger, *, now: datetime, reason: str) -> Transition:
        """Move the guard by hand (an operator's freeze or unfreeze), with the reason."""
        transition = self._guard.fire(trigger, now=now, reason=reason,
                                      values=finite_statistics(self._board.detectors))
        self._report(transition)
        return transition

    def step(self, *, now: datetime, min_outcomes: int) -> Transition | None:
        """After one outcome: bootstrap or promote the champion, then move the guard."""
        if not self._champions and self._challengers and all(
            c.n_learned >= min_outcomes for c in self._challengers.values()
        ):
            self._promote()
        comparison = self._board.comparison
        worse = comparison.alarm
        transition = self._guard.step(now=now)
        if transition is not None:
            self._report(transition)
        if worse:
            self._rollback(now, comparison)
        elif self._guard.state is GuardState.LEARNING and (
            comparison.better
            or (comparison.n >= PROMOTE_EVERY and not comparison.warning)
        ):
            self._promote()
        return transition


_ALARMS = frozenset({Trigger.ALARM, Trigger.PROBATION_FAILED})
"""The moves into FROZEN whose ``values`` are the alarming detectors (a manual freeze's are
every detector's)."""


def _charges(transition: Transition, charging: bool) -> bool:
    """Whether the execution cost is charged after ``transition``: from a freeze that an
    execution alarm caused, until the guard is back in LEARNING.

    >>> from datetime import UTC, datetime
    >>> now = datetime(2024, 1, 1, tzinfo=UTC)
    >>> S, T = GuardState, Trigger
    >>> _charges(Transition(S.LEARNING, S.FROZEN, T.ALARM, now, "", {"own_impact": 9.0}), False)
    True
    >>> _charges(Transition(S.LEARNING, S.FROZEN, T.ALARM, now, "", {"paired_loss": 9.0}), False)
    False
    >>> _charges(Transition(S.FROZEN, S.PROBATION, T.COOLDOWN_ELAPSED, now, ""), True)
    True
    >>> _charges(Transition(S.PROBATION, S.LEARNING, T.PROBATION_PASSED, now, ""), True)
    False
    """
    if transition.target is GuardState.LEARNING:
        return False
    if transition.target is GuardState.FROZEN and transition.trigger in _ALARMS:
        return charging or not COST_EVIDENCE.isdisjoint(transition.values)
    return charging
