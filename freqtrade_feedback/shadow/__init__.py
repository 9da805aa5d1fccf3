"""Shadow outcomes: what every signal that reached the gate would have earned, taken or not.

Each signal is replayed on the candles after it with the strategy's own exit rules (ROI
table, stoploss, a time limit), as a triple barrier with fees, and its outcome is released
only once the candle that touched a barrier has closed. Two paths, one rule
(:meth:`Barriers.touch`):

- live, :class:`ShadowBook` resolves pending signals as candles close;
- in a backtest, :class:`ShadowSchedule` computes outcomes ahead, vectorised, and holds them
  until their release time.
"""

from __future__ import annotations

from freqtrade_feedback.shadow.barriers import Barrier, Barriers
from freqtrade_feedback.shadow.book import ShadowBook
from freqtrade_feedback.shadow.outcome import ShadowOutcome
from freqtrade_feedback.shadow.schedule import ShadowSchedule

__all__ = ["Barrier", "Barriers", "ShadowBook", "ShadowOutcome", "ShadowSchedule"]
