"""A strategy's exit rules, as Freqtrade's backtesting applies them to one candle.

:meth:`Position.touch` is *the* rule: given one candle of an open position (long or short,
with leverage), it says whether the position exits on it and at what price. The live path
(:class:`~freqtrade_feedback.shadow.ShadowBook`) calls it once per candle; the backtest path
(:class:`~freqtrade_feedback.shadow.ShadowSchedule`) narrows a whole window down to the
candles that may exit with :meth:`Position.candidates`, the same comparisons in numpy with
room for rounding, and then asks :meth:`Position.touch` about those candles in order.

The order of the checks within a candle, the prices and the profit are Freqtrade's
(``freqtrade/optimize/backtesting.py``, ``IStrategy.should_exit``, ``Trade.calc_profit_ratio``),
so that a shadow matches the trade Freqtrade would have made from the same signal.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

from freqtrade_feedback.typing import Side
from freqtrade_feedback.validation import invalid, is_int, is_real

_Floats: TypeAlias = npt.NDArray[np.float64]
_Ints: TypeAlias = npt.NDArray[np.int64]
_Bools: TypeAlias = npt.NDArray[np.bool_]

_MINUTES_PER_UNIT: Final = {"m": 1, "h": 60, "d": 1_440, "w": 10_080}
_TIMEFRAME_RE: Final = re.compile(r"^([1-9][0-9]*)([mhdw])$")
PROFIT_DIGITS: Final = 8
"""Freqtrade rounds a profit ratio to 8 decimals before it compares it with an ROI level."""
_SLACK: Final = 1e-7
"""Room :meth:`Position.candidates` leaves for that rounding: more than half its last digit."""


class Barrier(StrEnum):
    """Which exit ended a shadow trade. Persisted as its string value.

    Examples
    --------
    >>> Barrier("stoploss") is Barrier.STOPLOSS, Barrier.ROI == "roi"
    (True, True)
    """

    ROI = "roi"
    STOPLOSS = "stoploss"
    EXIT_SIGNAL = "exit_signal"
    TIME = "time"


def timeframe_to_minutes(timeframe: str) -> int:
    """Minutes in a Freqtrade timeframe such as ``"5m"``, ``"1h"``, ``"1d"`` or ``"1w"``.

    >>> timeframe_to_minutes("5m"), timeframe_to_minutes("4h"), timeframe_to_minutes("1d")
    (5, 240, 1440)
    """
    match = _TIMEFRAME_RE.match(timeframe) if isinstance(timeframe, str) else None
    if match is None:
        raise invalid(
            "Barriers",
            "timeframe",
            "'<n>m', '<n>h', '<n>d' or '<n>w', e.g. '5m' or '1h'",
            timeframe,
        )
    return int(match.group(1)) * _MINUTES_PER_UNIT[match.group(2)]


def _validate_roi(roi: object) -> dict[int, float]:
    constraint = "a mapping of whole minutes >= 0 to finite ratios >= -1, e.g. {0: 0.04, 30: 0.02}"
    if not isinstance(roi, Mapping):
        raise invalid("Barriers", "roi", constraint, roi)
    for minutes, ratio in roi.items():
        if not (is_int(minutes) and minutes >= 0 and is_real(ratio)):
            raise invalid("Barriers", "roi", constraint, roi)
        if not (math.isfinite(ratio) and ratio >= -1):
            raise invalid("Barriers", "roi", constraint, roi)
    return {int(k): float(roi[k]) for k in sorted(roi)}


@dataclass(frozen=True)
class Barriers:
    """A strategy's exit rules: ROI table, stoploss, exit signals, and a time limit, with fees.

    A position enters at the open of the candle after the signal candle. On every candle it
    holds, the entry candle included, with ``elapsed`` the minutes from the entry to the
    candle's open, Freqtrade's backtesting checks, in this order:

    1. exit signal: the previous candle's ``exit_long`` (``exit_short`` for a short) without
       its ``enter_long`` (``enter_short``), when ``use_exit_signal``; with
       ``exit_profit_only`` only when the profit at the open exceeds ``exit_profit_offset``.
       Exits at the open;
    2. stoploss: the candle's low reaches the stop price (high, for a short). Exits at the stop
       price, or at the open when the whole candle lies beyond it;
    3. ROI: with ``level = roi[max(k <= elapsed)]`` (no key <= elapsed: no ROI yet), the
       profit at the candle's high (low, for a short) exceeds ``level`` (not checked when
       ``ignore_roi_if_entry_signal`` and the previous candle repeats the entry signal). Exits
       at the price whose profit is exactly ``level``, kept within the candle; at the open when
       this candle opens past it and its key starts at this candle's open; at the open for a
       level of -1 whose key starts at a candle's open;
    4. time, our own limit: the ``max_candles``-th candle from the entry (``elapsed +
       timeframe >= max_candles * timeframe``) exits at its close. When that candle is missing
       (a gap in the data), the first candle after the time limit exits at its open.

    Parameters
    ----------
    roi
        Freqtrade's ``minimal_roi``: minutes since entry to the minimum profit ratio, a step
        function. An unreachable value such as 100 disables ROI. Stored as a read-only copy
        sorted by minute.
    stoploss
        The strategy's ``stoploss``, in [-1, 0), e.g. -0.025: the loss of the position, so the
        stop price lies ``|stoploss| / leverage`` from the entry. -1 disables it at leverage 1.
    max_candles
        Time limit, in candles held (the entry candle is the first).
    fee
        Fee ratio per side, in [0, 1), e.g. 0.001.
    timeframe_minutes
        Length of one candle, in minutes.
    use_exit_signal, exit_profit_only, exit_profit_offset, ignore_roi_if_entry_signal
        The strategy's settings of the same names (Freqtrade's defaults: True, False, 0.0,
        False). Signals act only where the candles carry them
        (:class:`~freqtrade_feedback.shadow.candles.Candles`).

    Examples
    --------
    >>> b = Barriers.from_strategy({"0": 0.02, "30": 0.01}, -0.05, "5m", max_candles=24,
    ...                            fee=0.001)
    >>> long = b.position(100.0)
    >>> long.touch(30, open_=101.0, high=101.5, low=100.8, close=101.1)
    (<Barrier.ROI: 'roi'>, 101.2022...)
    >>> long.profit_ratio(101.2022044088176)
    0.01
    >>> short = b.position(100.0, side="short", leverage=2.0)
    >>> short.touch(0, open_=100.0, high=102.6, low=99.8, close=102.0)
    (<Barrier.STOPLOSS: 'stoploss'>, 102.5)
    >>> short.profit_ratio(102.5)
    -0.0542...
    """

    roi: Mapping[int, float]
    stoploss: float
    max_candles: int
    fee: float
    timeframe_minutes: int
    use_exit_signal: bool = True
    exit_profit_only: bool = False
    exit_profit_offset: float = 0.0
    ignore_roi_if_entry_signal: bool = False
    _roi_minutes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _roi_levels: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _roi_minutes_np: _Ints = field(init=False, repr=False, compare=False)
    _roi_levels_np: _Floats = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        roi = _validate_roi(self.roi)
        sl, fee, n, tf = self.stoploss, self.fee, self.max_candles, self.timeframe_minutes
        if not (is_real(sl) and -1 <= sl < 0):
            raise invalid("Barriers", "stoploss", "a negative ratio in [-1, 0), e.g. -0.025", sl)
        if not (is_int(n) and n >= 1):
            raise invalid("Barriers", "max_candles", "a whole number of candles >= 1", n)
        if not (is_real(fee) and 0 <= fee < 1):
            raise invalid("Barriers", "fee", "a ratio per side in [0, 1), e.g. 0.001", fee)
        if not (is_int(tf) and tf >= 1):
            raise invalid("Barriers", "timeframe_minutes", "a whole number of minutes >= 1", tf)
        for name in ("use_exit_signal", "exit_profit_only", "ignore_roi_if_entry_signal"):
            if not isinstance(getattr(self, name), bool):
                raise invalid("Barriers", name, "true or false", getattr(self, name))
        offset = self.exit_profit_offset
        if not (is_real(offset) and math.isfinite(offset)):
            raise invalid("Barriers", "exit_profit_offset", "a finite ratio, e.g. 0.01", offset)
        # Index 0 is "no ROI key reached yet": a level no profit exceeds.
        levels = [math.inf, *roi.values()]
        setattr_ = object.__setattr__
        setattr_(self, "roi", MappingProxyType(roi))
        setattr_(self, "_roi_minutes", tuple(roi))
        setattr_(self, "_roi_levels", tuple(levels))
        setattr_(self, "_roi_minutes_np", np.array(tuple(roi), dtype=np.int64))
        setattr_(self, "_roi_levels_np", np.array(levels, dtype=np.float64))

    def _arguments(self) -> tuple[Any, ...]:
        return (dict(self.roi), self.stoploss, self.max_candles, self.fee,
                self.timeframe_minutes, self.use_exit_signal, self.exit_profit_only,
                self.exit_profit_offset, self.ignore_roi_if_entry_signal)

    def __reduce__(self) -> tuple[type[Barriers], tuple[Any, ...]]:
        """Pickle by the constructor's arguments (the read-only ROI view does not pickle):
        a checkpoint holds the live shadow book, and the book holds its barriers."""
        return (type(self), self._arguments())

    def __hash__(self) -> int:
        roi, *rest = self._arguments()
        return hash((tuple(roi.items()), *rest))

    @classmethod
    def from_strategy(
        cls,
        minimal_roi: Mapping[str | int, float],
        stoploss: float,
        timeframe: str,
        max_candles: int,
        fee: float,
        *,
        use_exit_signal: bool = True,
        exit_profit_only: bool = False,
        exit_profit_offset: float = 0.0,
        ignore_roi_if_entry_signal: bool = False,
    ) -> Barriers:
        """Build from a Freqtrade strategy's ``minimal_roi`` (string keys), ``stoploss``,
        ``timeframe`` and exit-signal settings, plus the time limit and the exchange fee."""
        if not isinstance(minimal_roi, Mapping):
            raise invalid(
                "Barriers", "minimal_roi", "a mapping like {'0': 0.04, '30': 0.02}", minimal_roi
            )
        roi: dict[int, float] = {}
        for key, ratio in minimal_roi.items():
            try:
                minutes = int(key) if isinstance(key, str) or is_int(key) else None
            except ValueError:
                minutes = None
            if minutes is None:
                raise invalid(
                    "Barriers", "minimal_roi", "keyed by whole minutes like '0', '30'", minimal_roi
                )
            roi[minutes] = ratio
        return cls(roi, stoploss, max_candles, fee, timeframe_to_minutes(timeframe),
                   use_exit_signal, exit_profit_only, exit_profit_offset,
                   ignore_roi_if_entry_signal)

    @property
    def limit_minutes(self) -> int:
        """The time limit in minutes: ``max_candles * timeframe_minutes``."""
        return self.max_candles * self.timeframe_minutes

    def position(self, entry_price: float, side: Side = "long", leverage: float = 1.0,
                 decimals: int | None = None) -> Position:
        """A position entered at ``entry_price``, on ``side``, with ``leverage`` (>= 1), its
        prices on a tick of ``decimals`` decimals (``None``: not rounded)."""
        return Position(self, float(entry_price), side, float(leverage), decimals)


def check_leverage(leverage: object) -> float:
    """``leverage`` as a float, or a ValueError naming it: finite and at least 1."""
    if not (is_real(leverage) and math.isfinite(leverage) and leverage >= 1):
        raise invalid("Position", "leverage", "a finite ratio >= 1, e.g. 3.0", leverage)
    return float(leverage)


def to_tick(price: float, decimals: int | None, rounding: str = ROUND_HALF_UP) -> float:
    """``price`` on the tick ``10 ** -decimals``, as Freqtrade's ``price_to_precision`` puts it
    there (exact decimal arithmetic on the price's shortest repr; half up by default).

    >>> to_tick(0.47814, 4), to_tick(0.47814, 4, ROUND_CEILING), to_tick(0.47814, None)
    (0.4781, 0.4782, 0.47814)
    """
    if decimals is None or not math.isfinite(price):
        return price
    return float(Decimal(repr(price)).quantize(Decimal(1).scaleb(-decimals), rounding=rounding))


@dataclass(frozen=True)
class Position:
    """One shadow trade: its entry, side and leverage, and the prices its exits sit at.

    The profit ratio is Freqtrade's ``Trade.calc_profit_ratio`` without funding fees: for a
    long ``(exit * (1 - fee) / (entry * (1 + fee)) - 1) * leverage``, for a short ``(1 - exit
    * (1 + fee) / (entry * (1 - fee))) * leverage``, rounded to 8 decimals.

    With ``decimals``, prices sit on the tick ``10 ** -decimals`` as in Freqtrade: the stop
    price rounded away from the entry's side (up for a long, down for a short), an ROI exit
    price rounded to the nearest tick.
    """

    barriers: Barriers
    entry_price: float
    side: Side
    leverage: float
    decimals: int | None = None
    _short: bool = field(init=False, repr=False, compare=False)
    _open_value: float = field(init=False, repr=False, compare=False)
    _close_factor: float = field(init=False, repr=False, compare=False)
    _stop: float = field(init=False, repr=False, compare=False)
    _near: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.side not in ("long", "short"):
            raise invalid("Position", "side", "'long' or 'short'", self.side)
        check_leverage(self.leverage)
        if not (math.isfinite(self.entry_price) and self.entry_price > 0):
            raise invalid("Position", "entry_price", "a finite price > 0", self.entry_price)
        short = self.side == "short"
        fee, entry = self.barriers.fee, self.entry_price
        distance = abs(self.barriers.stoploss) / self.leverage
        setattr_ = object.__setattr__
        setattr_(self, "_short", short)
        setattr_(self, "_open_value", entry * (1.0 - fee) if short else entry * (1.0 + fee))
        setattr_(self, "_close_factor", 1.0 + fee if short else 1.0 - fee)
        # A price this far short of an ROI price cannot round up to its level: the rule
        # compares the rounded profit only nearer than that.
        setattr_(self, "_near", _SLACK * self._open_value / (self._close_factor * self.leverage))
        if self.decimals is not None and not (is_int(self.decimals) and self.decimals >= 0):
            raise invalid("Position", "decimals", "a whole number >= 0, or None", self.decimals)
        stop = entry * (1.0 + distance) if short else entry * (1.0 - distance)
        away = ROUND_FLOOR if short else ROUND_CEILING  # Freqtrade's ROUND_DOWN / ROUND_UP
        setattr_(self, "_stop", to_tick(stop, self.decimals, away))

    @property
    def stop_price(self) -> float:
        """Freqtrade's initial ``stop_loss`` of the trade (before rounding to the tick)."""
        return self._stop

    def roi_price(self, level: float) -> float:
        """The exit price whose profit is exactly ``level`` (``Trade.calc_close_rate_for_roi``)."""
        sign = -1.0 if self._short else 1.0
        return (1.0 + level / (sign * self.leverage)) * self._open_value / self._close_factor

    def profit_ratio(self, exit_price: float) -> float:
        """Profit ratio net of both fees, with leverage, rounded as Freqtrade rounds it."""
        ratio = exit_price * self._close_factor / self._open_value
        profit = (1.0 - ratio) if self._short else (ratio - 1.0)
        return round(profit * self.leverage, PROFIT_DIGITS)

    def touch(
        self,
        elapsed: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        exit_signal: bool = False,
        enter_signal: bool = False,
    ) -> tuple[Barrier, float] | None:
        """The exit one candle makes and its price, or ``None``: the rule.

        ``elapsed`` is the minutes from the entry to the candle's open (0 on the entry
        candle); ``exit_signal`` and ``enter_signal`` are the previous candle's signals for
        this side. The live book calls it for every pending signal on every candle.
        """
        b = self.barriers
        limit = b.max_candles * b.timeframe_minutes
        if elapsed >= limit:
            return Barrier.TIME, open_
        if (
            exit_signal
            and b.use_exit_signal
            and not enter_signal
            and (not b.exit_profit_only or self.profit_ratio(open_) > b.exit_profit_offset)
        ):
            return Barrier.EXIT_SIGNAL, open_
        stop = self._stop
        if self._short:
            if high >= stop:
                return Barrier.STOPLOSS, open_ if stop < low else stop
        elif low <= stop:
            return Barrier.STOPLOSS, open_ if stop > high else stop
        if not (enter_signal and b.ignore_roi_if_entry_signal):
            roi = self._roi_exit(elapsed, open_, high, low)
            if roi is not None:
                return Barrier.ROI, roi
        if elapsed + b.timeframe_minutes >= limit:
            return Barrier.TIME, close
        return None

    def _roi_exit(self, elapsed: int, open_: float, high: float, low: float) -> float | None:
        """The ROI exit price on this candle, or ``None``: ``Backtesting._get_close_rate_for_roi``.

        Freqtrade's one further case, no ROI exit on an entry candle entered above its open,
        cannot arise: a shadow enters at the open.
        """
        b = self.barriers
        index = bisect_right(b._roi_minutes, elapsed)
        if index == 0:
            return None
        level, key = b._roi_levels[index], b._roi_minutes[index - 1]
        target = self.roi_price(level)
        best = low if self._short else high
        if (target - best if self._short else best - target) < -self._near:
            return None  # clearly short of the level: most candles stop here
        if not self.profit_ratio(best) > level:
            return None
        on_open = key % b.timeframe_minutes == 0
        if level == -1 and on_open:
            return open_
        if elapsed > 0 and elapsed == key and on_open and (
            open_ < target if self._short else open_ > target
        ):
            return open_  # the new level came into effect at this open, already beaten
        return to_tick(min(max(target, low), high), self.decimals)

    def candidates(
        self,
        elapsed: _Ints,
        high: _Floats,
        low: _Floats,
        exit_signal: _Bools,
        enter_signal: _Bools,
    ) -> _Bools:
        """The candles of a window on which :meth:`touch` may find an exit, at once: every
        candle it finds one on, and a few more (profit-only exit signals, levels within
        rounding), which :meth:`touch` then rules out."""
        b = self.barriers
        mask = elapsed + b.timeframe_minutes >= b.limit_minutes
        if b.use_exit_signal:
            mask |= exit_signal & ~enter_signal
        mask |= (high >= self._stop) if self._short else (low <= self._stop)
        level = b._roi_levels_np[np.searchsorted(b._roi_minutes_np, elapsed, side="right")]
        ratio = (low if self._short else high) * self._close_factor / self._open_value
        profit = ((1.0 - ratio) if self._short else (ratio - 1.0)) * self.leverage
        mask |= profit > level - _SLACK
        return mask
