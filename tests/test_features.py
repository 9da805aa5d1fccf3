"""Default features: scale-free, causal, and bad candles show up as non-finite values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from freqtrade_feedback.exceptions import FeatureError
from freqtrade_feedback.features import (
    DEFAULT_FEATURES,
    add_default_features,
    check_feature_columns,
    feature_columns,
)


def _frame(n: int = 600, seed: int = 5, level: float = 100.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = level * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    spread = np.abs(rng.normal(0, 0.002, n)) * close
    return pd.DataFrame({
        "date": pd.date_range("2024-01-01", periods=n, freq="5min", tz="UTC"),
        "open": close, "high": close + spread, "low": close - spread, "close": close,
        "volume": rng.uniform(10, 20, n),
    })


def test_features_are_scale_free() -> None:
    """BTC at 60,000 and a small cap at 0.002 read the same features from the same shape."""
    cheap, dear = _frame(level=0.002), _frame(level=60_000.0)
    a = add_default_features(cheap)[list(DEFAULT_FEATURES)].iloc[250:]
    b = add_default_features(dear)[list(DEFAULT_FEATURES)].iloc[250:]
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-6, atol=1e-9)
    assert np.isfinite(a.to_numpy()).all()


def test_features_at_t_do_not_depend_on_later_candles() -> None:
    full = add_default_features(_frame())
    cut = add_default_features(_frame().iloc[:400])
    pd.testing.assert_frame_equal(full.iloc[:400], cut)


def test_zero_volume_and_flat_stretches_give_non_finite_values() -> None:
    df = _frame()
    df.loc[300:340, "volume"] = 0.0
    df.loc[300:340, ["open", "high", "low", "close"]] = 100.0
    out = add_default_features(df)
    assert not np.isfinite(out.loc[320, "fb_volume_ratio"])
    assert not np.isfinite(out.loc[335, "fb_bb_position"])


def test_the_strategy_can_add_its_own_columns_by_prefix() -> None:
    df = add_default_features(_frame()).assign(fb_mine=1.0, other=2.0)
    assert "fb_mine" in feature_columns(df.columns, None)
    assert "other" not in feature_columns(df.columns, None)
    assert feature_columns(df.columns, ["other"]) == ("other",)


def test_a_missing_column_is_named() -> None:
    with pytest.raises(FeatureError, match="'fb_missing' is not in the dataframe of ETH/USDT"):
        check_feature_columns(["close", "fb_rsi"], ["fb_rsi", "fb_missing"], "ETH/USDT")
    with pytest.raises(FeatureError, match="No feature columns in the dataframe of ETH/USDT"):
        check_feature_columns(["close"], [], "ETH/USDT")
