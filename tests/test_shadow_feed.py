"""ShadowFeed: the live path (candles arrive as they close) gives the backtest path's
outcomes, at the same time or later, never earlier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from freqtrade_feedback.shadow import Barriers
from freqtrade_feedback.shadow.feed import ShadowFeed

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def _candles(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    wick = np.abs(rng.normal(0, 0.002, n)) * close
    times = np.array([int((T0 + FIVE * i).timestamp() * 1000) for i in range(n)])
    return times, open_, np.maximum(open_, close) + wick, np.minimum(open_, close) - wick, close


def test_live_and_backtest_paths_release_the_same_outcomes() -> None:
    barriers = Barriers({0: 0.01, 30: 0.004}, -0.01, max_candles=24, fee=0.001,
                        timeframe_minutes=5)
    candles = _candles(600, seed=4)
    signals = {i: f"LAB/USDT|long|{i}" for i in range(10, 560, 7)}
    ahead, live = ShadowFeed(barriers, ahead=True), ShadowFeed(barriers, ahead=False)
    ahead.set_candles("LAB/USDT", candles)
    released: dict[str, dict[str, object]] = {"ahead": {}, "live": {}}
    for i in range(len(candles[0])):
        now = T0 + FIVE * (i + 1)  # candle i has just closed
        live.set_candles("LAB/USDT", tuple(a[: i + 1] for a in candles))  # what live has seen
        if i in signals:
            for feed in (ahead, live):
                feed.add(signals[i], "LAB/USDT", T0 + FIVE * i)
        for name, feed in (("ahead", ahead), ("live", live)):
            for outcome in feed.release(now=now):
                assert outcome.release_time <= now
                released[name][outcome.signal_id] = (outcome.profit_ratio, outcome.release_time)
    assert len(released["ahead"]) > 60
    assert released["live"] == released["ahead"]
