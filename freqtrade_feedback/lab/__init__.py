"""The lab: seeded synthetic markets and scenarios that obey the market's invariants.

Everything here runs without Freqtrade, so tests, docs and the offline demo share one source of
data. Every generator takes a ``seed`` and owns its random streams; the same seed always gives
the same data.
"""

from __future__ import annotations

from freqtrade_feedback.lab.candles import (
    OHLCV_COLUMNS,
    REGIMES,
    SyntheticMarket,
    pair_to_filename,
    timeframe_to_seconds,
)

__all__ = [
    "OHLCV_COLUMNS",
    "REGIMES",
    "SyntheticMarket",
    "pair_to_filename",
    "timeframe_to_seconds",
]
