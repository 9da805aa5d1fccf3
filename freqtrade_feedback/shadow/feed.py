"""One front for both shadow paths, chosen once by run mode.

A backtest has every candle already: :class:`ShadowSchedule` computes each signal's outcome
when the signal arrives and holds it until its exit candle has closed. Live, candles arrive
one by one: :class:`ShadowBook` resolves pending signals as they close. The adapter calls the
same methods in both modes; only what happens inside differs.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from freqtrade_feedback.shadow.barriers import Barriers
from freqtrade_feedback.shadow.book import ShadowBook
from freqtrade_feedback.shadow.candles import SIGNAL_COLUMNS, Candles, price_decimals, signal_bits
from freqtrade_feedback.shadow.outcome import MS_PER_MINUTE, ShadowOutcome, from_ms
from freqtrade_feedback.shadow.schedule import ShadowSchedule, ShadowSignal
from freqtrade_feedback.typing import Side


def candle_arrays(df: pd.DataFrame) -> Candles:
    """A Freqtrade frame's candles, signal columns and price tick as arrays: built once per
    analysis, not per signal. A frame without signal columns (analysed, not yet advised)
    gives no signals."""
    times = pd.DatetimeIndex(df["date"]).as_unit("ms").asi8
    prices = [df[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close")]
    present = {c: df[c] for c in SIGNAL_COLUMNS if c in df.columns}
    signals = signal_bits(present, len(df)) if present else None
    return Candles(times, *prices, signals, price_decimals(times, *prices))


class ShadowFeed:
    """Shadow outcomes for every signal, released no earlier than their exit candle closes.

    Parameters
    ----------
    barriers
        The strategy's exit rules.
    ahead
        ``True`` in backtests (all candles known: compute ahead, release later), ``False``
        live (resolve as candles close).

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> ms = np.array([int((t0 + timedelta(minutes=5 * i)).timestamp() * 1000) for i in range(4)])
    >>> candles = (ms, np.array([100, 100, 100.6, 101.0]), np.array([100.5, 100.8, 101.3, 101.2]),
    ...            np.array([99.5, 99.7, 100.4, 100.7]), np.array([100, 100.6, 101, 101.1]))
    >>> barriers = Barriers({0: 0.01}, -0.02, max_candles=12, fee=0.001, timeframe_minutes=5)
    >>> for ahead in (True, False):
    ...     feed = ShadowFeed(barriers, ahead=ahead)
    ...     feed.set_candles("BTC/USDT", candles)
    ...     feed.add("s1", "BTC/USDT", t0)
    ...     feed.add("s2", "BTC/USDT", t0, side="short", leverage=3.0)
    ...     for now in (5, 10, 15):  # minutes after the signal candle opened
    ...         released = feed.release(now=t0 + timedelta(minutes=now))
    ...         print(ahead, now, [(o.side, o.barrier.value, o.profit_ratio) for o in released])
    True 5 []
    True 10 [('short', 'stoploss', -0.02604605)]
    True 15 [('long', 'roi', 0.01)]
    False 5 []
    False 10 [('short', 'stoploss', -0.02604605)]
    False 15 [('long', 'roi', 0.01)]
    """

    def __init__(self, barriers: Barriers, *, ahead: bool) -> None:
        self.barriers = barriers
        self.ahead = ahead
        self._candles: dict[str, Candles] = {}
        self._reset()

    def _reset(self) -> None:
        self._schedule = ShadowSchedule(self.barriers)
        self._book = ShadowBook(self.barriers)
        self._fed: dict[str, int] = {}

    def reset(self, barriers: Barriers | None = None) -> None:
        """Forget signals and outcomes (a new backtest, or hyperopt epoch with its own exit
        rules when ``barriers`` is given); the analysed candles stay."""
        if barriers is not None:
            self.barriers = barriers
        self._reset()

    @property
    def waiting(self) -> int:
        """Signals whose outcome is not released yet."""
        return self._schedule.held + self._schedule.pending + self._book.pending

    def set_candles(self, pair: str, candles: Candles | tuple[np.ndarray, ...]) -> None:
        """The pair's candles as last analysed (the whole backtest, or the live window), with
        the strategy's signals when the frame had them (:func:`candle_arrays`)."""
        self._candles[pair] = Candles(*candles)

    def add(self, signal_id: str, pair: str, signal_candle: datetime, *, side: Side = "long",
            leverage: float = 1.0) -> None:
        """A signal reached the gate, taken or not, to enter ``side`` with ``leverage``."""
        if not self.ahead:
            self._book.add(signal_id, pair, signal_candle, side=side, leverage=leverage)
            return
        candles = self._candles.get(pair)
        if candles is not None:
            signal = ShadowSignal(signal_id, signal_candle, side, leverage)
            self._schedule.resolve_ahead(pair, candles, [signal])

    def release(self, *, now: datetime) -> list[ShadowOutcome]:
        """Outcomes whose exit candle has closed by ``now``."""
        if self.ahead:
            return self._schedule.release(now=now)
        if not self._book.pending:
            return []
        return self._feed_closed(now)

    def _feed_closed(self, now: datetime) -> list[ShadowOutcome]:
        now_ms = int(now.timestamp() * 1000)
        span = self.barriers.timeframe_minutes * MS_PER_MINUTE
        released: list[ShadowOutcome] = []
        for pair, (times, o, h, low, c, signals, decimals) in self._candles.items():
            start = int(np.searchsorted(times, self._fed.get(pair, -1), side="right"))
            for i in range(start, len(times)):
                if times[i] + span > now_ms:
                    break
                bits = 0 if signals is None else int(signals[i])
                tick = -1 if decimals is None else int(decimals[i])
                released += self._book.on_candle(pair, from_ms(int(times[i])), o[i], h[i],
                                                 low[i], c[i], now=now, signals=bits,
                                                 decimals=tick)
                self._fed[pair] = int(times[i])
        return released
