"""ShadowFeed: the live path (candles arrive as they close) gives the backtest path's
outcomes, at the same time or later, never earlier; with the strategy's signals, long and
short signals with leverage, the backtest tick, and a restart (pickle) in between."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from freqtrade_feedback.shadow import Barriers, Candles
from freqtrade_feedback.shadow.feed import ShadowFeed, candle_arrays

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def _candles(n: int, seed: int) -> Candles:
    """A random walk on a 0.01 tick with sparse random entry and exit signals."""
    rng = np.random.default_rng(seed)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.004, n))), 2)
    open_ = np.concatenate([[100.0], close[:-1]])
    wick = np.round(np.abs(rng.normal(0, 0.002, n)) * close, 2)
    times = np.array([int((T0 + FIVE * i).timestamp() * 1000) for i in range(n)])
    frame = pd.DataFrame({
        "date": pd.to_datetime(times, unit="ms", utc=True), "open": open_,
        "high": np.maximum(open_, close) + wick, "low": np.minimum(open_, close) - wick,
        "close": close,
        **{column: (rng.random(n) < 0.05).astype(float)
           for column in ("enter_long", "exit_long", "enter_short", "exit_short")},
    })
    return candle_arrays(frame)


def test_live_and_backtest_paths_release_the_same_outcomes() -> None:
    barriers = Barriers({0: 0.01, 30: 0.004}, -0.01, max_candles=24, fee=0.001,
                        timeframe_minutes=5)
    candles = _candles(600, seed=4)
    assert candles.signals is not None and candles.decimals is not None
    assert set(candles.decimals.tolist()) == {2}
    sides = {i: ("short" if i % 2 else "long", 1.0 + i % 3) for i in range(10, 560, 7)}
    ahead, live = ShadowFeed(barriers, ahead=True), ShadowFeed(barriers, ahead=False)
    ahead.set_candles("LAB/USDT", candles)
    released: dict[str, dict[str, object]] = {"ahead": {}, "live": {}}
    for i in range(len(candles.times)):
        now = T0 + FIVE * (i + 1)  # candle i has just closed
        live.set_candles("LAB/USDT", Candles(*(a[: i + 1] for a in candles)))  # what live saw
        if i in sides:
            side, leverage = sides[i]
            for feed in (ahead, live):
                feed.add(f"LAB/USDT|{side}|{i}", "LAB/USDT", T0 + FIVE * i, side=side,
                         leverage=leverage)
        if i == 300:  # a restart: the live feed comes back from its checkpoint
            live = pickle.loads(pickle.dumps(live))
        for name, feed in (("ahead", ahead), ("live", live)):
            for outcome in feed.release(now=now):
                assert outcome.release_time <= now
                released[name][outcome.signal_id] = (outcome.profit_ratio, outcome.release_time,
                                                      outcome.barrier)
    assert len(released["ahead"]) > 60
    assert {barrier for _, _, barrier in released["ahead"].values()} >= {
        "roi", "stoploss", "exit_signal"}
    assert released["live"] == released["ahead"]
