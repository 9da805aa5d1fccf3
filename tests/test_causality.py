"""Decisions at a candle's open use only outcomes that closed in earlier candles.

A simulated exit is stamped with the open time of the candle it happened in; an entry at that
same open could not have known it. The loop holds such an outcome until the next candle, for
every pair, so one learner shared by all pairs is causal. Checked here on the loop alone, and
as an audit of a real backtest: every decision's learner count equals the outcomes visible at
its time, no more.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import STRATEGIES

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.loop import FeedbackLoop, Signal

FIVE = timedelta(minutes=5)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _signal(pair: str, at: datetime, x: float = 0.5) -> Signal:
    return Signal(pair, at - FIVE, features={"x": x})


def test_a_trade_closed_in_a_candle_reaches_the_gate_at_the_next_candle() -> None:
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=0), candle=FIVE)
    first = _signal("BTC/USDT", T0)
    loop.on_signal(first, now=T0)
    closed_at = T0 + 3 * FIVE
    outcome = loop.on_trade_closed(first.signal_id, profit_ratio=0.01, now=closed_at)
    assert not outcome.learned and outcome.status.value == "pending"
    same_candle = loop.on_signal(_signal("ETH/USDT", closed_at), now=closed_at)
    assert same_candle.trained_on == 0  # another pair's entry at that open: not yet known
    later = closed_at + FIVE
    next_candle = loop.on_signal(_signal("SOL/USDT", later), now=later)
    assert next_candle.trained_on == 1
    assert loop.outcomes[0].learned and loop.n_learned == 1


def test_live_an_outcome_is_known_when_its_exit_fill_arrives() -> None:
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=0))
    first = _signal("BTC/USDT", T0)
    loop.on_signal(first, now=T0)
    closed_at = T0 + 3 * FIVE + timedelta(seconds=40)
    assert loop.on_trade_closed(first.signal_id, profit_ratio=0.01, now=closed_at).learned
    after = closed_at + timedelta(seconds=20)
    assert loop.on_signal(_signal("ETH/USDT", after), now=after).trained_on == 1


def _visible_at(outcome: Any, candle: timedelta) -> datetime:
    """When a realized outcome may reach the gate: the open after its exit candle's."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    closed = outcome.closed_at
    return closed - (closed - epoch) % candle + candle


CLOCKWORK = '''
from FeedbackSampleStrategy import FeedbackSampleStrategy


class Clockwork(FeedbackSampleStrategy):
    """Every trade lasts an hour; BTC and SOL enter at even hours, ETH at odd ones: each hour
    one pair's exit falls on the candle another pair enters at."""

    minimal_roi = {"0": 10.0, "60": -1.0}
    stoploss = -0.99

    def populate_entry_trend(self, dataframe, metadata):
        odd = metadata["pair"] == "ETH/USDT"
        dates = dataframe["date"]
        signal = (dates.dt.minute == 55) & ((dates.dt.hour + 1) % 2 == int(odd))
        dataframe.loc[signal, ["enter_long", "enter_tag"]] = (1, "clock")
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        return dataframe
'''


@pytest.fixture(scope="module")
def clockwork(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clockwork")
    shutil.copy2(STRATEGIES / "FeedbackSampleStrategy.py", folder)
    (folder / "Clockwork.py").write_text(CLOCKWORK)
    return folder


@pytest.mark.parametrize("scope", ["global", "pair"])
def test_every_decision_of_a_backtest_learned_only_from_earlier_candles(
    scope: str, backtest: Any, clockwork: Path
) -> None:
    """A real backtest (three pairs, labels from every signal) in which exits and other pairs'
    entries share candles all day: at each decision the deciding learner had learned exactly
    the outcomes that closed before its candle opened (realized ones from the candle after
    their exit, shadow ones when released). The TA features, which need no candles but the
    pair's own. Without the guard, whose frozen champion would decide on fewer outcomes by
    design."""
    run = backtest("20240110-20240125", strategy="Clockwork", strategy_path=clockwork,
                   scope=scope, min_outcomes=5, features=["ta", "pair"],
                   guard={"enabled": False})
    loop = run.loop
    closes = {o.closed_at: o.pair for o in loop.outcomes}
    shared = sum(closes.get(d.decided_at, d.signal_id.split("|", 1)[0])
                 != d.signal_id.split("|", 1)[0] for d in loop.decisions)
    assert shared > 50, "no exit shares a candle with another pair's entry: nothing is tested"
    learned = [(o.pair, _visible_at(o, FIVE)) for o in loop.outcomes if o.learned]
    learned += [(s.pair, s.observed_at) for s in loop.shadows if s.learned]
    model_decisions = 0
    for decision in loop.decisions:
        pair = decision.signal_id.split("|", 1)[0]
        known = sum(at <= decision.decided_at and (scope == "global" or p == pair)
                    for p, at in learned)
        assert decision.trained_on == known, decision
        model_decisions += decision.reason.value == "model"
    assert model_decisions > 20 and len(learned) > 50
