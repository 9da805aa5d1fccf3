"""Futures end to end: a strategy that goes long and short at 3x leverage, in Freqtrade's real
backtesting with the plugin on. Every signal's shadow is simulated on its own side with the
trade's leverage, so a taken trade's shadow is the trade: same profit, same sign.

The candles are spot candles saved under Freqtrade's futures names (``futures/<BASE>_USDT_USDT
-5m-futures.feather``), with mark candles resampled from them and funding rates of zero (the
shadows leave funding fees out; with zero funding the realized trades have none either).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, PAIRS

from freqtrade_feedback.benchmarks.shadow import every_signal, fidelity, futures_candles, verdict

TIMERANGE = "20240101-20240301"
FIVE = timedelta(minutes=5)
FUTURES_PAIRS = [f"{pair}:USDT" for pair in PAIRS]
STRATEGY = '''
import talib.abstract as ta
from freqtrade.strategy import IStrategy

from freqtrade_feedback import FeedbackMixin


class ShortingFeedbackStrategy(FeedbackMixin, IStrategy):
    """Fades RSI extremes both ways at 3x: long when oversold, short when overbought."""

    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = True
    minimal_roi = {"0": 0.03, "60": 0.015, "240": 0.006}
    stoploss = -0.06
    use_exit_signal = False
    startup_candle_count = 50
    order_types = {"entry": "limit", "exit": "limit", "stoploss": "market",
                   "stoploss_on_exchange": False}

    def populate_indicators(self, dataframe, metadata):
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe.loc[dataframe["rsi"] < 22, "enter_long"] = 1
        dataframe.loc[dataframe["rsi"] > 78, "enter_short"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        return dataframe

    def leverage(self, pair, current_time, current_rate, proposed_leverage, max_leverage,
                 entry_tag, side, **kwargs):
        return 3.0
'''


@pytest.fixture(scope="module")
def futures_data(candles_5m: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 5m candles under Freqtrade's futures names, with 1h mark candles and zero funding."""
    datadir = tmp_path_factory.mktemp("futures_data")
    assert futures_candles(candles_5m, PAIRS, "5m", datadir) == FUTURES_PAIRS
    return datadir


@pytest.fixture(scope="module")
def futures_run(futures_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    from freqtrade_feedback.backtest import backtest_config, run_backtest

    strategies = tmp_path_factory.mktemp("futures_strategies")
    (strategies / "ShortingFeedbackStrategy.py").write_text(STRATEGY, encoding="utf-8")
    config = backtest_config(
        CONFIG, strategy="ShortingFeedbackStrategy", datadir=futures_data, timerange=TIMERANGE,
        strategy_path=strategies, user_data_dir=tmp_path_factory.mktemp("futures_user_data"),
        overrides={
            "trading_mode": "futures", "margin_mode": "isolated", "max_open_trades": 10,
            "fee": 0.0004,  # a futures taker fee; the shadows take the config's fee too
            "exchange": {"name": "binance", "pair_whitelist": FUTURES_PAIRS,
                         "pair_blacklist": []},
            # Every signal taken; a time limit no trade reaches (30 days).
            "feedback": every_signal(max_candles=8_640),
        },
    )
    return run_backtest(config), config


def test_short_and_long_shadows_are_the_trades_they_shadow(futures_run: tuple[Any, Any]) -> None:
    run, config = futures_run
    trades, loop = run.trades, run.loop
    assert set(trades["leverage"]) == {3.0} and set(trades["fee_open"]) == {0.0004}
    shorts = int(trades["is_short"].sum())
    assert shorts >= 20 and len(trades) - shorts >= 20
    shadows = {s.signal_id: s for s in loop.shadows}
    realized = {o.signal_id: o for o in loop.outcomes if o.exit_reason != "force_exit"}
    assert len(realized) >= len(trades) - 3
    sides = {sid.split("|")[1] for sid in realized}
    assert sides == {"long", "short"}
    for signal_id, outcome in realized.items():
        assert shadows[signal_id].profit_ratio == pytest.approx(outcome.profit_ratio, abs=1e-9)
    row = fidelity(run, config)
    assert (row["mode"], row["timeframe"], row["shorts"]) == ("futures", "5m", shorts)
    assert row["shadow_agreement"] == 1.0 and row["shadow_mean_abs_gap"] < 1e-9
    assert verdict(row) == "PASS"


def test_a_short_shadow_wins_when_the_price_falls(futures_run: tuple[Any, Any]) -> None:
    """The sign, from the prices: a short's shadow is positive exactly when the exit price
    lies below the entry price by more than the fees."""
    run, _ = futures_run
    trades = run.trades[run.trades["exit_reason"] != "force_exit"]
    shadows = {s.signal_id: s for s in run.loop.shadows}
    shorts = trades[trades["is_short"]]
    fee = float(shorts["fee_open"].iloc[0])
    for trade in shorts.itertuples():
        signal_id = f"{trade.pair}|short|{trade.open_date - FIVE:%Y-%m-%dT%H:%MZ}"
        falls = trade.close_rate * (1 + fee) < trade.open_rate * (1 - fee)
        assert (shadows[signal_id].profit_ratio > 0) == falls, trade
    assert len(shorts) >= 20
