"""A shadow outcome: what a signal would have earned with the strategy's own exit rules.

Also the time conventions both resolution paths share: times are UTC-aware datetimes at the
edges and integer milliseconds since the epoch inside, so the live and the backtest path
compute the very same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from freqtrade_feedback.shadow.barriers import Barrier, Position
from freqtrade_feedback.typing import Side

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
MS_PER_MINUTE: Final = 60_000


def to_ms(value: datetime, name: str) -> int:
    """Milliseconds since the epoch of a UTC-aware datetime; ``name`` is for the error."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(
            f"The {name!r} argument must be a timezone-aware datetime (UTC). Got {value!r} instead."
        )
    return (value - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """The UTC datetime of a count of milliseconds since the epoch."""
    return EPOCH + _MS * int(ms)  # exact: whole microseconds, as timedelta(milliseconds=ms)


@dataclass(frozen=True)
class ShadowOutcome:
    """The result a signal would have had, replayed on the candles after it.

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> t = datetime(2024, 1, 1, tzinfo=UTC)
    >>> five = timedelta(minutes=5)
    >>> outcome = ShadowOutcome("BTC/USDT|long|2024-01-01T00:00Z", "BTC/USDT", t, t + five,
    ...                         100.0, t + 3 * five, t + 4 * five, 102.0, 0.018, Barrier.ROI, 3)
    >>> outcome.barrier.value, f"{outcome.release_time:%H:%M}", outcome.side, outcome.leverage
    ('roi', '00:20', 'long', 1.0)
    """

    signal_id: str
    pair: str
    signal_candle: datetime
    """Open time of the candle the signal was made on."""
    entry_time: datetime
    """Open time of the entry candle, the first candle after the signal candle."""
    entry_price: float
    """Open of the entry candle."""
    exit_time: datetime
    """Open time of the candle the position exits on (an exit signal's is the candle after
    the signal, whose open is the exit price)."""
    release_time: datetime
    """Close time of the exit candle: the earliest time the outcome may be known."""
    exit_price: float
    profit_ratio: float
    """Net of the entry and the exit fee, with leverage, as Freqtrade computes it."""
    barrier: Barrier
    candles: int
    """Candles from the entry candle to the exit candle, both included, counted in time
    (a gap in the data counts the candles it lacks)."""
    side: Side = "long"
    leverage: float = 1.0


def make_outcome(
    position: Position,
    signal_id: str,
    pair: str,
    signal_ms: int,
    entry_ms: int,
    touch: tuple[int, Barrier, float],
) -> ShadowOutcome:
    """Assemble an outcome from the position entered at ``entry_ms`` and ``touch = (time,
    barrier, exit price)``, the one place both paths build it."""
    exit_ms, barrier, exit_price = touch
    tf_ms = position.barriers.timeframe_minutes * MS_PER_MINUTE
    return ShadowOutcome(
        signal_id=signal_id,
        pair=pair,
        signal_candle=from_ms(signal_ms),
        entry_time=from_ms(entry_ms),
        entry_price=position.entry_price,
        exit_time=from_ms(exit_ms),
        release_time=from_ms(exit_ms + tf_ms),
        exit_price=float(exit_price),
        profit_ratio=position.profit_ratio(float(exit_price)),
        barrier=barrier,
        candles=(exit_ms - entry_ms) // tf_ms + 1,
        side=position.side,
        leverage=position.leverage,
    )
