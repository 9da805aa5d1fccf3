"""FeedbackLoop driven directly, as the lab does: decisions, outcomes, matching, fallbacks."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.labels import LearnStatus
from freqtrade_feedback.loop import DecisionReason, FeedbackLoop, Signal

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def _signal(i: int, pair: str = "BTC/USDT", good: bool = True) -> Signal:
    return Signal(pair, T0 + timedelta(minutes=5 * i), features={"x": 1.0 if good else -1.0})


def _train(loop: FeedbackLoop, n: int, pair: str = "BTC/USDT", start: int = 0) -> None:
    """n trades whose outcome is a win exactly when x is positive."""
    for i in range(start, start + n):
        signal = _signal(i, pair, good=i % 2 == 0)
        decision = loop.on_signal(signal, now=signal.candle)
        if decision.take:
            loop.on_trade_closed(signal.signal_id, profit_ratio=0.01 if i % 2 == 0 else -0.01,
                                 now=signal.candle + timedelta(minutes=1))


def test_cold_start_takes_every_signal() -> None:
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=10))
    _train(loop, 10)
    assert all(d.take and d.reason is DecisionReason.COLD_START for d in loop.decisions)
    assert loop.n_learned == 10


def test_after_min_outcomes_the_gate_skips_losers_and_takes_winners() -> None:
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=10, explore_share=0.0))
    _train(loop, 200)
    good = loop.on_signal(_signal(1000, good=True), now=T0)
    bad = loop.on_signal(_signal(1001, good=False), now=T0)
    assert good.take and good.reason is DecisionReason.MODEL and good.probability > 0.5
    assert not bad.take and bad.reason is DecisionReason.MODEL and bad.probability < 0.5
    assert bad.trained_on == loop.n_learned


def test_exploration_takes_a_share_of_skips_with_their_propensity() -> None:
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=10, explore_share=0.1, seed=7))
    _train(loop, 100)
    decisions = [loop.on_signal(_signal(i, good=False), now=T0) for i in range(1000, 5000)]
    explored = [d for d in decisions if d.reason is DecisionReason.EXPLORE]
    assert 0.08 < len(explored) / len(decisions) < 0.12
    assert all(d.take and d.propensity == 0.1 for d in explored)
    assert all(d.propensity == 0.1 for d in decisions if not d.take)


def test_exploration_flip_is_fixed_by_seed_and_signal() -> None:
    """The same signal gets the same flip whatever else the loop saw before it."""
    settings = FeedbackSettings(min_outcomes=0, threshold=1.0, explore_share=0.5, seed=3)
    alone, busy = FeedbackLoop(settings), FeedbackLoop(settings)
    for i in range(50):
        busy.on_signal(_signal(i, "ETH/USDT"), now=T0)
    for i in range(50):
        assert alone.on_signal(_signal(i), now=T0).take == busy.on_signal(_signal(i), now=T0).take


def test_outcomes_close_out_of_order_and_match_by_id() -> None:
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=100))
    signals = [_signal(i) for i in range(5)]
    for s in signals:
        loop.on_signal(s, now=s.candle)
    for s, profit in zip(reversed(signals), (0.05, -0.02, 0.01, -0.03, 0.02), strict=True):
        loop.on_trade_closed(s.signal_id, profit_ratio=profit, now=T0 + timedelta(hours=1))
    by_id = {o.signal_id: o for o in loop.outcomes}
    assert by_id[signals[4].signal_id].profit_ratio == 0.05
    assert by_id[signals[0].signal_id].profit_ratio == 0.02
    assert loop.n_learned == 5
    assert loop.summary()["open"] == 0


def test_a_repeated_close_is_recorded_and_learned_once() -> None:
    loop = FeedbackLoop()
    s = _signal(0)
    loop.on_signal(s, now=T0)
    first = loop.on_trade_closed(s.signal_id, profit_ratio=0.01, now=T0)
    again = loop.on_trade_closed(s.signal_id, profit_ratio=-0.5, now=T0 + timedelta(hours=1))
    assert again is first
    assert loop.n_learned == 1


def test_asking_twice_about_a_signal_returns_the_same_decision() -> None:
    loop = FeedbackLoop()
    s = _signal(0)
    assert loop.on_signal(s, now=T0) is loop.on_signal(s, now=T0 + timedelta(seconds=5))
    assert len(loop.decisions) == 1


@pytest.mark.parametrize(
    ("profit", "exit_reason", "known", "status"),
    [
        (0.01, "roi", True, LearnStatus.LEARNED),
        (0.01, "force_exit", True, LearnStatus.FORCE_EXIT),
        (math.nan, "roi", True, LearnStatus.BAD_PROFIT),
        (0.01, "roi", False, LearnStatus.UNKNOWN_SIGNAL),
    ],
)
def test_every_outcome_is_recorded_with_its_status(
    profit: float, exit_reason: str, known: bool, status: LearnStatus
) -> None:
    loop = FeedbackLoop()
    s = _signal(0)
    if known:
        loop.on_signal(s, now=T0)
    outcome = loop.on_trade_closed(s.signal_id, profit_ratio=profit, now=T0,
                                   exit_reason=exit_reason, trade_id=7)
    assert outcome.status is status
    assert outcome.trade_id == 7 and outcome.pair == "BTC/USDT"
    assert loop.outcomes == [outcome]
    assert loop.n_learned == (1 if status is LearnStatus.LEARNED else 0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("fallback", ["take", "skip"])
def test_non_finite_features_never_reach_the_learner(bad: float, fallback: str) -> None:
    loop = FeedbackLoop(FeedbackSettings(fallback=fallback))  # type: ignore[arg-type]
    s = Signal("BTC/USDT", T0, features={"x": 1.0, "volume_ratio": bad})
    decision = loop.on_signal(s, now=T0)
    assert decision.reason is DecisionReason.BAD_FEATURES
    assert decision.take is (fallback == "take")
    if decision.take:
        outcome = loop.on_trade_closed(s.signal_id, profit_ratio=0.01, now=T0)
        assert outcome.status is LearnStatus.BAD_FEATURES
    assert loop.n_learned == 0


def test_missing_features_go_to_the_fallback() -> None:
    loop = FeedbackLoop(FeedbackSettings(fallback="skip"))
    decision = loop.on_signal(Signal("BTC/USDT", T0, features=None), now=T0)
    assert not decision.take and decision.reason is DecisionReason.BAD_FEATURES


def test_scope_pair_keeps_learners_apart_and_global_shares_one() -> None:
    per_pair = FeedbackLoop(FeedbackSettings(scope="pair"))
    shared = FeedbackLoop(FeedbackSettings(scope="global"))
    for loop in (per_pair, shared):
        _train(loop, 20, "BTC/USDT")
    assert per_pair.learner_for("ETH/USDT").n_learned == 0
    assert shared.learner_for("ETH/USDT").n_learned == 20


def test_disabled_takes_everything_and_learns_nothing() -> None:
    loop = FeedbackLoop(FeedbackSettings(enabled=False))
    _train(loop, 50)
    assert all(d.take and d.reason is DecisionReason.DISABLED for d in loop.decisions)


def test_reset_forgets_everything() -> None:
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=5))
    _train(loop, 30)
    loop.reset()
    assert loop.n_learned == 0 and loop.decisions == [] and loop.outcomes == []


def test_error_decision_applies_the_fallback_once() -> None:
    loop = FeedbackLoop(FeedbackSettings(fallback="skip"))
    first = loop.error_decision("BTC/USDT|long|2024-01-01T00:00Z", now=T0)
    assert not first.take and first.reason is DecisionReason.ERROR
    assert loop.error_decision("BTC/USDT|long|2024-01-01T00:00Z", now=T0) is first


def test_stake_factor_follows_confidence_within_bounds() -> None:
    settings = FeedbackSettings(stake_scaling=True, threshold=0.5, min_outcomes=10,
                                stake_factor_min=0.5, stake_factor_max=1.5, explore_share=0.0)
    loop = FeedbackLoop(settings)
    _train(loop, 200)
    good = loop.on_signal(_signal(1000, good=True), now=T0)
    assert loop.stake_factor(good) == pytest.approx(min(1.5, good.probability / 0.5))
    cold = FeedbackLoop(settings).on_signal(_signal(0), now=T0)
    assert FeedbackLoop(settings).stake_factor(cold) == 1.0
    assert FeedbackLoop(FeedbackSettings()).stake_factor(good) == 1.0


def test_shadow_outcomes_are_recorded_for_every_signal_and_with_realized_labels_never_learned(
) -> None:
    for threshold, taken in ((0.0, True), (1.0, False)):
        loop = FeedbackLoop(FeedbackSettings(min_outcomes=0, threshold=threshold,
                                             explore_share=0.0, rule="probability",
                                             labels="realized"))
        loop.learner_for("BTC/USDT").learn_one({"x": 1.0}, True)
        signal = _signal(0)
        assert loop.on_signal(signal, now=T0).take is taken
        record = loop.on_shadow(signal.signal_id, profit_ratio=-0.01, now=T0 + FIVE)
        assert record.taken is taken and not record.win and record.probability is not None
        assert loop.on_shadow(signal.signal_id, profit_ratio=5.0, now=T0) is record
        assert loop.learner_for("BTC/USDT").n_learned == 1 and loop.summary()["shadows"] == 1


def test_with_labels_from_every_signal_a_skipped_signal_learns_its_shadow_a_taken_one_its_trade(
) -> None:
    """``labels: "all"`` (the default): the learner is not blind to what it skips."""
    for threshold, taken in ((0.0, True), (1.0, False)):
        loop = FeedbackLoop(FeedbackSettings(min_outcomes=0, threshold=threshold,
                                             explore_share=0.0, rule="probability"))
        loop.learner_for("BTC/USDT").learn_one({"x": 1.0}, True)
        signal = _signal(0)
        assert loop.on_signal(signal, now=T0).take is taken
        record = loop.on_shadow(signal.signal_id, profit_ratio=-0.01, now=T0 + FIVE)
        assert record.learned is not taken and record.taken is taken
        assert loop.learner_for("BTC/USDT").n_learned == (1 if taken else 2)
        assert loop.sizes_for("BTC/USDT").n == (0 if taken else 1)
        assert loop.n_learned == (0 if taken else 1)  # the learn_one by hand is not an outcome
        if taken:
            outcome = loop.on_trade_closed(signal.signal_id, profit_ratio=-0.02, now=T0 + FIVE)
            assert outcome.learned and loop.learner_for("BTC/USDT").n_learned == 2


def test_a_forgotten_signal_gets_no_learned_outcome() -> None:
    """The entry never happened (vetoed after the stake decision, or never filled)."""
    loop = FeedbackLoop()
    signal = _signal(0)
    loop.on_signal(signal, now=T0)
    loop.forget_signal(signal.signal_id)
    assert loop.summary()["open"] == 0
    outcome = loop.on_trade_closed(signal.signal_id, profit_ratio=0.01, now=T0)
    assert outcome.status is LearnStatus.UNKNOWN_SIGNAL and loop.n_learned == 0


def test_settings_change_only_through_reconfigure() -> None:
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=10))
    with pytest.raises(AttributeError):
        loop.settings = FeedbackSettings()  # type: ignore[misc]


def test_reconfigure_keeps_the_learners_for_a_new_threshold_and_starts_over_for_a_new_scope(
) -> None:
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=10))
    _train(loop, 40)
    learned, decided = loop.n_learned, len(loop.decisions)
    assert loop.reconfigure(FeedbackSettings(min_outcomes=10, threshold=0.7))
    assert loop.settings.threshold == 0.7
    assert (loop.n_learned, len(loop.decisions)) == (learned, decided) and learned > 0
    assert not loop.reconfigure(FeedbackSettings(min_outcomes=10, scope="pair"))
    assert loop.settings.scope == "pair"
    assert (loop.n_learned, loop.decisions) == (0, [])


def test_reconfigure_hands_the_guard_its_new_counts_and_alpha() -> None:
    guarded = FeedbackSettings(min_outcomes=10, guard=GuardSettings(enabled=True))
    loop = FeedbackLoop(guarded)
    _train(loop, 40)
    supervisor = loop.supervisor
    assert supervisor is not None
    coverage = supervisor.detectors["coverage"]
    learned = loop.n_learned
    tighter = GuardSettings(enabled=True, cooldown=7, suspect_dwell=3, probation=9)
    assert loop.reconfigure(FeedbackSettings(min_outcomes=10, guard=tighter))
    assert loop.supervisor is supervisor and supervisor.settings.guard.cooldown == 7
    assert "suspect_dwell=3, cooldown=7, probation=9 outcomes" in supervisor.short_desc()
    assert supervisor.detectors["coverage"] is coverage  # same alpha: evidence kept
    stricter = GuardSettings(enabled=True, alpha=0.05)
    assert loop.reconfigure(FeedbackSettings(min_outcomes=10, guard=stricter))
    paired = supervisor.detectors["paired_loss"]
    assert paired.alpha == 0.05 and paired.n == 0  # type: ignore[attr-defined]
    assert supervisor.detectors["coverage"] is not coverage
    assert loop.n_learned == learned
