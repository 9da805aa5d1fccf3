"""Shadow outcomes computed ahead from a backtest's candles, and held until they may be known.

In a backtest the candles after a signal already exist, so its barrier and touch time are
found at once, vectorised over a window of at most ``max_candles + 1`` rows. The outcome then
waits in a heap keyed by its release time (the close of the touching candle), and
:meth:`ShadowSchedule.release` hands it out no earlier.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from freqtrade_feedback.shadow.barriers import Barrier, Barriers
from freqtrade_feedback.shadow.book import check_side
from freqtrade_feedback.shadow.outcome import MS_PER_MINUTE, ShadowOutcome, make_outcome, to_ms
from freqtrade_feedback.typing import Side

_Floats: TypeAlias = npt.NDArray[np.float64]
_Ints: TypeAlias = npt.NDArray[np.int64]
_Candles: TypeAlias = tuple[_Ints, _Floats, _Floats, _Floats, _Floats]
_Touch: TypeAlias = tuple[tuple[int, float], tuple[int, Barrier, float]]


def _times(open_times: npt.ArrayLike) -> _Ints:
    times = np.asarray(open_times)
    if times.ndim == 1 and np.issubdtype(times.dtype, np.datetime64):
        return times.astype("datetime64[ms]").view(np.int64)
    if times.ndim != 1 or not np.issubdtype(times.dtype, np.integer):
        raise ValueError(
            "The 'open_times' argument must be a 1-D int64 array of candle open times in "
            "milliseconds since the epoch, or of datetime64, e.g. "
            "df['date'].dt.tz_convert(None).to_numpy(). "
            f"Got dtype {times.dtype} and shape {times.shape} instead."
        )
    return times.astype(np.int64, copy=False)


def _candles(open_times: npt.ArrayLike, *prices: npt.ArrayLike) -> _Candles:
    times = _times(open_times)
    arrays = [np.asarray(values, dtype=np.float64) for values in prices]
    for name, values in zip(("open", "high", "low", "close"), arrays, strict=True):
        if values.shape != times.shape:
            raise ValueError(
                f"The {name!r} argument must have one value per open time ({times.shape[0]}). "
                f"Got shape {values.shape} instead."
            )
    return times, arrays[0], arrays[1], arrays[2], arrays[3]


def first_touch(barriers: Barriers, candles: _Candles, signal_ms: int) -> _Touch | None:
    """The entry and the first barrier touch of a signal, or ``None`` when the data ends first.

    Vectorised over the signal's window; the touching candle's barrier and price come from
    :meth:`Barriers.touch`, the rule the live path applies candle by candle.
    """
    times, open_, high, low, close = candles
    n = times.shape[0]
    first = int(np.searchsorted(times, signal_ms, side="right"))
    if first >= n:
        return None
    entry_ms, entry_price = int(times[first]), float(open_[first])
    deadline = entry_ms + barriers.limit_minutes * MS_PER_MINUTE
    last = min(int(np.searchsorted(times, deadline, side="left")) + 1, n)
    window = times[first:last]
    if window.shape[0] > 1 and not bool(np.all(window[1:] > window[:-1])):
        raise ValueError(
            "The 'open_times' argument must be strictly increasing. Got a repeated or "
            f"decreasing time between rows {first} and {last - 1}."
        )
    elapsed = (window - entry_ms) // MS_PER_MINUTE
    hit = barriers.touched(entry_price, elapsed, high[first:last], low[first:last])
    k = int(np.argmax(hit))
    if not hit[k]:
        return None
    row = first + k
    row_values = (float(open_[row]), float(high[row]), float(low[row]), float(close[row]))
    found = barriers.touch(entry_price, int(elapsed[k]), *row_values)
    if found is None:  # the vectorised test and the rule disagree: a bug, never a silent miss
        raise RuntimeError(f"Barriers.touched and Barriers.touch disagree on row {row}")
    return (entry_ms, entry_price), (int(times[row]), *found)


class ShadowSchedule:
    """Shadow outcomes computed ahead, vectorised, and released no earlier than their touch
    candle closes: the backtest path.

    :meth:`resolve_ahead` gives the same outcomes as feeding the same candles to a
    :class:`ShadowBook`. A signal whose window runs past the end of the data gets no outcome:
    it stays pending and is retried by a later :meth:`resolve_ahead` call with more candles.
    Like the book, it is built from the strategy's exit rules (``barriers``).

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> import numpy as np
    >>> t = datetime(2024, 1, 1, tzinfo=UTC)
    >>> five = timedelta(minutes=5)
    >>> times = np.datetime64("2024-01-01T00:00") + np.arange(4) * np.timedelta64(5, "m")
    >>> schedule = ShadowSchedule(Barriers({0: 0.01}, -0.02, max_candles=12, fee=0.001,
    ...                                    timeframe_minutes=5))
    >>> [ahead] = schedule.resolve_ahead(
    ...     "BTC/USDT", times, open=[100, 100, 100.6, 101], high=[100.5, 100.8, 101.3, 101.2],
    ...     low=[99.5, 99.7, 100.4, 100.7], close=[100, 100.6, 101, 101.1],
    ...     signals=[("BTC/USDT|long|2024-01-01T00:00Z", t)])
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

    def reset(self) -> None:
        """Forget every signal and outcome: a new backtest or hyperopt epoch starts here."""
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
        open_times: npt.ArrayLike,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        signals: Sequence[tuple[str, datetime]],
        *,
        side: Side = "long",
    ) -> list[ShadowOutcome]:
        """Compute the outcomes of ``(signal_id, signal_candle)`` signals of ``pair`` and hold
        them until :meth:`release`; the new outcomes, in the order of ``signals``.

        The returned outcomes lie in the future of the backtest: use them for checks and
        reports, and feed a learner only what :meth:`release` hands out. ``open_times`` are
        candle open times in ms since the epoch (int64, or datetime64), strictly increasing;
        build the arrays once per pair and backtest. A signal already resolved is skipped.
        """
        check_side(side)
        candles = _candles(open_times, open, high, low, close)
        outcomes: list[ShadowOutcome] = []
        for signal_id, signal_candle in signals:
            if signal_id in self._resolved:
                continue
            signal_ms = to_ms(signal_candle, "signal_candle")
            touch = first_touch(self.barriers, candles, signal_ms)
            if touch is None:
                self._pending.add(signal_id)
                continue
            outcome = make_outcome(self.barriers, signal_id, pair, signal_ms, *touch)
            self._pending.discard(signal_id)
            self._resolved.add(signal_id)
            heapq.heappush(self._heap, (to_ms(outcome.release_time, "release"), signal_id, outcome))
            outcomes.append(outcome)
        return outcomes

    def release(self, *, now: datetime) -> list[ShadowOutcome]:
        """Hand out the outcomes whose touch candle has closed by ``now``, each once, by
        release time (then signal id)."""
        now_ms = to_ms(now, "now")
        released: list[ShadowOutcome] = []
        while self._heap and self._heap[0][0] <= now_ms:
            released.append(heapq.heappop(self._heap)[2])
        return released
