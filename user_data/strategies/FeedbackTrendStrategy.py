"""A plain 1h trend follower gated by freqtrade-feedback: the value report's winning strategy.

Buy when the 20-hour EMA crosses above the 100-hour EMA while the close is above the 200-hour
EMA; exit when the fast EMA falls back below the slow one, or at an 8% stoploss. No ROI
table: a trend follower lets its winners run. It wins few of its trades (about a quarter)
and earns on the few long trends, which makes it the yardstick of ``benchmark --value``
(docs/value.md): a gate must not cut the rare big winners that carry a strategy that works.

    freqtrade-feedback offline backtesting --config user_data/config.json \
        --strategy FeedbackTrendStrategy --timeframe 1h --cache none
"""

from __future__ import annotations

import talib.abstract as ta
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from freqtrade_feedback import FeedbackMixin


class FeedbackTrendStrategy(FeedbackMixin, IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = False

    minimal_roi: dict = {}  # no ROI exits: Freqtrade's way to switch the table off
    stoploss = -0.08
    trailing_stop = False

    process_only_new_candles = True
    use_exit_signal = True
    exit_profit_only = False
    startup_candle_count = 200

    plot_config = {"main_plot": {"ema_fast": {}, "ema_slow": {}, "ema_trend": {}}}

    order_types = {
        "entry": "market",
        "exit": "market",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=20)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=100)
        dataframe["ema_trend"] = ta.EMA(dataframe, timeperiod=200)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        fast, slow = dataframe["ema_fast"], dataframe["ema_slow"]
        cross_up = (fast > slow) & (fast.shift(1) <= slow.shift(1))
        uptrend = dataframe["close"] > dataframe["ema_trend"]
        dataframe.loc[cross_up & uptrend & (dataframe["volume"] > 0),
                      ["enter_long", "enter_tag"]] = (1, "ema_cross_up")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["ema_fast"] < dataframe["ema_slow"], "exit_long"] = 1
        return dataframe
