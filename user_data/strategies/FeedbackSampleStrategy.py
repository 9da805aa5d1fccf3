"""A real TA-Lib strategy gated by freqtrade-feedback.

The primary strategy is an ordinary mean-reversion-in-an-uptrend idea: buy an oversold dip
(RSI and the lower Bollinger band) while the slower trend points up, exit on ROI, stoploss or
an overbought RSI. ``FeedbackMixin`` adds the learner: every closed trade trains it, and it
decides which of these entry signals to take. Delete the mixin from the bases and it is the
plain strategy again.

Hyperopt tunes the primary (space ``buy``: RSI level, Bollinger window) and, through the
mixin, the gate and the guard (space ``feedback``); see ``docs/hyperopt.md``::

    freqtrade-feedback offline hyperopt --config user_data/config.json \
        --strategy FeedbackSampleStrategy --spaces buy feedback \
        --hyperopt-loss SharpeHyperOptLoss -e 50

    freqtrade-feedback offline backtesting --config user_data/config.json \
        --strategy FeedbackSampleStrategy --cache none
"""

from __future__ import annotations

import talib.abstract as ta
from freqtrade.strategy import IntParameter, IStrategy
from pandas import DataFrame

from freqtrade_feedback import FeedbackMixin


class FeedbackSampleStrategy(FeedbackMixin, IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = False

    minimal_roi = {"0": 0.02, "60": 0.01, "180": 0.004}
    stoploss = -0.025
    trailing_stop = False

    process_only_new_candles = True
    use_exit_signal = True
    exit_profit_only = False
    startup_candle_count = 200

    buy_rsi = IntParameter(22, 40, default=32, space="buy")
    buy_bb_window = IntParameter(14, 30, default=20, space="buy")

    plot_config = {
        "main_plot": {"bb_lower": {"color": "grey"}, "ema_fast": {}, "ema_slow": {}},
        "subplots": {"RSI": {"rsi": {"color": "purple"}}},
    }
    """The mixin adds its ``feedback`` subplot (probability and guard state) to this."""

    order_types = {
        "entry": "market",
        "exit": "market",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        # One band per window hyperopt may ask for (only the chosen one outside hyperopt).
        for window in self.buy_bb_window.range:
            bands = ta.BBANDS(dataframe, timeperiod=window, nbdevup=2.0, nbdevdn=2.0)
            dataframe[f"bb_lower_{window}"] = bands["lowerband"]
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=50)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=150)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["bb_lower"] = dataframe[f"bb_lower_{self.buy_bb_window.value}"]
        dip = (dataframe["rsi"] < self.buy_rsi.value) & (dataframe["close"] < dataframe["bb_lower"])
        uptrend = dataframe["ema_fast"] > dataframe["ema_slow"]
        dataframe.loc[dip & uptrend & (dataframe["volume"] > 0), ["enter_long", "enter_tag"]] = (
            1,
            "dip_in_uptrend",
        )
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[(dataframe["rsi"] > 70) & (dataframe["volume"] > 0), "exit_long"] = 1
        return dataframe
