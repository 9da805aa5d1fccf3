"""The feature sets of ``feedback.features`` on a strategy's analyzed dataframe.

``features.py`` computes each set from candles (core, no Freqtrade); this module fetches what
they need from Freqtrade (the market pair's candles through the strategy's ``DataProvider``)
and merges them onto the strategy's candles without looking ahead: the market features of a
1h candle reach the strategy's candles that close with it or later (Freqtrade's
``merge_informative_pair``), so a 5m signal at 10:55 reads the 1h candle of 10:00, which
closed at 11:00 as the signal candle did.

The ``pair`` set is no column: the loop hands the pair to the learner as a categorical input.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.strategy import merge_informative_pair

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.features import (
    MARKET_FEATURES,
    MARKET_MINUTES,
    TIME_FEATURES,
    add_default_features,
    market_features,
    time_features,
)

MARKET_BASE = "BTC"


def market_pair(settings: FeedbackSettings, config: dict[str, Any]) -> str:
    """The pair whose candles describe the market: ``feedback.market_pair``, else BTC quoted
    in the stake currency (settled in it in futures: ``BTC/USDT:USDT``).

    >>> market_pair(FeedbackSettings(), {"stake_currency": "USDT", "trading_mode": "futures"})
    'BTC/USDT:USDT'
    >>> market_pair(FeedbackSettings(market_pair="ETH/BTC"), {"stake_currency": "BTC"})
    'ETH/BTC'
    """
    if settings.market_pair:
        return settings.market_pair
    stake = config.get("stake_currency", "USDT")
    settle = f":{stake}" if config.get("trading_mode") == "futures" else ""
    return f"{MARKET_BASE}/{stake}{settle}"


def market_timeframe(timeframe: str) -> str:
    """1h, or the strategy's own timeframe when it is longer (see ``MARKET_MINUTES``).

    >>> market_timeframe("5m"), market_timeframe("1h"), market_timeframe("4h")
    ('1h', '1h', '4h')
    """
    return "1h" if timeframe_to_minutes(timeframe) <= MARKET_MINUTES else timeframe


def informative_pairs(settings: FeedbackSettings, config: dict[str, Any],
                      timeframe: str) -> list[tuple[str, str]]:
    """The candles the feature sets need besides the traded pairs (Freqtrade downloads and
    caches them in dry-run and live)."""
    if not settings.enabled or "market" not in settings.features:
        return []
    return [(market_pair(settings, config), market_timeframe(timeframe))]


def add_feature_sets(dataframe: pd.DataFrame, settings: FeedbackSettings, *,
                     market: pd.DataFrame | None, timeframe: str) -> pd.DataFrame:
    """``dataframe`` with the columns of the configured feature sets; ``market`` holds the
    market pair's candles in ``market_timeframe(timeframe)`` (``None`` or empty: the market
    columns are NaN, and the loop sends such signals to the fallback rule)."""
    if "ta" in settings.features:
        dataframe = add_default_features(dataframe)
    columns: dict[str, Any] = {}
    if "time" in settings.features:
        columns.update(time_features(dataframe["date"]))
    if "market" in settings.features:
        columns.update(_market_columns(dataframe, market, timeframe))
    if not columns:
        return dataframe
    new = pd.DataFrame(columns, index=dataframe.index)
    return pd.concat([dataframe.drop(columns=list(new.columns), errors="ignore"), new], axis=1)


def _market_columns(dataframe: pd.DataFrame, market: pd.DataFrame | None,
                    timeframe: str) -> dict[str, Any]:
    if market is None or market.empty:
        return {name: np.full(len(dataframe), math.nan) for name in MARKET_FEATURES}
    informative = market_timeframe(timeframe)
    values = market_features(market, timeframe_to_minutes(informative))
    merged = merge_informative_pair(dataframe[["date"]], values, timeframe, informative,
                                    ffill=True)
    return {name: merged[f"{name}_{informative}"].to_numpy() for name in MARKET_FEATURES}


__all__ = ["TIME_FEATURES", "add_feature_sets", "informative_pairs", "market_pair",
           "market_timeframe"]
