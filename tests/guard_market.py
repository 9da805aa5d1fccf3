"""A small seeded market for tests that drive a guarded loop (``FeedbackLoop``) by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from freqtrade_feedback.loop import FeedbackLoop, Signal

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PAIR = "LAB/USDT"


def drive(loop: FeedbackLoop, n: int, seed: int = 0, impact: float = 0.0,
           start: int = 0) -> list[float]:
    """A stationary market: win probability from a logistic truth; realized = shadow -
    impact x stake. Outcomes arrive two signals later."""
    rng = np.random.default_rng(seed)
    pending: list[tuple[str, bool, float, float]] = []
    booked = []
    for i in range(start, start + n):
        x = rng.normal(size=2)
        win = rng.random() < 1 / (1 + math.exp(-(2 * x[0] - x[1])))
        shadow = (0.01 if win else -0.01) + rng.normal(0, 0.001)
        now = T0 + timedelta(hours=i)
        signal = Signal(PAIR, now, features={"a": float(x[0]), "b": float(x[1])})
        decision = loop.on_signal(signal, now=now)
        stake = loop.stake_factor(decision)
        pending.append((signal.signal_id, decision.take, shadow - impact * stake, shadow))
        if len(pending) > 2:
            sid, taken, realized, shadow_ = pending.pop(0)
            loop.on_shadow(sid, profit_ratio=shadow_, now=now)
            if taken:
                loop.on_trade_closed(sid, profit_ratio=realized, now=now)
                booked.append(realized)
    return booked


def drive_worse_challenger(loop: FeedbackLoop, n: int, start: int) -> None:
    """The challenger learns every outcome the wrong way round, while the shadow outcomes
    (the unbiased yardstick) tell the truth: it gets worse than the champion."""
    rng = np.random.default_rng(start)
    for i in range(start, start + n):
        x = rng.normal(size=2)
        win = bool(rng.random() < 1 / (1 + math.exp(-(2 * x[0] - x[1]))))
        now = T0 + timedelta(hours=i)
        signal = Signal(PAIR, now, features={"a": float(x[0]), "b": float(x[1])})
        loop.on_signal(signal, now=now)
        if loop.supervisor is not None and loop.supervisor.learning_allowed:
            loop.learner_for(PAIR).learn_one(dict(signal.features), not win)
        loop.on_shadow(signal.signal_id, profit_ratio=0.01 if win else -0.01, now=now)
