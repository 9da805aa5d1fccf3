"""One pair's candles as the arrays both shadow paths read, with the strategy's signals.

The arrays are built once per pair and analysis (never per signal or per candle): open times
in milliseconds since the epoch, the four prices, one byte of signal bits per candle, the
``enter_*`` and ``exit_*`` columns of the analyzed frame, and the decimals of the price tick.
A candle's bits act on the *next* candle, as in Freqtrade's backtesting, which shifts the
signal columns by one row: an exit signal on candle ``c`` exits at the open of candle
``c + 1``.
"""

from __future__ import annotations

from enum import IntFlag
from typing import Final, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from freqtrade_feedback.typing import Side

_Floats: TypeAlias = npt.NDArray[np.float64]
_Ints: TypeAlias = npt.NDArray[np.int64]
_Bits: TypeAlias = npt.NDArray[np.uint8]
_Small: TypeAlias = npt.NDArray[np.int8]

_SIGNIFICANT: Final = 14
"""Significant digits Freqtrade reads a price with when it counts its decimals."""


class SignalBit(IntFlag):
    """The strategy's signal columns of one candle, one bit each.

    >>> int(SignalBit.ENTER_LONG | SignalBit.EXIT_SHORT)
    9
    """

    ENTER_LONG = 1
    EXIT_LONG = 2
    ENTER_SHORT = 4
    EXIT_SHORT = 8


SIGNAL_COLUMNS: dict[str, SignalBit] = {
    "enter_long": SignalBit.ENTER_LONG,
    "exit_long": SignalBit.EXIT_LONG,
    "enter_short": SignalBit.ENTER_SHORT,
    "exit_short": SignalBit.EXIT_SHORT,
}
"""Freqtrade's signal columns and their bits."""


def side_bits(side: Side) -> tuple[int, int]:
    """The ``(enter, exit)`` bits that act on a position of ``side``: a long position exits on
    ``exit_long`` unless ``enter_long`` is set on the same candle (Freqtrade's
    ``should_exit``), a short one on the short columns.

    >>> side_bits("long"), side_bits("short")
    ((1, 2), (4, 8))
    """
    if side == "long":
        return int(SignalBit.ENTER_LONG), int(SignalBit.EXIT_LONG)
    if side == "short":
        return int(SignalBit.ENTER_SHORT), int(SignalBit.EXIT_SHORT)
    raise ValueError(f"The 'side' argument must be 'long' or 'short'. Got {side!r} instead.")


class Candles(NamedTuple):
    """One pair's candles: open times (ms since the epoch), prices, signal bits and tick.

    ``signals`` is ``None`` when the strategy's signals are not known (no exit signals then);
    ``decimals`` (:func:`price_decimals`, -1 where unknown) is ``None`` when prices are not
    put on a tick. Build it with :func:`candles`, which checks the arrays.
    """

    times: _Ints
    open: _Floats
    high: _Floats
    low: _Floats
    close: _Floats
    signals: _Bits | None = None
    decimals: _Small | None = None


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


def candles(
    open_times: npt.ArrayLike,
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    signals: npt.ArrayLike | None = None,
    decimals: npt.ArrayLike | None = None,
) -> Candles:
    """Checked :class:`Candles`: one value per open time in every array; ``signals`` are
    :class:`SignalBit` combinations (``None``: no signals known), ``decimals`` the tick's
    (``None``: prices not put on a tick)."""
    times = _times(open_times)
    prices = [np.asarray(values, dtype=np.float64) for values in (open, high, low, close)]
    bits = None if signals is None else np.asarray(signals, dtype=np.uint8)
    ticks = None if decimals is None else np.asarray(decimals, dtype=np.int8)
    arrays = [*prices, bits, ticks]
    for name, values in zip(Candles._fields[1:], arrays, strict=True):
        if values is not None and values.shape != times.shape:
            raise ValueError(
                f"The {name!r} argument must have one value per open time ({times.shape[0]}). "
                f"Got shape {values.shape} instead."
            )
    return Candles(times, *arrays)


def price_decimals(times: _Ints, *prices: _Floats) -> _Small:
    """The decimals of each candle's price tick as Freqtrade's backtesting estimates them
    (``get_tick_size_over_time``, read with ``Series.asof``): the most decimals any price of
    the candle's calendar month shows when written with 14 significant digits; a month whose
    prices show none takes the last month before it that did (-1 if none did).

    Freqtrade rounds a backtest trade's stop price and exit price to that tick; the rounding
    decides whether a low that touches the stop within a tick exits. Vectorised, where
    Freqtrade formats every price as a string.

    >>> ms = np.array([0, 1, 2_678_400_000], dtype=np.int64)  # Jan 1, Jan 1, Feb 1 1970
    >>> price_decimals(ms, np.array([0.4782, 12.5, 45322.0])).tolist()
    [4, 4, 4]
    >>> price_decimals(ms, np.array([3.0, 12.0, 45322.25])).tolist()
    [-1, -1, 2]
    """
    values = np.abs(np.stack(prices))
    with np.errstate(divide="ignore", invalid="ignore"):
        kept = _SIGNIFICANT - 1 - np.floor(np.log10(values))
    valid = np.isfinite(kept) & (values > 0)
    kept = np.where(valid, kept, 0.0)
    # The 14 significant digits as a whole number (below 2 ** 53: exact in a float, as are
    # the divisions by powers of ten below); its trailing zeros in four halvings.
    mantissa = np.rint(values * 10.0**kept)
    zeros = np.zeros(mantissa.shape, dtype=np.int64)
    for power in (8, 4, 2, 1):
        quotient = mantissa / 10.0**power
        divisible = (quotient == np.floor(quotient)) & (mantissa != 0)
        mantissa = np.where(divisible, quotient, mantissa)
        zeros += divisible * power
    shown = np.where(valid, kept.astype(np.int64) - zeros, 0)
    per_candle = np.where(shown > 0, shown, -1).max(axis=0)
    if per_candle.size == 0:
        return per_candle.astype(np.int8)
    months = times.astype("datetime64[ms]").astype("datetime64[M]")
    starts = np.flatnonzero(np.concatenate(([True], months[1:] != months[:-1])))
    most = np.maximum.reduceat(per_candle, starts)
    last_known = np.maximum.accumulate(np.where(most >= 0, np.arange(most.size), -1))
    most = np.where(last_known >= 0, most[np.maximum(last_known, 0)], -1)
    return np.repeat(most, np.diff(np.append(starts, per_candle.size))).astype(np.int8)


def signal_bits(columns: dict[str, npt.ArrayLike], length: int) -> _Bits:
    """The :class:`SignalBit` byte of each candle from Freqtrade's signal columns (those
    present; a non-zero, non-NaN value sets the bit, as Freqtrade's truth test does).

    >>> signal_bits({"enter_long": [1, 0, float("nan")], "exit_long": [0, 1.0, 1]}, 3).tolist()
    [1, 2, 2]
    """
    bits = np.zeros(length, dtype=np.uint8)
    for name, bit in SIGNAL_COLUMNS.items():
        if name in columns:
            values = np.asarray(columns[name], dtype=np.float64)
            bits |= np.where(np.nan_to_num(values) != 0, np.uint8(bit), np.uint8(0))
    return bits


__all__ = [
    "SIGNAL_COLUMNS",
    "Candles",
    "SignalBit",
    "candles",
    "price_decimals",
    "side_bits",
    "signal_bits",
]
