"""Shadow outcomes: what every signal that reached the gate would have earned, taken or not.

Each signal, long or short, with its leverage, is replayed on the candles after it with the
strategy's own exits, as Freqtrade's backtesting applies them (exit signals, stoploss, ROI
table, in that order within a candle, with fees), plus a time limit of our own; its outcome
is released only once the candle it exits on has closed. Two paths, one rule
(:meth:`Position.touch`):

- live, :class:`ShadowBook` resolves pending signals as candles close;
- in a backtest, :class:`ShadowSchedule` computes outcomes ahead, vectorised, and holds them
  until their release time.
"""

from __future__ import annotations

from freqtrade_feedback.shadow.barriers import Barrier, Barriers, Position
from freqtrade_feedback.shadow.book import ShadowBook
from freqtrade_feedback.shadow.candles import Candles, SignalBit, candles
from freqtrade_feedback.shadow.outcome import ShadowOutcome
from freqtrade_feedback.shadow.schedule import ShadowSchedule, ShadowSignal

__all__ = [
    "Barrier",
    "Barriers",
    "Candles",
    "Position",
    "ShadowBook",
    "ShadowOutcome",
    "ShadowSchedule",
    "ShadowSignal",
    "SignalBit",
    "candles",
]
