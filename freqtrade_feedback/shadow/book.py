"""Shadow outcomes resolved live: one candle at a time, as candles close."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from freqtrade_feedback.shadow.barriers import Barriers, Position, check_leverage
from freqtrade_feedback.shadow.candles import side_bits
from freqtrade_feedback.shadow.outcome import (
    MS_PER_MINUTE,
    ShadowOutcome,
    from_ms,
    make_outcome,
    to_ms,
)
from freqtrade_feedback.typing import Side


@dataclass
class _Open:
    """A pending signal; its position is opened by the first candle after the signal candle."""

    signal_id: str
    signal_ms: int
    side: Side
    leverage: float
    enter_bit: int
    exit_bit: int
    entry_ms: int = -1
    position: Position | None = None


_NO_CANDLE = -(2**62)


@dataclass
class _Pair:
    last_ms: int
    """Open time of the last candle fed (``_NO_CANDLE`` before the first one)."""
    signals: int = 0
    """Signal bits of the last candle fed: they act on the next one."""
    pending: list[_Open] = field(default_factory=list)


class ShadowBook:
    """Pending signals, resolved as the candles after them close: the live path.

    Every signal that reached the gate, taken or not, is added, long or short, with its
    leverage. Each closed candle of a pair is fed once, in time order, with its signal bits
    (:class:`~freqtrade_feedback.shadow.candles.SignalBit`), which act on the next candle;
    the outcomes it resolves come back at once, and never earlier: a candle that has not
    closed at ``now`` is refused. A candle is O(1) when nothing is pending for its pair. A
    gap in the candles only advances the elapsed time.

    Parameters
    ----------
    barriers
        The strategy's exit rules.

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> five = timedelta(minutes=5)
    >>> book = ShadowBook(Barriers({0: 0.01}, -0.02, max_candles=12, fee=0.001,
    ...                            timeframe_minutes=5))
    >>> t = datetime(2024, 1, 1, tzinfo=UTC)
    >>> book.on_candle("BTC/USDT", t, 100, 100.5, 99.5, 100.0, now=t + five)
    []
    >>> book.add("BTC/USDT|long|2024-01-01T00:00Z", "BTC/USDT", t)
    >>> book.on_candle("BTC/USDT", t + five, 100, 100.8, 99.7, 100.6, now=t + 2 * five)
    []
    >>> [outcome] = book.on_candle("BTC/USDT", t + 2 * five, 100.6, 101.3, 100.4, 101.0,
    ...                            now=t + 3 * five)
    >>> outcome.barrier.value, outcome.profit_ratio, book.pending
    ('roi', 0.01, 0)
    """

    def __init__(self, barriers: Barriers) -> None:
        self.barriers = barriers
        self._reset()

    def _reset(self) -> None:
        self._pairs: dict[str, _Pair] = {}
        self._known: set[str] = set()
        self._pending = 0

    def reset(self, barriers: Barriers | None = None) -> None:
        """Forget every signal and candle: a new backtest or hyperopt epoch starts here, with
        that epoch's exit rules when given."""
        if barriers is not None:
            self.barriers = barriers
        self._reset()

    @property
    def pending(self) -> int:
        """Signals added and not resolved yet."""
        return self._pending

    def add(
        self,
        signal_id: str,
        pair: str,
        signal_candle: datetime,
        *,
        side: Side = "long",
        leverage: float = 1.0,
    ) -> None:
        """Add a signal made on the candle that opened at ``signal_candle``.

        Adding a signal id again does nothing, even after it was resolved. A signal must be
        added before the candle after its signal candle is fed: that candle is its entry.
        """
        enter_bit, exit_bit = side_bits(side)
        leverage = check_leverage(leverage)  # a bad one fails here, not at the entry candle
        if signal_id in self._known:
            return
        signal_ms = to_ms(signal_candle, "signal_candle")
        state = self._pairs.get(pair)
        if state is None:
            state = self._pairs[pair] = _Pair(last_ms=_NO_CANDLE)
        elif state.last_ms > signal_ms:
            raise ValueError(
                f"The signal {signal_id!r} on the {pair} candle of {signal_candle:%Y-%m-%d %H:%M}"
                f" came after its entry candle was fed (the last {pair} candle fed opened at "
                f"{from_ms(state.last_ms):%Y-%m-%d %H:%M}). Add each signal before feeding the "
                "candles that follow it."
            )
        self._known.add(signal_id)
        state.pending.append(_Open(signal_id, signal_ms, side, leverage, enter_bit, exit_bit))
        self._pending += 1

    def on_candle(
        self,
        pair: str,
        open_time: datetime,
        open: float,
        high: float,
        low: float,
        close: float,
        *,
        now: datetime,
        signals: int = 0,
        decimals: int = -1,
    ) -> list[ShadowOutcome]:
        """Feed one closed candle of ``pair`` with its signal bits and the decimals of its
        price tick (-1: prices not put on a tick); the outcomes it resolves, by signal id.

        A candle at or before the last one fed for the pair is ignored (a live loop may feed
        the latest closed candle more than once).
        """
        open_ms = to_ms(open_time, "open_time")
        close_ms = open_ms + self.barriers.timeframe_minutes * MS_PER_MINUTE
        if close_ms > to_ms(now, "now"):
            raise ValueError(
                f"The {pair} candle that opened at {open_time:%Y-%m-%d %H:%M} closes at "
                f"{from_ms(close_ms):%Y-%m-%d %H:%M}, after now ({now:%Y-%m-%d %H:%M:%S}): "
                "feed a candle only once it has closed, or its high and low are the future."
            )
        state = self._pairs.get(pair)
        if state is None:
            self._pairs[pair] = _Pair(last_ms=open_ms, signals=int(signals))
            return []
        if open_ms <= state.last_ms:
            return []
        state.last_ms = open_ms
        previous, state.signals = state.signals, int(signals)
        if not state.pending:
            return []
        candle = (float(open), float(high), float(low), float(close))
        tick = int(decimals) if decimals >= 0 else None
        return self._resolve(pair, state, open_ms, candle, previous, tick)

    def _resolve(
        self,
        pair: str,
        state: _Pair,
        open_ms: int,
        candle: tuple[float, float, float, float],
        previous: int,
        tick: int | None,
    ) -> list[ShadowOutcome]:
        outcomes: list[ShadowOutcome] = []
        still: list[_Open] = []
        for item in state.pending:
            if item.position is None:
                if open_ms <= item.signal_ms:
                    still.append(item)
                    continue
                item.entry_ms = open_ms
                item.position = self.barriers.position(candle[0], item.side, item.leverage,
                                                       tick)
            elapsed = (open_ms - item.entry_ms) // MS_PER_MINUTE
            hit = item.position.touch(elapsed, *candle, bool(previous & item.exit_bit),
                                      bool(previous & item.enter_bit))
            if hit is None:
                still.append(item)
                continue
            outcomes.append(make_outcome(item.position, item.signal_id, pair, item.signal_ms,
                                         item.entry_ms, (open_ms, *hit)))
        state.pending = still
        self._pending -= len(outcomes)
        outcomes.sort(key=lambda o: o.signal_id)
        return outcomes
