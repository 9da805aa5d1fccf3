"""In Freqtrade's real backtesting, a taken trade's shadow is the trade itself: same exit, same
profit. The sample strategy exits on ROI, stoploss and its exit signal (RSI above 70). Every
signal gets a shadow with the gate on and the guard off.

A time limit no trade reaches (30 days) is set: the shadows' own time limit is the one rule
Freqtrade's trades do not have.

The strategy's signals reach the shadows through ``FeedbackAdapter.advised``, which the
mixin's ``advise_exit`` calls (after Freqtrade's, in every mode); without that call the
shadows see no exit signals and the first test fails on the exit-signal trades.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from freqtrade_feedback.benchmarks.shadow import every_signal
from freqtrade_feedback.metrics import shadow_agreement

TIMERANGE = "20240101-20240301"
FIVE = timedelta(minutes=5)


@pytest.fixture(scope="module")
def sample_run(backtest: Callable[..., Any]) -> Any:
    return backtest(TIMERANGE, **every_signal(max_candles=8_640))  # every signal taken


def test_every_taken_trade_has_its_shadow_to_the_last_digit(sample_run: Any) -> None:
    loop = sample_run.loop
    reasons = set(sample_run.trades["exit_reason"])
    assert {"roi", "stop_loss", "exit_signal"} <= reasons, reasons
    decisions = {d.signal_id for d in loop.decisions}
    shadows = {s.signal_id: s for s in loop.shadows}
    assert len(shadows) >= len(decisions) - 3  # the last signals' exits lie past the data
    summary = shadow_agreement(loop)
    assert summary["shadow_pairs"] >= len(sample_run.trades) - 3
    assert summary["shadow_agreement"] == 1.0 and summary["shadow_mean_abs_gap"] < 1e-9


def test_shadows_are_released_after_their_exit_candle_closed(sample_run: Any) -> None:
    """A shadow is observed no earlier than the close of its trade's exit candle: an exit
    signal's trade exits at the open of the candle after the signal, and is known once that
    candle has closed."""
    trades = sample_run.trades
    exit_close = {
        f"{t.pair}|long|{t.open_date - FIVE:%Y-%m-%dT%H:%MZ}": t.close_date + FIVE
        for t in trades.itertuples() if t.exit_reason != "force_exit"
    }
    shadows = [s for s in sample_run.loop.shadows if s.signal_id in exit_close]
    assert len(shadows) >= len(trades) - 3
    assert all(s.observed_at >= exit_close[s.signal_id] for s in shadows)
