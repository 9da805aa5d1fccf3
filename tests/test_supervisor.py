"""The guarded loop: holdout, champion and challenger, quarantine while frozen."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest
from guard_market import T0, drive, drive_worse_challenger

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.guard.periodic_alarm import PeriodicAlarm
from freqtrade_feedback.guard.states import GuardState, Role, Rollback, Transition, Trigger
from freqtrade_feedback.guard.wiring import WIRING
from freqtrade_feedback.labels import LearnStatus
from freqtrade_feedback.loop import DecisionReason, FeedbackLoop


def _loop(**guard: object) -> FeedbackLoop:
    return FeedbackLoop(FeedbackSettings(
        min_outcomes=20, scope="global", guard=GuardSettings(enabled=True, **guard)))


def test_holdout_is_a_seeded_share_at_a_reduced_stake() -> None:
    loop = _loop(holdout_share=0.1, holdout_stake=0.4)
    drive(loop, 2000)
    decisions = loop.decisions
    holdout = [d for d in decisions if d.reason is DecisionReason.HOLDOUT]
    assert 0.08 < len(holdout) / len(decisions) < 0.12
    assert all(d.take and loop.stake_factor(d) == 0.4 for d in holdout)
    again = _loop(holdout_share=0.1, holdout_stake=0.4)
    drive(again, 2000)
    assert [d.reason for d in again.decisions] == [d.reason for d in decisions]


def test_the_challenger_gates_while_learning_and_the_champion_once_frozen() -> None:
    loop = _loop(cooldown=10_000)
    drive(loop, 600)
    supervisor = loop.supervisor
    assert supervisor is not None and supervisor.promotions >= 1
    challenger = loop.learner_for("LAB/USDT")
    champion = supervisor.champion(loop.learner_key("LAB/USDT"))
    assert champion is not challenger
    assert challenger.n_learned >= champion.n_learned >= 20
    assert loop.decider_for("LAB/USDT") is challenger  # LEARNING: as without a guard
    supervisor.fire(Trigger.MANUAL_FREEZE, now=T0 + timedelta(days=30), reason="operator")
    assert loop.decider_for("LAB/USDT") is champion
    model = [d for d in loop.decisions if d.reason is DecisionReason.MODEL]
    assert model and any(not d.take for d in model)


def test_frozen_guard_quarantines_outcomes_and_primary_policy_takes_all() -> None:
    loop = _loop(frozen_policy="primary", cooldown=10_000)
    drive(loop, 300)
    supervisor = loop.supervisor
    assert supervisor is not None
    supervisor._guard.fire(Trigger.MANUAL_FREEZE, now=T0, reason="operator")
    learned = loop.learner_for("LAB/USDT").n_learned
    drive(loop, 200, seed=1, start=300)
    assert loop.guard_state == GuardState.FROZEN.value
    assert loop.learner_for("LAB/USDT").n_learned == learned
    late = [o for o in loop.outcomes if o.closed_at > T0 + timedelta(hours=305)]
    assert late and all(o.status is LearnStatus.QUARANTINED for o in late)
    frozen = [d for d in loop.decisions if d.reason is DecisionReason.FROZEN]
    assert frozen and all(d.take for d in frozen)


def test_our_own_impact_freezes_the_guard() -> None:
    """Realized outcomes worse than the shadow in proportion to stake: the learner would be
    learning its own market impact."""
    loop = _loop()
    drive(loop, 300)
    assert loop.guard_state != "frozen"
    drive(loop, 700, seed=2, impact=0.01, start=300)
    reasons = " ".join(t.reason for t in loop.supervisor.transitions)  # type: ignore[union-attr]
    assert any(t.target is GuardState.FROZEN for t in loop.supervisor.transitions)  # type: ignore[union-attr]
    assert "execution_gap" in reasons or "own_impact" in reasons


def test_a_freeze_on_our_own_impact_charges_its_measured_cost_until_the_thaw() -> None:
    """Issue 12, decision 2: paying for impact is not the bias. While the impact freeze lasts,
    the gate weighs each signal's expected profit less the measured cost per unit of stake
    (here 0.004: fills 0.4% worse per unit of stake than the candles)."""
    loop = _loop(cooldown=100, probation=50)
    drive(loop, 300)
    supervisor = loop.supervisor
    assert supervisor is not None and supervisor.execution_cost == 0.0
    drive(loop, 700, seed=2, impact=0.004, start=300)
    freezes = [t for t in supervisor.transitions if t.target is GuardState.FROZEN]
    assert freezes and {"execution_gap", "own_impact"} & set(freezes[0].values)
    charged = [d for d in loop.decisions if d.edge is not None and d.edge.cost > 0]
    costs = [d.edge.cost for d in charged]  # type: ignore[union-attr]
    assert costs and max(costs) < 0.0045 and 0.0035 < costs[-1]  # the window fills with them
    first = charged[0]
    assert first.decided_at >= freezes[0].at
    edge, p = first.edge, first.probability
    assert edge is not None and p is not None
    gross = p * edge.win_size + (1 - p) * edge.loss_size
    assert edge.value == pytest.approx(gross - edge.cost)
    supervisor.fire(Trigger.MANUAL_UNFREEZE, now=T0 + timedelta(days=60), reason="operator")
    assert supervisor.execution_cost == 0.0  # the evidence is no longer acted on


def test_a_freeze_on_other_evidence_charges_nothing() -> None:
    loop = _loop(cooldown=10_000)
    drive(loop, 300)
    supervisor = loop.supervisor
    assert supervisor is not None
    supervisor.fire(Trigger.MANUAL_FREEZE, now=T0, reason="operator")
    drive(loop, 100, seed=1, impact=0.004, start=300)
    assert supervisor.execution_cost == 0.0
    assert all(d.edge is None or d.edge.cost == 0.0 for d in loop.decisions)


def test_without_the_guard_nothing_changes() -> None:
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=20, scope="global",
                                         guard=GuardSettings(enabled=False)))
    drive(loop, 300)
    assert loop.guard_state == "off" and loop.supervisor is None
    assert loop.decider_for("LAB/USDT") is loop.learner_for("LAB/USDT")


def test_lab_guard_is_quiet_when_nothing_is_wrong_and_freezes_on_self_fulfilling() -> None:
    """Pinned on three seeds of the bias lab (the full table is `freqtrade-feedback lab`)."""
    from freqtrade_feedback.lab.run import run_scenario
    from freqtrade_feedback.lab.scenarios import SCENARIOS

    for seed in range(3):
        quiet = run_scenario(SCENARIOS["stationary"](seed=seed), "guarded", seed)
        assert quiet.freezes == ()
        biased = run_scenario(SCENARIOS["self_fulfilling"](seed=seed), "guarded", seed)
        onset = biased.onset_trade
        assert onset is not None and biased.freezes and min(biased.freezes) >= onset


def test_a_win_probability_is_reused_only_while_the_model_is_unchanged() -> None:
    supervisor = _loop().supervisor
    assert supervisor is not None
    learner = supervisor.challenger("*")
    calls = []
    predict = learner.predict_proba_one
    learner.predict_proba_one = lambda x: calls.append(x) or predict(x)  # type: ignore[method-assign]
    x = {"a": 0.5, "b": -1.0}
    first = supervisor.win_probability(learner, "s1", x)
    assert supervisor.win_probability(learner, "s1", x) == first and len(calls) == 1
    learner.learn_one(x, True)
    assert supervisor.win_probability(learner, "s1", x) == predict(x)[True] and len(calls) == 2
    del learner.predict_proba_one
    copy = pickle.loads(pickle.dumps(learner))  # a copy gets its own state: never shared
    assert copy.state is not None and copy.state is not learner.state


def test_a_batch_is_read_once_at_its_end() -> None:
    """``update_many`` (how a row with ``every`` > 1 is fed): the flags are read after the
    last observation of a batch only, and an alarm read there resets the next batch first.
    PeriodicAlarm(period=4) alarms at its 4th update since a reset; read every 3rd, it is
    seen alarmed at 6 (then reset), and at 12."""
    detector = PeriodicAlarm(period=4)
    seen = []
    for start in range(0, 15, 3):
        detector.update_many([(i,) for i in range(start, start + 3)])
        seen.append((detector.n, detector.alarm))
    assert seen == [(3, False), (6, True), (3, False), (6, True), (3, False)]


def test_a_batch_of_one_is_an_update() -> None:
    one, batched = PeriodicAlarm(period=3, warmup=1), PeriodicAlarm(period=3, warmup=1)
    for i in range(20):
        one.update(i)
        batched.update_many([(i,)])
        assert (batched.n, batched.statistic, batched.alarm) == (one.n, one.statistic, one.alarm)


def test_a_worse_challenger_is_rolled_back_and_the_rollback_is_reported_loud() -> None:
    loop = _loop()
    drive(loop, 300)
    supervisor = loop.supervisor
    assert supervisor is not None and supervisor.promotions >= 1 and supervisor.rollbacks == 0
    drive_worse_challenger(loop, 400, start=300)
    rollbacks = [r for r in supervisor.reports if isinstance(r, Rollback)]
    assert supervisor.rollbacks == len(rollbacks) >= 1
    rollback = rollbacks[0]
    assert rollback.loud and "paired_loss" in rollback.values
    assert " rollback: the challenger is worse than the champion" in str(rollback)
    assert "PairedLoss: statistic=" in rollback.reason
    freeze = supervisor.reports[supervisor.reports.index(rollback) - 1]  # the same step
    assert isinstance(freeze, Transition) and freeze.at == rollback.at
    assert freeze.target is GuardState.FROZEN and "alarm from paired_loss" in freeze.reason


def test_reports_hold_every_move_and_each_says_if_it_is_loud() -> None:
    loop = _loop()
    drive(loop, 100)
    supervisor = loop.supervisor
    assert supervisor is not None
    for trigger in (Trigger.WARNING, Trigger.CLEAR, Trigger.MANUAL_FREEZE,
                    Trigger.COOLDOWN_ELAPSED, Trigger.PROBATION_PASSED):
        supervisor.fire(trigger, now=T0, reason="operator")
    assert [(r.target.value, r.loud) for r in supervisor.reports] == [  # type: ignore[union-attr]
        ("suspect", False), ("learning", False), ("frozen", True), ("probation", False),
        ("learning", True)]
    assert supervisor.reports == supervisor.transitions


def test_warn_only_detectors_are_a_role_of_the_table_not_a_wrapper() -> None:
    supervisor = _loop().supervisor
    assert supervisor is not None
    detectors = supervisor.detectors
    assert [n for n, r in zip(detectors, (w.role for w in WIRING), strict=True)
            if r is Role.WARN] == ["self_fit_gap", "calibration", "coverage"]
    assert {type(d).__name__ for d in detectors.values()} == {
        "AcceptanceCollapse", "SelfFitGap", "PairedLoss", "ExecutionGap", "OwnImpact",
        "Calibration", "Coverage"}
    assert "calibration (Calibration, warns only)" in supervisor.short_desc()
    assert "paired_loss (PairedLoss)" in supervisor.short_desc()


def test_reports_are_counted_past_the_history_kept() -> None:
    """The adapter reports what is new by a count that only grows: after more reports than
    the supervisor keeps (256), new ones are still found."""
    loop = _loop()
    supervisor = loop.supervisor
    assert supervisor is not None
    for i in range(150):
        supervisor.fire(Trigger.MANUAL_FREEZE, now=T0 + timedelta(minutes=2 * i), reason="a")
        supervisor.fire(Trigger.MANUAL_UNFREEZE, now=T0 + timedelta(minutes=2 * i + 1),
                        reason="b")
    assert supervisor.n_reports == 300 and len(supervisor.reports) < 300
    seen = supervisor.n_reports
    assert supervisor.new_reports(seen) == ()
    supervisor.fire(Trigger.MANUAL_FREEZE, now=T0 + timedelta(days=1), reason="later")
    (new,) = supervisor.new_reports(seen)
    assert isinstance(new, Transition) and new.reason == "later" and new.loud
