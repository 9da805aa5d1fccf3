"""Shadow outcomes computed ahead from a backtest's candles, and held until they may be known.

In a backtest the candles after a signal already exist, so its exit and exit time are found at
once, vectorised over a window of at most ``max_candles + 1`` rows. The outcome then waits in
a heap keyed by its release time (the close of the exit candle), and
:meth:`ShadowSchedule.release` hands it out no earlier.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import numpy as np

from freqtrade_feedback.shadow.barriers import Barrier, Barriers, Position
from freqtrade_feedback.shadow.candles import Candles, side_bits
from freqtrade_feedback.shadow.outcome import MS_PER_MINUTE, ShadowOutcome, make_outcome, to_ms
from freqtrade_feedback.typing import Side

_FIRST_CHUNK = 64
"""Rows of a signal's window checked first; each further chunk is four times larger."""


class ShadowSignal(NamedTuple):
    """A signal to replay: its id, the open time of its candle, its side and leverage."""

    signal_id: str
    candle: datetime
    side: Side = "long"
    leverage: float = 1.0


def _previous_bits(signals: np.ndarray | None, first: int, last: int) -> np.ndarray:
    """The signal bits that act on rows ``first .. last - 1``: each row's previous row's."""
    if signals is None:
        return np.zeros(last - first, dtype=np.uint8)
    if first > 0:
        return signals[first - 1 : last - 1]
    return np.concatenate(([np.uint8(0)], signals[: last - 1]))


def first_touch(
    barriers: Barriers, candles: Candles, signal: ShadowSignal
) -> tuple[Position, int, tuple[int, Barrier, float]] | None:
    """The position, its entry time and its exit ``(time, barrier, price)``, or ``None`` when
    the data ends first.

    :meth:`Position.candidates` narrows the signal's window, a chunk at a time (most signals
    exit within the first one, and a long time limit then costs nothing);
    :meth:`Position.touch`, the rule the live path applies candle by candle, decides on those
    candles in order.
    """
    times, open_, high, low, close, signals, decimals = candles
    n = times.shape[0]
    first = int(np.searchsorted(times, to_ms(signal.candle, "signal_candle"), side="right"))
    if first >= n:
        return None
    entry_ms = int(times[first])
    tick = None if decimals is None or decimals[first] < 0 else int(decimals[first])
    position = barriers.position(float(open_[first]), signal.side, signal.leverage, tick)
    deadline = entry_ms + barriers.limit_minutes * MS_PER_MINUTE
    last = min(int(np.searchsorted(times, deadline, side="left")) + 1, n)
    enter_bit, exit_bit = side_bits(signal.side)
    start, size = first, _FIRST_CHUNK
    while start < last:
        stop = min(start + size, last)
        window = times[start:stop]
        checked = times[max(start - 1, first) : stop]  # each chunk joined to the one before
        if not bool(np.all(checked[1:] > checked[:-1])):
            raise ValueError(
                "The 'open_times' argument must be strictly increasing. Got a repeated or "
                f"decreasing time between rows {max(start - 1, first)} and {stop - 1}."
            )
        elapsed = (window - entry_ms) // MS_PER_MINUTE
        bits = _previous_bits(signals, start, stop)
        exits, enters = (bits & exit_bit) != 0, (bits & enter_bit) != 0
        maybe = position.candidates(elapsed, high[start:stop], low[start:stop], exits, enters)
        for k in np.flatnonzero(maybe).tolist():
            row = start + k
            found = position.touch(int(elapsed[k]), float(open_[row]), float(high[row]),
                                   float(low[row]), float(close[row]), bool(exits[k]),
                                   bool(enters[k]))
            if found is not None:
                return position, entry_ms, (int(times[row]), *found)
        start, size = stop, size * 4
    return None


class ShadowSchedule:
    """Shadow outcomes computed ahead, vectorised, and released no earlier than their exit
    candle closes: the backtest path.

    :meth:`resolve_ahead` gives the same outcomes as feeding the same candles to a
    :class:`ShadowBook`. A signal whose window runs past the end of the data gets no outcome:
    it stays pending and is retried by a later :meth:`resolve_ahead` call with more candles.
    Like the book, it is built from the strategy's exit rules (``barriers``).

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> from freqtrade_feedback.shadow.candles import candles
    >>> t = datetime(2024, 1, 1, tzinfo=UTC)
    >>> five = timedelta(minutes=5)
    >>> times = np.datetime64("2024-01-01T00:00") + np.arange(4) * np.timedelta64(5, "m")
    >>> schedule = ShadowSchedule(Barriers({0: 0.01}, -0.02, max_candles=12, fee=0.001,
    ...                                    timeframe_minutes=5))
    >>> btc = candles(times, open=[100, 100, 100.6, 101], high=[100.5, 100.8, 101.3, 101.2],
    ...               low=[99.5, 99.7, 100.4, 100.7], close=[100, 100.6, 101, 101.1])
    >>> [ahead] = schedule.resolve_ahead("BTC/USDT", btc, [("BTC/USDT|long|2024-01-01T00:00Z", t)])
    >>> f"{ahead.release_time:%H:%M}", schedule.release(now=t + 2 * five)
    ('00:15', [])
    >>> [outcome.barrier.value for outcome in schedule.release(now=t + 3 * five)]
    ['roi']
    """

    def __init__(self, barriers: Barriers) -> None:
        self.barriers = barriers
        self._reset()

    def _reset(self) -> None:
        self._heap: list[tuple[int, str, ShadowOutcome]] = []
        self._resolved: set[str] = set()
        self._pending: set[str] = set()

    def reset(self, barriers: Barriers | None = None) -> None:
        """Forget every signal and outcome: a new backtest or hyperopt epoch starts here, with
        that epoch's exit rules when given."""
        if barriers is not None:
            self.barriers = barriers
        self._reset()

    @property
    def pending(self) -> int:
        """Signals without an outcome: their window runs past the end of the data."""
        return len(self._pending)

    @property
    def held(self) -> int:
        """Outcomes computed and not released yet."""
        return len(self._heap)

    def resolve_ahead(
        self,
        pair: str,
        candles: Candles,
        signals: Sequence[ShadowSignal | tuple[str, datetime]],
    ) -> list[ShadowOutcome]:
        """Compute the outcomes of ``pair``'s signals and hold them until :meth:`release`;
        the new outcomes, in the order of ``signals``.

        The returned outcomes lie in the future of the backtest: use them for checks and
        reports, and feed a learner only what :meth:`release` hands out. ``candles`` are
        built once per pair and backtest
        (:func:`~freqtrade_feedback.shadow.candles.candles`); a signal is a
        :class:`ShadowSignal` or a ``(signal_id, signal_candle)`` pair (a long at leverage
        1). A signal already resolved is skipped.
        """
        outcomes: list[ShadowOutcome] = []
        for item in signals:
            signal = ShadowSignal(*item)
            if signal.signal_id in self._resolved:
                continue
            found = first_touch(self.barriers, candles, signal)
            if found is None:
                self._pending.add(signal.signal_id)
                continue
            position, entry_ms, touch = found
            signal_ms = to_ms(signal.candle, "signal_candle")
            outcome = make_outcome(position, signal.signal_id, pair, signal_ms, entry_ms, touch)
            self._pending.discard(signal.signal_id)
            self._resolved.add(signal.signal_id)
            release_ms = to_ms(outcome.release_time, "release")
            heapq.heappush(self._heap, (release_ms, signal.signal_id, outcome))
            outcomes.append(outcome)
        return outcomes

    def release(self, *, now: datetime) -> list[ShadowOutcome]:
        """Hand out the outcomes whose exit candle has closed by ``now``, each once, by
        release time (then signal id)."""
        now_ms = to_ms(now, "now")
        released: list[ShadowOutcome] = []
        while self._heap and self._heap[0][0] <= now_ms:
            released.append(heapq.heappop(self._heap)[2])
        return released
