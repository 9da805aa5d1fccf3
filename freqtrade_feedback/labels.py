"""Realized labels: what a closed trade teaches the learner.

The label is binary (a win: profit ratio net of fees above ``min_profit``), because the gate's
question is binary (take or skip). The ratio itself is kept on the record, for sample weights
and for the reports that judge whether the gate adds value after fees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class LearnStatus(StrEnum):
    """Whether an outcome was learned, and if not, why. Persisted as its string value."""

    LEARNED = "learned"
    FORCE_EXIT = "force_exit"
    BAD_FEATURES = "bad_features"
    BAD_PROFIT = "bad_profit"
    UNKNOWN_SIGNAL = "unknown_signal"
    QUARANTINED = "quarantined"
    """The guard was frozen: recorded, not learned."""
    PENDING = "pending"
    """Closed during the current candle of a simulation: learned from the next candle on."""


@dataclass(frozen=True)
class RealizedOutcome:
    """The result of a trade the bot made, recorded whether or not it was learned."""

    signal_id: str
    pair: str
    profit_ratio: float
    win: bool
    weight: float
    closed_at: datetime
    exit_reason: str
    status: LearnStatus
    trade_id: int | None = None

    @property
    def learned(self) -> bool:
        return self.status is LearnStatus.LEARNED


@dataclass(frozen=True)
class ShadowRecord:
    """What a signal would have made, replayed on later candles, taken or not.

    The unbiased yardstick: it exists for every signal that reached the gate, whatever the
    gate decided, so the learner's own selection cannot hide it. The guard evaluates on it,
    and with ``labels: "all"`` the learner learns a skipped signal from it.
    """

    signal_id: str
    pair: str
    profit_ratio: float
    win: bool
    observed_at: datetime
    taken: bool
    """Whether the gate took the signal (so a realized outcome exists too)."""
    probability: float | None
    """The model's probability of a win when it decided, if it was asked."""
    learned: bool = False
    """Whether the learner learned the signal from it (a skipped signal, ``labels: "all"``)."""
    weight: float = 1.0
    """Its sample weight, had it been learned (see :func:`outcome_weight`)."""


def is_win(profit_ratio: float, min_profit: float) -> bool:
    """A trade is a win when its net profit ratio is strictly above ``min_profit``.

    >>> is_win(0.004, 0.002), is_win(0.002, 0.002), is_win(-0.01, 0.0)
    (True, False, False)
    """
    return profit_ratio > min_profit


def outcome_weight(profit_ratio: float, mode: str) -> float:
    """Sample weight of an outcome: 1, or its size relative to a 1% move clipped to [0.1, 10].

    Weighting by size makes a 5% loss teach more than a 0.1% one, which is what a stake-sized
    P&L cares about.

    >>> [outcome_weight(r, m) for r, m in ((0.03, "uniform"), (0.03, "profit"), (0.0, "profit"))]
    [1.0, 3.0, 0.1]
    """
    if mode == "uniform" or not math.isfinite(profit_ratio):
        return 1.0
    return min(10.0, max(0.1, round(abs(profit_ratio) / 0.01, 12)))
