"""Feature columns: the default TA-Lib set, and the convention for a strategy's own.

A feature is any dataframe column whose name starts with ``fb_`` (or the explicit list in
``feedback.feature_columns``). The defaults are scale-free (ratios, oscillators, logs of
ratios) so that one learner can read BTC at 60,000 and a small cap at 0.002 alike. They are
computed on the whole frame once, like any indicator; the loop only ever reads the row of the
candle a signal was made on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import talib

from freqtrade_feedback.exceptions import FeatureError

FEATURE_PREFIX = "fb_"
DEFAULT_FEATURES = (
    "fb_rsi",
    "fb_roc",
    "fb_adx",
    "fb_trend",
    "fb_ema_spread",
    "fb_natr",
    "fb_bb_width",
    "fb_bb_position",
    "fb_volume_ratio",
)
STARTUP_CANDLES = 200
"""Candles of history the defaults need before their values settle (EMA 50, ADX 14)."""


def default_features(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Compute the default features (momentum, trend, volatility, volume) of an OHLCV frame.

    Values where a feature is undefined (the warm-up rows, a flat or zero-volume stretch) are
    NaN or infinite; the loop routes such signals to the fallback rule instead of learning
    from them.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    >>> df = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
    ...                    "close": close, "volume": rng.uniform(1, 2, 300)})
    >>> feats = default_features(df)
    >>> sorted(feats) == sorted(DEFAULT_FEATURES)
    True
    >>> bool(np.isfinite([v[-1] for v in feats.values()]).all())
    True
    """
    close = df["close"].to_numpy(dtype="float64")
    high = df["high"].to_numpy(dtype="float64")
    low = df["low"].to_numpy(dtype="float64")
    volume = df["volume"].to_numpy(dtype="float64")
    ema_fast, ema_slow = talib.EMA(close, 20), talib.EMA(close, 50)
    upper, middle, lower = talib.BBANDS(close, 20, 2.0, 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "fb_rsi": talib.RSI(close, 14) / 100.0 - 0.5,
            "fb_roc": talib.ROCR(close, 12) - 1.0,
            "fb_adx": talib.ADX(high, low, close, 14) / 100.0,
            "fb_trend": close / ema_slow - 1.0,
            "fb_ema_spread": ema_fast / ema_slow - 1.0,
            "fb_natr": talib.NATR(high, low, close, 14) / 100.0,
            "fb_bb_width": (upper - lower) / middle,
            "fb_bb_position": (close - lower) / (upper - lower) - 0.5,
            "fb_volume_ratio": np.log(volume / talib.SMA(volume, 20)),
        }


MARKET_FEATURES = ("fb_market_ret_1d", "fb_market_ret_7d", "fb_market_vol_1d")
"""The market's state at a signal: the market pair's return over the last day and week, and its
realized volatility over the last day (measured on the dev set: the only set of the four that
picked better than a coin flip, see docs/how-it-works.md)."""
TIME_FEATURES = ("fb_hour_sin", "fb_hour_cos", "fb_weekend")
"""The signal candle's hour of day (on a circle) and whether it is a weekend (UTC)."""
MARKET_MINUTES = 60
"""The market features are computed on 1h candles of the market pair (or the strategy's own,
when longer): a week is 168 of them, which a live bot downloads, where 2,016 5m candles
would exceed what an exchange serves in one request."""


def market_features(candles: pd.DataFrame, minutes: int) -> pd.DataFrame:
    """The market features of each candle of the market pair (``minutes`` long), by its
    ``date``. A value uses only candles up to its own: shifted back by the merge onto the
    strategy's candles, nothing comes from after a signal.

    Examples
    --------
    >>> dates = pd.date_range("2024-01-01", periods=200, freq="1h", tz="UTC")
    >>> close = pd.Series(np.linspace(100.0, 120.0, 200))
    >>> out = market_features(pd.DataFrame({"date": dates, "close": close}), 60)
    >>> list(out.columns) == ["date", *MARKET_FEATURES]
    True
    >>> bool(out["fb_market_ret_7d"].iloc[:168].isna().all())
    True
    >>> round(float(out["fb_market_ret_1d"].iloc[-1]), 4)
    0.0205
    """
    per_day = max(1, round(24 * 60 / minutes))
    close = candles["close"].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_return = np.log(close / close.shift(1))
        return pd.DataFrame({
            "date": candles["date"],
            "fb_market_ret_1d": close / close.shift(per_day) - 1.0,
            "fb_market_ret_7d": close / close.shift(7 * per_day) - 1.0,
            "fb_market_vol_1d": log_return.rolling(per_day).std() * np.sqrt(per_day),
        })


def time_features(dates: pd.Series) -> dict[str, np.ndarray]:
    """The time features of candles opening at ``dates`` (UTC).

    >>> out = time_features(pd.Series(pd.to_datetime(["2024-01-06 06:00"], utc=True)))
    >>> [round(float(out[k][0]), 3) for k in TIME_FEATURES]
    [1.0, 0.0, 1.0]
    """
    index = pd.DatetimeIndex(dates)
    angle = 2.0 * np.pi * (index.hour + index.minute / 60.0) / 24.0
    return {
        "fb_hour_sin": np.sin(angle),
        "fb_hour_cos": np.cos(angle),
        "fb_weekend": (index.day_of_week >= 5).astype("float64"),
    }


def add_default_features(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with the default feature columns added (one concat, no fragmentation)."""
    new = pd.DataFrame(default_features(df), index=df.index)
    return pd.concat([df.drop(columns=list(new.columns), errors="ignore"), new], axis=1)


def feature_columns(columns: Iterable[str], declared: Sequence[str] | None) -> tuple[str, ...]:
    """The feature columns the learner reads: the declared list, else every ``fb_`` column."""
    if declared is not None:
        return tuple(declared)
    return tuple(sorted(c for c in columns if str(c).startswith(FEATURE_PREFIX)))


def check_feature_columns(columns: Iterable[str], wanted: Sequence[str], pair: str) -> None:
    """Stop at start, naming the column, when the strategy does not produce a feature.

    Examples
    --------
    >>> check_feature_columns(["close", "fb_rsi"], ["fb_rsi", "fb_mine"], "BTC/USDT")
    Traceback (most recent call last):
    ...
    freqtrade_feedback.exceptions.FeatureError: Feature column 'fb_mine' ...
    """
    present = set(columns)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise FeatureError(
            f"Feature column {', '.join(map(repr, missing))} is not in the dataframe of "
            f"{pair}. Add it in populate_indicators, or remove it from "
            "'feedback.feature_columns'."
        )
    if not wanted:
        raise FeatureError(
            f"No feature columns in the dataframe of {pair}: name them with the prefix "
            f"{FEATURE_PREFIX!r}, list them in 'feedback.feature_columns', or set "
            "add a set to 'feedback.features'."
        )


class FeatureTable:
    """One pair's feature values as arrays, indexed by candle open time.

    Built once per analysis (once per backtest, once per new candle live), so that reading a
    signal's features is an array lookup instead of a dataframe slice per signal. Only the
    row of the asked candle is ever returned, so holding later rows in a backtest leaks
    nothing into a decision.

    Examples
    --------
    >>> df = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=3, freq="5min", tz="UTC"),
    ...                    "fb_a": [1.0, 2.0, 3.0]})
    >>> table = FeatureTable.from_frame(df, ("fb_a",))
    >>> table.row(df["date"][1].to_pydatetime())
    {'fb_a': 2.0}
    >>> table.row(pd.Timestamp("2023-01-01", tz="UTC").to_pydatetime()) is None
    True
    """

    def __init__(self, dates_ms: np.ndarray, values: np.ndarray, columns: Sequence[str]) -> None:
        self.dates_ms = dates_ms
        self.values = values
        self.columns = tuple(columns)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, columns: Sequence[str]) -> FeatureTable:
        dates = pd.DatetimeIndex(df["date"]).as_unit("ms").asi8
        values = df[list(columns)].to_numpy(dtype="float64", na_value=np.nan)
        return cls(dates, values, columns)

    def row(self, candle: datetime) -> dict[str, float] | None:
        """Features of the candle that opens at ``candle``, or ``None`` if it is not here."""
        key = int(candle.timestamp() * 1000)
        index = int(np.searchsorted(self.dates_ms, key))
        if index >= len(self.dates_ms) or self.dates_ms[index] != key:
            return None
        return dict(zip(self.columns, self.values[index].tolist(), strict=True))
