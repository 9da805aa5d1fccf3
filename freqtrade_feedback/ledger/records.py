"""Frozen records the ledger hands out: plain values, detached from any database session.

Callers never see ORM rows, so a read cannot lazily hit the database later (or fail there),
and a record cannot be changed after the fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from freqtrade_feedback.typing import Features

REALIZED_PREFIX: Final = "trade"
SHADOW_PREFIX: Final = "shadow"


def realized_key(trade_id: int, exit_order_id: str | int) -> str:
    """The unique key of a realized outcome: one closing order of one trade.

    Keyed by the exit order, not the trade, because a trade that is re-opened or partially
    exited closes more than once, and each close is an outcome of its own.

    >>> realized_key(42, "ord-7")
    'trade:42:ord-7'
    """
    return f"{REALIZED_PREFIX}:{trade_id}:{exit_order_id}"


def shadow_key(signal_id: str) -> str:
    """The unique key of a shadow outcome: one per signal.

    >>> shadow_key("BTC/USDT|long|2024-01-01T00:00Z")
    'shadow:BTC/USDT|long|2024-01-01T00:00Z'
    """
    return f"{SHADOW_PREFIX}:{signal_id}"


@dataclass(frozen=True)
class LearnStep:
    """A learned outcome, with what a learner needs to learn it again (a replay).

    ``position`` orders the steps; a checkpoint taken at position ``p`` includes every step
    up to ``p``, so restoring it and replaying the steps after ``p`` rebuilds the learner.
    """

    position: int
    outcome_key: str
    scope: str
    learner_key: str
    learned_at: datetime
    n_learned: int
    signal_id: str
    pair: str
    features: Features | None
    """``None`` when the signal was not recorded; a non-finite value was stored as ``None``."""
    profit_ratio: float | None
    """The outcome's net profit ratio (a realized or a shadow one): the sizes learn it."""
    win: bool
    weight: float


@dataclass(frozen=True)
class Checkpoint:
    """A snapshot file the ledger vouches for by size and SHA-256."""

    id: int
    path: str
    """File name relative to the checkpoint folder."""
    sha256: str
    size: int
    created_at: datetime
    n_learned: int
    position: int


__all__ = ["Checkpoint", "LearnStep", "realized_key", "shadow_key"]
