"""What one signal costs inside the loop: ``benchmark --loop``.

A seeded random walk feeds one pair: each candle makes a signal, the live ShadowBook
resolves it on the candles that follow, taken signals close as trades with their shadow
outcome. Three variants run the same stream: the gate without the guard, the guarded loop,
and the guarded loop with the shadow book. No target: what a signal costs inside the loop is
a diagnosis, not a figure a user waits for (issue 12 dropped the 100 us one: 126 us cost a
guarded backtest nothing, it took fewer trades); the backtest and hyperopt wall times carry
the targets (``benchmark``, ``benchmark --hyperopt``).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.loop import FeedbackLoop, Signal
from freqtrade_feedback.shadow import Barriers, ShadowBook

FIVE = timedelta(minutes=5)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _market(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, n + 1)))
    features = rng.normal(size=(n, 4))
    return close, features


def run_once(n: int, seed: int, guard: bool, shadow: bool) -> tuple[float, dict[str, Any]]:
    """Microseconds per signal of one variant over ``n`` signals, and the loop's summary."""
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=30, scope="global", seed=seed,
                                         guard=GuardSettings(enabled=guard)))
    book = ShadowBook(Barriers({0: 0.006}, -0.006, max_candles=24, fee=0.001,
                               timeframe_minutes=5)) if shadow else None
    close, features = _market(n, seed)
    started = time.perf_counter()
    for i in range(n):
        now = T0 + FIVE * (i + 1)
        signal = Signal("LAB/USDT", T0 + FIVE * i,
                        features={f"f{j}": float(v) for j, v in enumerate(features[i])})
        loop.on_signal(signal, now=now)
        if book is None:
            continue
        book.add(signal.signal_id, "LAB/USDT", signal.candle)
        o, c = close[i], close[i + 1]
        spread = abs(math.sin(i)) * 0.002 * c
        for outcome in book.on_candle("LAB/USDT", now, o, max(o, c) + spread,
                                      min(o, c) - spread, c, now=now + FIVE):
            loop.on_shadow(outcome.signal_id, profit_ratio=outcome.profit_ratio, now=now)
            if loop.decision(outcome.signal_id).take:  # type: ignore[union-attr]
                loop.on_trade_closed(outcome.signal_id, profit_ratio=outcome.profit_ratio,
                                     now=now)
    elapsed = time.perf_counter() - started
    return elapsed / n * 1e6, loop.summary()


VARIANTS = {
    "gate, no guard, no shadows": (False, False),
    "gate, no guard, shadow book": (False, True),
    "guarded loop + shadow book": (True, True),
}
"""Variant name: (guard on, shadow book on)."""
WORST = "guarded loop + shadow book"


def measure(n: int = 5000, repeat: int = 3, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Median microseconds per signal of each variant, alternating runs."""
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    facts: dict[str, dict[str, Any]] = {}
    for _ in range(repeat):
        for name, (guard, shadow) in VARIANTS.items():
            us, facts[name] = run_once(n, seed, guard, shadow)
            times[name].append(us)
    return {name: {"us_per_signal": sorted(t)[len(t) // 2], "runs": len(t), **facts[name]}
            for name, t in times.items()}


def costliest(rows: dict[str, dict[str, Any]]) -> float:
    """Microseconds per signal of the guarded loop with the shadow book (the costliest)."""
    return float(rows[WORST]["us_per_signal"])
