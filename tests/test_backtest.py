"""The plugin inside the real Freqtrade backtesting engine, on real Binance candles (the
project's seeded synthetic market where ``../shared/data`` is absent: the same assertions)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, STRATEGIES
from freqtrade.exceptions import OperationalException

from freqtrade_feedback.adapter import FeedbackAdapter
from freqtrade_feedback.labels import LearnStatus
from freqtrade_feedback.loop import DecisionReason

TIMERANGE = "20240101-20240301"
GATE = {"min_outcomes": 20}
FIVE_MINUTES = timedelta(minutes=5)


@pytest.fixture(scope="module")
def gated(backtest: Callable[..., Any]) -> Any:
    return backtest(TIMERANGE, **GATE)


def _trades(run: Any) -> list[tuple]:
    t = run.trades
    return list(zip(t["pair"], t["open_date"], t["close_date"], t["profit_ratio"], strict=True))


def test_one_outcome_per_closed_trade_recorded_when_it_closed(gated: Any) -> None:
    """Every closed trade reaches the loop once, at its close, with Freqtrade's own profit;
    it is learned from the next candle on (one that closed in the last candle stays
    pending). The expected-profit gate skips most of this strategy's signals: 50 trades, not
    the 100 of the probability rule."""
    outcomes = {o.signal_id: o for o in gated.loop.outcomes}
    last_candle = max(d.decided_at for d in gated.loop.decisions)
    # the market features need a week of the market pair's candles: the data starts at 01-01
    unfeatured = {d.signal_id for d in gated.loop.decisions
                  if d.reason is DecisionReason.BAD_FEATURES}
    assert len(gated.trades) > 50
    assert len(outcomes) == len(gated.trades)
    for trade in gated.trades.itertuples():
        sid = f"{trade.pair}|long|{(trade.open_date - FIVE_MINUTES):%Y-%m-%dT%H:%M}Z"
        outcome = outcomes[sid]
        assert outcome.closed_at == trade.close_date
        assert outcome.profit_ratio == pytest.approx(trade.profit_ratio, abs=1e-8)
        if trade.exit_reason == "force_exit":
            assert outcome.status is LearnStatus.FORCE_EXIT
        elif sid in unfeatured:
            assert outcome.status is LearnStatus.BAD_FEATURES
        elif outcome.closed_at >= last_candle:
            assert outcome.status in (LearnStatus.LEARNED, LearnStatus.PENDING)
        else:
            assert outcome.status is LearnStatus.LEARNED


def test_the_learner_never_sees_an_outcome_before_its_trade_closed(gated: Any) -> None:
    """Each decision was made by the (shared) learner trained on exactly the outcomes known by
    then: trades that closed in an earlier candle, and shadow outcomes already released (see
    also tests/test_causality.py)."""
    learned = [o.closed_at + FIVE_MINUTES for o in gated.loop.outcomes if o.learned]
    learned += [s.observed_at for s in gated.loop.shadows if s.learned]
    assert len(learned) > 100
    for decision in gated.loop.decisions:
        known = sum(at <= decision.decided_at for at in learned)
        assert decision.trained_on == known, decision


def test_after_min_outcomes_the_gate_skips_some_signals(gated: Any) -> None:
    decisions = gated.loop.decisions
    skipped = [d for d in decisions if not d.take]
    assert skipped, "the gate never skipped a signal"
    assert all(d.trained_on >= GATE["min_outcomes"] for d in skipped)
    assert all(d.take for d in decisions if d.trained_on < GATE["min_outcomes"])
    assert any(d.reason is DecisionReason.EXPLORE for d in decisions)


def test_the_same_backtest_twice_gives_identical_trades(
    backtest: Callable[..., Any], gated: Any
) -> None:
    again = backtest(TIMERANGE, **GATE)
    assert _trades(again) == _trades(gated)
    assert again.loop.decisions == gated.loop.decisions


def test_gate_off_is_the_primary_strategy(backtest: Callable[..., Any], gated: Any) -> None:
    primary = backtest(TIMERANGE, enabled=False)
    assert len(primary.trades) > len(gated.trades)
    assert primary.loop.decisions == [] and primary.loop.outcomes == []


def test_truncating_the_data_leaves_earlier_decisions_unchanged(
    backtest: Callable[..., Any], gated: Any
) -> None:
    """Causality: nothing decided before t may depend on candles after t."""
    truncated = backtest("20240101-20240205", **GATE)
    cut = truncated.trades["open_date"].max()
    before = {d.signal_id: d for d in gated.loop.decisions if d.decided_at < cut}
    after_cut = {d.signal_id: d for d in truncated.loop.decisions if d.decided_at < cut}
    assert len(before) > 50
    assert after_cut == before
    skipped = [d for d in before.values() if not d.take]
    assert skipped, "the gate was not active before the cut, so the check proves nothing"


def test_truncating_the_data_leaves_earlier_decisions_unchanged_per_pair(
    backtest: Callable[..., Any]
) -> None:
    """The same causality check with one learner per pair (``scope: "pair"``)."""
    full = backtest(TIMERANGE, scope="pair", **GATE)
    truncated = backtest("20240101-20240205", scope="pair", **GATE)
    cut = truncated.trades["open_date"].max()
    before = {d.signal_id: d for d in full.loop.decisions if d.decided_at < cut}
    after_cut = {d.signal_id: d for d in truncated.loop.decisions if d.decided_at < cut}
    assert len(before) > 50 and after_cut == before
    assert any(not d.take for d in before.values()), "the gate never skipped before the cut"


def _write_strategy(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(STRATEGIES / "FeedbackSampleStrategy.py", folder)
    (folder / f"{name}.py").write_text(
        "from FeedbackSampleStrategy import FeedbackSampleStrategy\n\n\n"
        f"class {name}(FeedbackSampleStrategy):\n{body}"
    )
    return folder


def _raise(error: Exception) -> Callable[..., Any]:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise error
    return broken


@pytest.mark.parametrize("fallback", ["take", "skip"])
def test_an_error_in_the_gate_applies_the_fallback_and_logs_once(
    backtest: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, fallback: str,
) -> None:
    timerange = "20240101-20240115"
    with monkeypatch.context() as patch, caplog.at_level(logging.WARNING,
                                                         logger="freqtrade_feedback"):
        patch.setattr(FeedbackAdapter, "signal", _raise(RuntimeError("model exploded")))
        broken = backtest(timerange, fallback=fallback, **GATE)
    primary = backtest(timerange, enabled=False)
    failures = [r for r in caplog.records if "gate failed" in r.getMessage()]
    assert len(failures) == 1 and "model exploded" in failures[0].getMessage()
    assert all(d.reason is DecisionReason.ERROR for d in broken.loop.decisions)
    if fallback == "take":
        assert _trades(broken) == _trades(primary)
    else:
        assert len(broken.trades) == 0 and len(primary.trades) > 0


def test_nan_features_go_to_the_fallback_and_are_recorded_not_learned(
    backtest: Callable[..., Any], tmp_path: Path
) -> None:
    folder = _write_strategy(tmp_path, "FlakyFeature", (
        "    def populate_indicators(self, dataframe, metadata):\n"
        "        dataframe = super().populate_indicators(dataframe, metadata)\n"
        "        dataframe['fb_flaky'] = dataframe['rsi'].where(dataframe['rsi'] > 27)\n"
        "        return dataframe\n"
    ))
    run = backtest("20240101-20240201", "FlakyFeature", folder, **GATE)
    bad = {d.signal_id for d in run.loop.decisions if d.reason is DecisionReason.BAD_FEATURES}
    assert bad and len(bad) < len(run.loop.decisions)
    for outcome in run.loop.outcomes:
        if outcome.signal_id in bad:
            assert outcome.status is (LearnStatus.FORCE_EXIT if outcome.exit_reason == "force_exit"
                                      else LearnStatus.BAD_FEATURES)
    realized = sum(o.learned for o in run.loop.outcomes)
    assert run.loop.n_learned == realized + sum(s.learned for s in run.loop.shadows)
    assert realized > 0


def test_a_feature_column_the_strategy_does_not_produce_stops_the_run(
    backtest: Callable[..., Any],
) -> None:
    with pytest.raises(OperationalException, match=r"'fb_nope' is not in the dataframe of \w+"):
        backtest("20240101-20240105", feature_columns=["fb_rsi", "fb_nope"])


def test_an_invalid_feedback_section_stops_the_run_naming_the_key(
    backtest: Callable[..., Any],
) -> None:
    with pytest.raises(OperationalException, match="'feedback.threshold' parameter must be"):
        backtest("20240101-20240105", threshold=3)


def test_stake_scaling_sizes_taken_trades_by_confidence(backtest: Callable[..., Any]) -> None:
    run = backtest("20240101-20240201", stake_scaling=True, min_outcomes=10)
    stakes = run.trades["stake_amount"].round(6)
    base = 100.0
    # Freqtrade rounds the amount to the market's precision, so allow a hair below the bounds.
    assert stakes.min() >= 0.5 * base * 0.999 and stakes.max() <= 1.5 * base * 1.001
    assert (stakes != base).any(), "no trade was scaled"
    cold = [d for d in run.loop.decisions if d.reason is DecisionReason.COLD_START]
    assert len(cold) >= 10


def test_an_error_while_recording_an_outcome_never_touches_trading(
    backtest: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    timerange = "20240101-20240115"
    with monkeypatch.context() as patch, caplog.at_level(logging.WARNING,
                                                         logger="freqtrade_feedback"):
        patch.setattr(FeedbackAdapter, "trade_closed", _raise(KeyError("ledger gone")))
        broken = backtest(timerange, min_outcomes=1000)
    primary = backtest(timerange, enabled=False)
    failures = [r for r in caplog.records if "not recorded" in r.getMessage()]
    assert len(failures) == 1 and "ledger gone" in failures[0].getMessage()
    assert _trades(broken) == _trades(primary)
    assert broken.loop.outcomes == [] and broken.loop.n_learned == 0


def test_guarded_backtest_records_shadows_for_every_signal_without_lookahead(
    backtest: Callable[..., Any],
) -> None:
    """With the guard on, every signal gets a shadow outcome from the strategy's own exits,
    released only after its touch candle closed, and taken trades agree with it (at least 97%
    of them on win or loss; the expected-profit gate takes 50 or more here)."""
    from freqtrade_feedback.metrics import guard_summary

    run = backtest(TIMERANGE, guard={"enabled": True, "holdout_share": 0.05}, **GATE)
    loop = run.loop
    decisions = {d.signal_id: d for d in loop.decisions}
    shadows = loop.shadows
    assert len(shadows) >= len(decisions) - 10  # the last few signals' windows run past the end
    for shadow in shadows:
        signal_candle = decisions[shadow.signal_id].decided_at
        assert shadow.observed_at > signal_candle  # known only after the entry candle closed
    summary = guard_summary(loop)
    assert summary["guard"] in {"learning", "suspect", "frozen", "probation"}
    assert summary["shadow_pairs"] > 50 and summary["shadow_agreement"] >= 0.97
    assert summary["promotions"] >= 1
    holdout = [d for d in loop.decisions if d.reason is DecisionReason.HOLDOUT]
    assert holdout and all(d.take for d in holdout)


def test_a_bot_that_failed_before_bot_start_cleans_up_without_the_plugin(
    candles_5m: Path, user_data: Path,
) -> None:
    """Freqtrade calls ft_bot_cleanup after a failed start too: no adapter, nothing to do."""
    from freqtrade.resolvers import StrategyResolver

    from freqtrade_feedback.backtest import backtest_config

    config = backtest_config(CONFIG, strategy="FeedbackSampleStrategy", datadir=candles_5m,
                             strategy_path=STRATEGIES, user_data_dir=user_data)
    strategy = StrategyResolver.load_strategy(config)
    strategy.ft_bot_cleanup()
    strategy.ft_bot_start()
    assert strategy.feedback_loop.decisions == []
    strategy.ft_bot_cleanup()
