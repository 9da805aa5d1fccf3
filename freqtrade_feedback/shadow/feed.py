"""One front for both shadow paths, chosen once by run mode.

A backtest has every candle already: :class:`ShadowSchedule` computes each signal's outcome
when the signal arrives and holds it until its touch candle has closed. Live, candles arrive
one by one: :class:`ShadowBook` resolves pending signals as they close. The adapter calls the
same three methods in both modes; only what happens inside differs.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from freqtrade_feedback.shadow.barriers import Barriers
from freqtrade_feedback.shadow.book import ShadowBook
from freqtrade_feedback.shadow.outcome import ShadowOutcome
from freqtrade_feedback.shadow.schedule import ShadowSchedule

Candles = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Open times in ms since the epoch, then open, high, low, close."""


def candle_arrays(df: pd.DataFrame) -> Candles:
    """A Freqtrade frame's candles as arrays: built once per analysis, not per signal."""
    times = pd.DatetimeIndex(df["date"]).as_unit("ms").asi8
    return (times, *(df[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close")))


class ShadowFeed:
    """Shadow outcomes for every signal, released no earlier than their touch candle closes.

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
    ...     early = feed.release(now=t0 + timedelta(minutes=10))
    ...     late = feed.release(now=t0 + timedelta(minutes=20))
    ...     print(ahead, early, [o.barrier.value for o in late])
    True [] ['roi']
    False [] ['roi']
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

    def reset(self) -> None:
        """Forget signals and outcomes (a new backtest); the analysed candles stay."""
        self._reset()

    @property
    def waiting(self) -> int:
        """Signals whose outcome is not released yet."""
        return self._schedule.held + self._schedule.pending + self._book.pending

    def set_candles(self, pair: str, candles: Candles) -> None:
        """The pair's candles as last analysed (the whole backtest, or the live window)."""
        self._candles[pair] = candles

    def add(self, signal_id: str, pair: str, signal_candle: datetime) -> None:
        """A signal reached the gate, taken or not."""
        if not self.ahead:
            self._book.add(signal_id, pair, signal_candle)
            return
        candles = self._candles.get(pair)
        if candles is not None:
            times, o, h, low, c = candles
            self._schedule.resolve_ahead(pair, times, o, h, low, c, [(signal_id, signal_candle)])

    def release(self, *, now: datetime) -> list[ShadowOutcome]:
        """Outcomes whose touch candle has closed by ``now``."""
        if self.ahead:
            return self._schedule.release(now=now)
        if not self._book.pending:
            return []
        return self._feed_closed(now)

    def _feed_closed(self, now: datetime) -> list[ShadowOutcome]:
        now_ms = int(now.timestamp() * 1000)
        span = self.barriers.timeframe_minutes * 60_000
        released: list[ShadowOutcome] = []
        for pair, (times, o, h, low, c) in self._candles.items():
            start = int(np.searchsorted(times, self._fed.get(pair, -1), side="right"))
            for i in range(start, len(times)):
                if times[i] + span > now_ms:
                    break
                opened = datetime.fromtimestamp(times[i] / 1000, tz=now.tzinfo)
                released += self._book.on_candle(pair, opened, o[i], h[i], low[i], c[i], now=now)
                self._fed[pair] = int(times[i])
        return released
