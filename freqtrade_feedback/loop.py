"""The feedback loop: the one object that owns the learner(s) and everything they decided.

Freqtrade calls into it through the adapter; the lab and the tests call it directly. Because
it owns all state, resetting it, copying it or running two side by side is one line.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.edge import Edge, OutcomeSizes
from freqtrade_feedback.guard.states import GuardState
from freqtrade_feedback.labels import (
    LearnStatus,
    RealizedOutcome,
    ShadowRecord,
    is_win,
    outcome_weight,
)
from freqtrade_feedback.learner import OnlineLearner
from freqtrade_feedback.typing import Features, ModelInput, Side

if TYPE_CHECKING:
    from freqtrade_feedback.supervisor import Supervisor

GLOBAL_SCOPE = "*"
PAIR_INPUT = "pair"
"""The model input that names the pair (a categorical), with the ``"pair"`` feature set."""
TRADE_MARK = "|trade:"
"""Between pair and trade id in the signal id of a trade that carries none of its own."""


class DecisionReason(StrEnum):
    """Why the gate decided as it did. Persisted as its string value."""

    DISABLED = "disabled"
    COLD_START = "cold_start"
    MODEL = "model"
    EXPLORE = "explore"
    BAD_FEATURES = "bad_features"
    ERROR = "error"
    HOLDOUT = "holdout"
    FROZEN = "frozen"


@dataclass(frozen=True)
class Signal:
    """One entry signal of the primary strategy that reached the gate."""

    pair: str
    candle: datetime
    """Open time of the candle the signal was made on (UTC)."""
    side: Side = "long"
    tag: str | None = None
    features: Features | None = None

    @cached_property
    def signal_id(self) -> str:
        """``PAIR|side|YYYY-MM-DDTHH:MMZ``: unique per pair, side and signal candle."""
        c = self.candle
        return (f"{self.pair}|{self.side}|{c.year:04d}-{c.month:02d}-{c.day:02d}"
                f"T{c.hour:02d}:{c.minute:02d}Z")


def trade_signal_id(pair: str, trade_id: int) -> str:
    """The signal id given to a trade that carries none (opened before the plugin ran, or by
    hand): its outcome is recorded under it, never learned, because no signal matches it.

    >>> trade_signal_id("BTC/USDT", 7)
    'BTC/USDT|trade:7'
    """
    return f"{pair}{TRADE_MARK}{trade_id}"


def signal_pair(signal_id: str) -> str:
    """The pair a signal id names, whichever form it has (a signal's or a trade's).

    >>> signal_pair("BTC/USDT|long|2024-01-01T00:00Z"), signal_pair(trade_signal_id("ETH/USDT", 7))
    ('BTC/USDT', 'ETH/USDT')
    """
    return signal_id.split("|", 1)[0]


def keeps_learners(learned: FeedbackSettings, wanted: FeedbackSettings) -> bool:
    """Whether learners (and the guard's evidence) built under ``learned`` settings can serve
    ``wanted`` ones: the same model, parameters, scope, seed, labels (the guard's roles
    depend on them) and guard on or off. Thresholds,
    stakes, exploration and the guard's counts and levels may change and keep them.

    >>> keeps_learners(FeedbackSettings(), FeedbackSettings(threshold=0.6))
    True
    >>> keeps_learners(FeedbackSettings(), FeedbackSettings(scope="pair"))
    False
    """
    return (
        learned.learner == wanted.learner
        and dict(learned.learner_params) == dict(wanted.learner_params)
        and learned.scope == wanted.scope
        and learned.guarded == wanted.guarded
        and learned.labels == wanted.labels
        and learned.seed == wanted.seed
        and (PAIR_INPUT in learned.features) == (PAIR_INPUT in wanted.features)
    )


@dataclass(frozen=True)
class Decision:
    """The gate's verdict on a signal, with what is needed to evaluate it without bias later."""

    signal_id: str
    take: bool
    reason: DecisionReason
    probability: float | None
    """The model's probability of a win; ``None`` when the model was not asked."""
    propensity: float
    """Probability that the gate takes a signal like this one (1 for a sure take)."""
    decided_at: datetime
    trained_on: int = 0
    """Outcomes the deciding learner had learned: the audit trail of "learned before now"."""
    edge: Edge | None = None
    """The expected profit the ``expected_profit`` rule weighed (with the sizes it used);
    ``None`` under the probability rule or before sizes exist."""


@dataclass
class _Open:
    signal: Signal
    decision: Decision
    clean: bool


@dataclass
class _Closed:
    """A closed trade whose outcome the gate may not know yet (see ``FeedbackLoop``)."""

    visible: datetime
    opened: _Open
    outcome: RealizedOutcome


def _uniform(seed: int, key: str) -> float:
    """A coin flip in [0, 1) fixed by seed and signal: the same signal gets the same flip in
    every run and every subset of pairs, which a sequential RNG could not promise."""
    digest = hashlib.blake2b(f"{seed}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _next_open(now: datetime, candle: timedelta) -> datetime:
    """The open of the candle after the one ``now`` falls in (candles aligned to the epoch,
    as Freqtrade's are).

    >>> from datetime import UTC
    >>> _next_open(datetime(2024, 1, 1, 10, 3, tzinfo=UTC), timedelta(minutes=5)).time()
    datetime.time(10, 5)
    >>> _next_open(datetime(2024, 1, 1, 10, 5, tzinfo=UTC), timedelta(minutes=5)).time()
    datetime.time(10, 10)
    """
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    return now - (now - epoch) % candle + candle


def _finite(features: Features | None) -> bool:
    if not features:
        return False
    for value in features.values():  # a loop, not all(generator): this runs for every signal
        if not math.isfinite(value):
            return False
    return True


class FeedbackLoop:
    """Gate entry signals with an online learner that learns from every signal's outcome.

    A taken signal is learned from its trade's realized outcome, a skipped one from its shadow
    outcome (``labels: "all"``; ``"realized"`` learns only the trades taken).

    **When an outcome reaches the gate.** A simulated exit is stamped with the open time of the
    candle in which it happened, although it happened during that candle, and an entry at that
    open could not have known it. With ``candle`` set (backtests and hyperopt), a closed trade
    is therefore recorded at once and learned, observed by the guard and counted in the sizes
    only from the open of the next candle. Shadow outcomes are released after their candle
    closed already. Live (``candle`` ``None``) an outcome is known when its exit fill arrives.
    That makes one learner for all pairs causal: no pair's entry learns from a trade that was
    still open at its candle's open.

    Parameters
    ----------
    settings
        Validated settings (all defaults when ``None``).
    candle
        The candle length of a simulation, or ``None`` live (see above).

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> loop = FeedbackLoop(FeedbackSettings(min_outcomes=2))
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> signal = Signal("BTC/USDT", t0, features={"rsi": 0.2})
    >>> decision = loop.on_signal(signal, now=t0)
    >>> decision.take, decision.reason.value
    (True, 'cold_start')
    >>> outcome = loop.on_trade_closed(signal.signal_id, profit_ratio=0.012,
    ...                                now=t0 + timedelta(hours=2), exit_reason="roi")
    >>> outcome.win, outcome.status.value, loop.n_learned
    (True, 'learned', 1)
    """

    def __init__(self, settings: FeedbackSettings | None = None, *,
                 candle: timedelta | None = None) -> None:
        self._settings = settings or FeedbackSettings()
        self.candle = candle
        self._reset()

    def _reset(self) -> None:
        self._learners: dict[str, OnlineLearner] = {}
        self._sizes: dict[str, OutcomeSizes] = {}
        self._decisions: dict[str, Decision] = {}
        self._open: dict[str, _Open] = {}
        self._skipped: dict[str, _Open] = {}
        self._closed: deque[_Closed] = deque()
        self._outcomes: dict[str, RealizedOutcome] = {}
        self._shadows: dict[str, ShadowRecord] = {}
        self._features: dict[str, Features] = {}
        self._supervisor: Supervisor | None = None
        if self._settings.guarded:
            from freqtrade_feedback.supervisor import Supervisor  # the guard's detectors

            self._supervisor = Supervisor(self._settings, self._new_learner)

    @property
    def settings(self) -> FeedbackSettings:
        """The settings the loop runs with; only :meth:`reconfigure` changes them."""
        return self._settings

    def reconfigure(self, settings: FeedbackSettings) -> bool:
        """Run with ``settings`` from now on; whether what was learned is kept.

        It is kept when the learners can serve the new settings (:func:`keeps_learners`):
        the decisions and the guard follow the new values at once (a new ``guard.alpha``
        starts the detectors afresh). Otherwise the loop starts over, as if new.
        """
        if settings == self._settings:
            return True
        keep = keeps_learners(self._settings, settings)
        self._settings = settings
        if not keep:
            self._reset()
        elif self._supervisor is not None:
            self._supervisor.reconfigure(settings)
        return keep

    def _new_learner(self) -> OnlineLearner:
        s = self._settings
        return OnlineLearner(s.learner, s.learner_params, seed=s.seed)

    def _key(self, pair: str) -> str:
        return pair if self._settings.scope == "pair" else GLOBAL_SCOPE

    def reset(self) -> None:
        """Forget everything learned and decided: a new backtest or hyperopt epoch starts here."""
        self._reset()

    # -- reading -------------------------------------------------------------------------

    @property
    def decisions(self) -> list[Decision]:
        return list(self._decisions.values())

    @property
    def outcomes(self) -> list[RealizedOutcome]:
        return list(self._outcomes.values())

    @property
    def shadows(self) -> list[ShadowRecord]:
        return list(self._shadows.values())

    @property
    def n_learned(self) -> int:
        """Outcomes learned: realized ones and, with ``labels: "all"``, shadow ones."""
        return (sum(o.learned for o in self._outcomes.values())
                + sum(r.learned for r in self._shadows.values()))

    def sizes_for(self, pair: str) -> OutcomeSizes:
        """The sizes of wins and losses that weigh ``pair``'s signals (per learner)."""
        key = self._key(pair)
        sizes = self._sizes.get(key)
        if sizes is None:
            sizes = self._sizes[key] = OutcomeSizes()
        return sizes

    def learner_for(self, pair: str) -> OnlineLearner:
        """The learner that learns for ``pair`` (one per pair, or one shared: ``scope``).

        Without the guard it also decides; with the guard it is the challenger.
        """
        return self._learner_by_key(self._key(pair))

    def decider_for(self, pair: str) -> OnlineLearner:
        """The learner whose probability gates ``pair``: the champion when the guard is on."""
        if self._supervisor is not None:
            return self._supervisor.decider(self._key(pair))
        return self.learner_for(pair)

    @property
    def guard_state(self) -> str:
        """``learning``, ``suspect``, ``frozen``, ``probation``, or ``off`` without a guard."""
        return "off" if self._supervisor is None else self._supervisor.state.value

    @property
    def supervisor(self) -> Supervisor | None:
        return self._supervisor

    def decision(self, signal_id: str) -> Decision | None:
        return self._decisions.get(signal_id)

    # -- events --------------------------------------------------------------------------

    def on_signal(self, signal: Signal, *, now: datetime) -> Decision:
        """Decide on a signal. Asking again about the same signal returns the same decision,
        because Freqtrade asks twice (stake, then confirmation) and live it asks every loop."""
        known = self._decisions.get(signal.signal_id)
        if known is not None:
            return known
        self.tick(now)
        decision = self._decide(signal, now)
        self._decisions[signal.signal_id] = decision
        clean = _finite(signal.features)
        if decision.take:
            self._open[signal.signal_id] = _Open(signal, decision, clean)
        elif clean and self._settings.labels == "all":
            self._skipped[signal.signal_id] = _Open(signal, decision, clean)
        if self._supervisor is not None:
            clean = signal.features if _finite(signal.features) else None
            if clean:
                self._features[signal.signal_id] = clean
            model = decision.reason in (DecisionReason.MODEL, DecisionReason.EXPLORE)
            self._supervisor.observe_decision(clean, model, decision.take)
        return decision

    def _decide(self, signal: Signal, now: datetime) -> Decision:
        s = self._settings
        sid = signal.signal_id
        if not s.enabled:
            return Decision(sid, True, DecisionReason.DISABLED, None, 1.0, now)
        learner = self.decider_for(signal.pair)
        n = learner.n_learned
        if not _finite(signal.features):
            take = s.fallback == "take"
            return Decision(sid, take, DecisionReason.BAD_FEATURES, None, float(take), now, n)
        x = self.model_input(signal.pair, signal.features)  # type: ignore[arg-type]
        if self._supervisor is None:
            p = learner.predict_proba_one(x)[True]
        else:  # remembered: the guard asks again about this signal at its outcomes
            p = self._supervisor.win_probability(learner, sid, x)
        guarded = self._guarded_decision(sid, p, now, n)
        if guarded is not None:
            return guarded
        edge = self.sizes_for(signal.pair).edge(p) if s.rule == "expected_profit" else None
        if edge is not None and self._supervisor is not None:
            if cost := self._supervisor.execution_cost:
                edge = edge.charged(cost)
        if self.learner_for(signal.pair).n_learned < s.min_outcomes:
            return Decision(sid, True, DecisionReason.COLD_START, p, 1.0, now, n, edge)
        if self._worth_taking(p, edge):
            return Decision(sid, True, DecisionReason.MODEL, p, 1.0, now, n, edge)
        if _uniform(s.seed, sid) < s.explore_share:
            return Decision(sid, True, DecisionReason.EXPLORE, p, s.explore_share, now, n, edge)
        return Decision(sid, False, DecisionReason.MODEL, p, s.explore_share, now, n, edge)

    def _worth_taking(self, p: float, edge: Edge | None) -> bool:
        """The decision rule: P(win) against ``threshold``, or the expected profit against
        ``min_edge`` with ``skip_confidence`` standard errors of benefit of the doubt (no
        sizes yet, no doubt to weigh: taken)."""
        s = self._settings
        if s.rule == "probability":
            return p >= s.threshold
        return edge is None or edge.value + s.skip_confidence * edge.error >= s.min_edge

    def model_input(self, pair: str, features: Features) -> ModelInput:
        """What the learner reads for a signal: its features, and its pair as a categorical
        when the ``"pair"`` feature set is on (a shared learner can then tell pairs apart)."""
        if PAIR_INPUT in self._settings.features:
            return {**features, PAIR_INPUT: pair}
        return features

    def _guarded_decision(self, sid: str, p: float, now: datetime, n: int) -> Decision | None:
        """The holdout coin flip, and the primary strategy alone while frozen."""
        if self._supervisor is None:
            return None
        g = self._settings.guard
        if _uniform(self._settings.seed, f"holdout|{sid}") < g.holdout_share:
            return Decision(sid, True, DecisionReason.HOLDOUT, p, 1.0, now, n)
        if g.frozen_policy == "primary" and self._supervisor.state is GuardState.FROZEN:
            return Decision(sid, True, DecisionReason.FROZEN, p, 1.0, now, n)
        return None

    def error_decision(self, signal_id: str, *, now: datetime) -> Decision:
        """Record the fallback decision taken when the adapter could not reach a decision."""
        take = self._settings.fallback == "take"
        decision = Decision(signal_id, take, DecisionReason.ERROR, None, float(take), now)
        self._decisions.setdefault(signal_id, decision)
        return self._decisions[signal_id]

    def stake_factor(self, decision: Decision) -> float:
        """How much of the proposed stake a taken signal gets: the holdout's reduced stake, the
        confidence-scaled one when stake scaling is on, else 1."""
        s = self._settings
        if not decision.take:
            return 1.0
        if decision.reason is DecisionReason.HOLDOUT:
            return s.guard.holdout_stake
        if not s.stake_scaling:
            return 1.0
        if decision.reason is DecisionReason.EXPLORE:
            return s.stake_factor_min
        if decision.probability is None or decision.reason is not DecisionReason.MODEL:
            return 1.0
        if s.rule == "probability":
            factor = decision.probability / max(s.threshold, 1e-9)
        elif decision.edge is None or decision.edge.loss_size >= 0:
            factor = 1.0
        else:  # an expected profit of one mean loss above the bar doubles the stake
            factor = 1.0 + (decision.edge.value - s.min_edge) / -decision.edge.loss_size
        return min(s.stake_factor_max, max(s.stake_factor_min, factor))

    def adopt(self, signal: Signal, decision: Decision) -> None:
        """Take back a signal decided before a restart, so its trade is learned when it closes.

        The loop restored from a checkpoint may be older than the decision; the ledger kept
        both. A signal the loop already knows is left as it is.
        """
        if signal.signal_id in self._decisions:
            return
        self._decisions[signal.signal_id] = decision
        if decision.take:
            self._open[signal.signal_id] = _Open(signal, decision, _finite(signal.features))

    def relearn(self, key: str, pair: str, features: Features, *, profit_ratio: float,
                win: bool, weight: float) -> int:
        """Learn an outcome again, from the ledger, on top of a restored checkpoint; returns
        how many outcomes that learner has learned. ``key`` is the learner's (a pair, or
        ``"*"`` for the global scope): see ``learner_key``."""
        learner = self._learner_by_key(key)
        learner.learn_one(self.model_input(pair, features), win, w=weight)
        self.sizes_for(pair).learn_one(profit_ratio, win)
        return learner.n_learned

    def learner_key(self, pair: str) -> str:
        """The key of the learner that learns for ``pair``, as the ledger records it."""
        return self._key(pair)

    def _learner_by_key(self, key: str) -> OnlineLearner:
        if self._supervisor is not None:
            return self._supervisor.challenger(key)
        learner = self._learners.get(key)
        if learner is None:
            learner = self._learners[key] = self._new_learner()
        return learner

    def forget_settled(self, *, before: datetime) -> int:
        """Let go of signals decided before ``before`` whose trade is not open: their decision,
        outcome, shadow record and features. Returns how many.

        In dry-run and live the loop would otherwise keep every signal of a weeks-long run in
        memory and in every checkpoint; the ledger keeps them all. Learners and the guard are
        untouched: what was learned stays learned. A shadow outcome that arrives for a
        forgotten signal is still recorded, without features, so the guard does not see it.
        """
        old = [sid for sid, d in self._decisions.items()
               if d.decided_at < before and sid not in self._open]
        for sid in old:
            del self._decisions[sid]
            self._outcomes.pop(sid, None)
            self._shadows.pop(sid, None)
            self._features.pop(sid, None)
            self._skipped.pop(sid, None)
        if self._supervisor is not None:
            self._supervisor.forget(old)
        return len(old)

    def forget_signal(self, signal_id: str) -> None:
        """The entry never filled (timeout, cancel): no outcome will come for this signal."""
        self._open.pop(signal_id, None)

    def on_trade_closed(
        self,
        signal_id: str,
        *,
        profit_ratio: float,
        now: datetime,
        exit_reason: str = "",
        pair: str | None = None,
        trade_id: int | None = None,
        exit_order_id: str | None = None,
    ) -> RealizedOutcome:
        """Record a closed trade's realized outcome and learn from it when it is learnable.

        Trades close out of order and several are open at once, so the outcome is matched
        to its signal by id. Every outcome is recorded; one that cannot be learned carries
        the reason. A second report of the same signal returns the first record unchanged:
        never ``None``, which the events protocol allows (:mod:`.events`).
        ``exit_order_id`` is the journal's key; the loop has no use for it.
        """
        known = self._outcomes.get(signal_id)
        if known is not None:
            return known
        self.tick(now)
        opened = self._open.pop(signal_id, None)
        status = self._status(opened, profit_ratio, exit_reason)
        win = is_win(profit_ratio, self._settings.min_profit)
        weight = outcome_weight(profit_ratio, self._settings.sample_weight)
        pair = opened.signal.pair if opened else (pair or signal_pair(signal_id))
        outcome = RealizedOutcome(
            signal_id, pair, profit_ratio, win, weight, now, exit_reason, status, trade_id
        )
        if status is LearnStatus.LEARNED and opened is not None:
            if self.candle is None:
                outcome = self._learn_realized(opened, outcome)
            else:
                outcome = replace(outcome, status=LearnStatus.PENDING)
                self._closed.append(_Closed(_next_open(now, self.candle), opened, outcome))
        self._outcomes[signal_id] = outcome
        self._step(now)
        return outcome

    def tick(self, now: datetime) -> None:
        """Let the gate know the trades that closed in candles before the one open at
        ``now`` (a simulation's clock; live there is nothing held back)."""
        closed = self._closed
        while closed and closed[0].visible <= now:
            held = closed.popleft()
            self._outcomes[held.outcome.signal_id] = self._learn_realized(held.opened,
                                                                          held.outcome)
            self._step(now)

    def _learn_realized(self, opened: _Open, outcome: RealizedOutcome) -> RealizedOutcome:
        """Show a learnable closed trade to the guard, then learn it unless the guard froze."""
        if not self._supervise_realized(opened, outcome.profit_ratio, outcome.win):
            return replace(outcome, status=LearnStatus.QUARANTINED)
        self._learn(opened.signal, outcome.profit_ratio, outcome.win, outcome.weight)
        return replace(outcome, status=LearnStatus.LEARNED)

    def _learn(self, signal: Signal, profit_ratio: float, win: bool, weight: float) -> None:
        x = self.model_input(signal.pair, signal.features)  # type: ignore[arg-type]
        self.learner_for(signal.pair).learn_one(x, win, w=weight)
        self.sizes_for(signal.pair).learn_one(profit_ratio, win)

    def _supervise_realized(self, opened: _Open, profit_ratio: float, win: bool) -> bool:
        """Feed the guard a closed trade; whether the challenger may learn from it."""
        if self._supervisor is None:
            return True
        signal, decision = opened.signal, opened.decision
        return self._supervisor.observe_realized(
            self._key(signal.pair), signal.signal_id, signal.features,  # type: ignore[arg-type]
            self.model_input(signal.pair, signal.features),  # type: ignore[arg-type]
            win, profit_ratio, self.stake_factor(decision),
            decision.reason is DecisionReason.HOLDOUT,
        )

    def _step(self, now: datetime) -> None:
        if self._supervisor is not None:
            self._supervisor.step(now=now, min_outcomes=self._settings.min_outcomes)

    @staticmethod
    def _status(opened: _Open | None, profit_ratio: float, exit_reason: str) -> LearnStatus:
        if opened is None:
            return LearnStatus.UNKNOWN_SIGNAL
        if exit_reason == "force_exit":
            return LearnStatus.FORCE_EXIT
        if not opened.clean:
            return LearnStatus.BAD_FEATURES
        if not math.isfinite(profit_ratio):
            return LearnStatus.BAD_PROFIT
        return LearnStatus.LEARNED

    def on_shadow(
        self, signal_id: str, *, profit_ratio: float, now: datetime, pair: str | None = None
    ) -> ShadowRecord:
        """Record a signal's shadow outcome (its triple barrier was touched by ``now``).

        The guard evaluates on every shadow outcome (the unbiased stream). With ``labels:
        "all"`` a skipped signal is learned from it (unless the guard is frozen); a taken one
        is learned from its trade instead. A second report of the same signal returns the
        first record.
        """
        known = self._shadows.get(signal_id)
        if known is not None:
            return known
        self.tick(now)
        decision = self._decisions.get(signal_id)
        record = ShadowRecord(
            signal_id=signal_id,
            pair=pair or signal_pair(signal_id),
            profit_ratio=profit_ratio,
            win=is_win(profit_ratio, self._settings.min_profit),
            observed_at=now,
            taken=bool(decision and decision.take),
            probability=decision.probability if decision else None,
            weight=outcome_weight(profit_ratio, self._settings.sample_weight),
        )
        features = self._features.pop(signal_id, None)
        if self._supervisor is not None and features is not None:
            self._supervisor.observe_shadow(
                self._key(record.pair), signal_id,
                self.model_input(record.pair, features), record.win, profit_ratio, record.taken,
            )
        skipped = self._skipped.pop(signal_id, None)
        if skipped is not None and math.isfinite(profit_ratio) and (
            self._supervisor is None or self._supervisor.learning_allowed
        ):
            self._learn(skipped.signal, profit_ratio, record.win, record.weight)
            record = replace(record, learned=True)
        self._shadows[signal_id] = record
        if self._supervisor is not None and (features is not None or record.learned):
            self._step(now)
        return record

    def summary(self) -> dict[str, int]:
        """Counts for logs and reports."""
        decisions = self._decisions.values()
        outcomes = self._outcomes.values()
        return {
            "signals": len(self._decisions),
            "taken": sum(d.take for d in decisions),
            "skipped": sum(not d.take for d in decisions),
            "explored": sum(d.reason is DecisionReason.EXPLORE for d in decisions),
            "outcomes": len(self._outcomes),
            "learned": sum(o.learned for o in outcomes),
            "shadows_learned": sum(r.learned for r in self._shadows.values()),
            "not_learned": sum(not o.learned for o in outcomes),
            "open": len(self._open),
            "shadows": len(self._shadows),
        }
