"""The triple barrier of a strategy's exit rules: ROI table, stoploss and a time limit.

:meth:`Barriers.touch` is *the* rule: given one candle of an open long position, it says
whether a barrier was touched and at what price the position exits. The live path
(:class:`~freqtrade_feedback.shadow.ShadowBook`) calls it once per candle; the backtest path
(:class:`~freqtrade_feedback.shadow.ShadowSchedule`) finds the first touched candle of a
whole window with :meth:`Barriers.touched`, the same comparisons in numpy, and then asks
:meth:`Barriers.touch` for the barrier and the price of that one candle.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

from freqtrade_feedback.validation import invalid, is_int, is_real

_Floats: TypeAlias = npt.NDArray[np.float64]
_Ints: TypeAlias = npt.NDArray[np.int64]

_MINUTES_PER_UNIT: Final = {"m": 1, "h": 60, "d": 1_440, "w": 10_080}
_TIMEFRAME_RE: Final = re.compile(r"^([1-9][0-9]*)([mhdw])$")


class Barrier(StrEnum):
    """Which barrier ended a shadow trade. Persisted as its string value.

    Examples
    --------
    >>> Barrier("stoploss") is Barrier.STOPLOSS, Barrier.ROI == "roi"
    (True, True)
    """

    ROI = "roi"
    STOPLOSS = "stoploss"
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
    """A strategy's exit rules as a triple barrier, for long positions, with fees.

    A position enters at the open of the candle after the signal candle. On every candle it
    holds, the entry candle included, with ``elapsed`` the minutes from the entry to the
    candle's open, the barriers are checked in this order (stoploss first, as Freqtrade does):

    1. stoploss: ``low <= entry * (1 + stoploss)`` exits at ``min(open, stop price)``: the
       stop price, or the open when the candle gapped below it;
    2. ROI: with ``level = roi[max(k <= elapsed)]`` (no key <= elapsed: no ROI yet), the ROI
       price is ``entry * (1 + level) * (1 + fee) / (1 - fee)``, the exit price whose profit
       net of both fees is exactly ``level`` (Freqtrade's ``calc_close_rate_for_roi``);
       ``high >= ROI price`` exits at ``max(open, ROI price)``;
    3. time: the ``max_candles``-th candle from the entry (``elapsed + timeframe >=
       max_candles * timeframe``) exits at its close. When that candle is missing (a gap in
       the data), the first candle after the time limit exits at its open.

    The profit ratio net of fees is ``exit * (1 - fee) / (entry * (1 + fee)) - 1``, as
    Freqtrade's ``calc_profit_ratio`` for a spot long without leverage.

    Parameters
    ----------
    roi
        Freqtrade's ``minimal_roi``: minutes since entry to the minimum profit ratio, a step
        function. An unreachable value such as 100 disables ROI; -1 exits at the open of the
        first candle where the key applies. Stored as a read-only copy sorted by minute.
    stoploss
        Ratio below the entry price, in [-1, 0), e.g. -0.025. -1 disables the stoploss.
    max_candles
        Time limit, in candles held (the entry candle is the first).
    fee
        Fee ratio per side, in [0, 1), e.g. 0.001.
    timeframe_minutes
        Length of one candle, in minutes.

    Examples
    --------
    >>> b = Barriers.from_strategy({"0": 0.02, "30": 0.01}, -0.05, "5m", max_candles=24,
    ...                            fee=0.001)
    >>> b.roi_price(100.0, elapsed=0), b.roi_price(100.0, elapsed=30)
    (102.2042..., 101.2022...)
    >>> b.touch(100.0, 30, open_=101.0, high=101.5, low=100.8, close=101.1)
    (<Barrier.ROI: 'roi'>, 101.2022...)
    >>> round(b.profit_ratio(100.0, 101.2022044088176), 6)
    0.01
    """

    roi: Mapping[int, float]
    stoploss: float
    max_candles: int
    fee: float
    timeframe_minutes: int
    _roi_minutes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _roi_factors: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _roi_minutes_np: _Ints = field(init=False, repr=False, compare=False)
    _roi_factors_np: _Floats = field(init=False, repr=False, compare=False)

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
        # Index 0 is "no ROI key reached yet": an infinite price that no high reaches.
        factors = [math.inf] + [(1 + r) * (1 + fee) / (1 - fee) for r in roi.values()]
        setattr_ = object.__setattr__
        setattr_(self, "roi", MappingProxyType(roi))
        setattr_(self, "_roi_minutes", tuple(roi))
        setattr_(self, "_roi_factors", tuple(factors))
        setattr_(self, "_roi_minutes_np", np.array(tuple(roi), dtype=np.int64))
        setattr_(self, "_roi_factors_np", np.array(factors, dtype=np.float64))

    def __reduce__(self) -> tuple[type[Barriers], tuple[Any, ...]]:
        """Pickle by the constructor's arguments (the read-only ROI view does not pickle):
        a checkpoint holds the live shadow book, and the book holds its barriers."""
        args = (dict(self.roi), self.stoploss, self.max_candles, self.fee,
                self.timeframe_minutes)
        return (type(self), args)

    def __hash__(self) -> int:
        return hash(
            (
                tuple(self.roi.items()),
                self.stoploss,
                self.max_candles,
                self.fee,
                self.timeframe_minutes,
            )
        )

    @classmethod
    def from_strategy(
        cls,
        minimal_roi: Mapping[str | int, float],
        stoploss: float,
        timeframe: str,
        max_candles: int,
        fee: float,
    ) -> Barriers:
        """Build from a Freqtrade strategy's ``minimal_roi`` (string keys), ``stoploss`` and
        ``timeframe``, plus the time limit and the exchange fee."""
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
        return cls(roi, stoploss, max_candles, fee, timeframe_to_minutes(timeframe))

    @property
    def limit_minutes(self) -> int:
        """The time limit in minutes: ``max_candles * timeframe_minutes``."""
        return self.max_candles * self.timeframe_minutes

    def roi_price(self, entry_price: float, elapsed: int) -> float:
        """The price at which ROI is reached ``elapsed`` minutes after the entry (``inf``
        before the first key of the table)."""
        return entry_price * self._roi_factors[bisect_right(self._roi_minutes, elapsed)]

    def stop_price(self, entry_price: float) -> float:
        """The stoploss price of a position entered at ``entry_price``."""
        return entry_price * (1.0 + self.stoploss)

    def profit_ratio(self, entry_price: float, exit_price: float) -> float:
        """Profit ratio net of the entry and the exit fee."""
        return (exit_price * (1.0 - self.fee)) / (entry_price * (1.0 + self.fee)) - 1.0

    def touch(
        self, entry_price: float, elapsed: int, open_: float, high: float, low: float, close: float
    ) -> tuple[Barrier, float] | None:
        """The barrier one candle touches and the exit price, or ``None``: the rule.

        ``elapsed`` is the minutes from the entry to the candle's open (0 on the entry candle).
        The live book calls it for every pending signal on every candle, so the arithmetic of
        ``limit_minutes``, ``stop_price`` and ``roi_price`` is written out here.
        """
        limit = self.max_candles * self.timeframe_minutes
        if elapsed >= limit:
            return Barrier.TIME, open_
        stop = entry_price * (1.0 + self.stoploss)
        if low <= stop:
            return Barrier.STOPLOSS, min(open_, stop)
        target = entry_price * self._roi_factors[bisect_right(self._roi_minutes, elapsed)]
        if high >= target:
            return Barrier.ROI, max(open_, target)
        if elapsed + self.timeframe_minutes >= limit:
            return Barrier.TIME, close
        return None

    def touched(
        self, entry_price: float, elapsed: _Ints, high: _Floats, low: _Floats
    ) -> npt.NDArray[np.bool_]:
        """Whether :meth:`touch` finds a barrier, for a window of candles at once."""
        level = np.searchsorted(self._roi_minutes_np, elapsed, side="right")
        target = entry_price * self._roi_factors_np[level]
        stop = self.stop_price(entry_price)
        return (
            (low <= stop)
            | (high >= target)
            | (elapsed + self.timeframe_minutes >= self.limit_minutes)
        )
