"""Figures that judge a variant: Freqtrade's own statistics plus the gate's counts.

Sharpe here is the standard daily-wallet one (daily P&L over the starting balance,
annualised with 365 days), not Freqtrade's per-trade "closed trades" figure, which grows
with the number of trades and so flatters a variant that trades more. The mean profit is
shown after and before fees: at a few trades a day the round-trip fee decides many
strategies, and a gate that only avoids fees is not a gate that predicts.

How long the guard was frozen is measured two ways, each computed here only:
:func:`frozen_time_share`, the share of the range's *time* (what the hyperopt loss penalises
and compare's ``frozen_share`` column shows), and :func:`frozen_decision_share`, the share of
gate *decisions* made while frozen (compare's ``frozen_decision_share``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from freqtrade_feedback.guard.states import GuardState

Moves = Iterable[tuple[datetime, bool]]
"""The guard's moves in time order: ``(when, frozen from then on)``; before the first move
the guard is not frozen."""


def daily_sharpe(trades: pd.DataFrame, starting_balance: float) -> float:
    """Annualised Sharpe ratio of daily wallet returns (days without a close count as 0).

    >>> trades = pd.DataFrame({"close_date": pd.to_datetime(
    ...     ["2024-01-01", "2024-01-02", "2024-01-04"], utc=True), "profit_abs": [10, -5, 8]})
    >>> round(daily_sharpe(trades, 1000.0), 2)
    8.88
    """
    if trades.empty or starting_balance <= 0:
        return 0.0
    daily = trades.set_index("close_date")["profit_abs"].resample("1D").sum() / starting_balance
    std = float(daily.std(ddof=1)) if len(daily) > 1 else 0.0
    if not math.isfinite(std) or std == 0.0:
        return 0.0
    return float(daily.mean()) / std * math.sqrt(365)


def summarize(stats: dict[str, Any], trades: pd.DataFrame, counts: dict[str, int]) -> dict:
    """One row of a comparison: Freqtrade's statistics and the feedback loop's counts."""
    fees = (trades["fee_open"] + trades["fee_close"]).mean() if len(trades) else 0.0
    mean = float(trades["profit_ratio"].mean()) if len(trades) else 0.0
    return {
        "trades": int(stats["total_trades"]),
        "win_rate": float(stats["winrate"]),
        "profit_total": float(stats["profit_total"]),
        "profit_total_abs": float(stats["profit_total_abs"]),
        "profit_mean": mean,
        "profit_mean_before_fees": mean + float(fees),
        "max_drawdown": float(stats["max_drawdown_account"]),
        "sharpe": daily_sharpe(trades, float(stats["starting_balance"])),
        "signals": counts.get("signals", 0),
        "skipped": counts.get("skipped", 0),
        "explored": counts.get("explored", 0),
        "learned": counts.get("learned", 0),
    }


def shadow_agreement(loop: Any) -> dict[str, float]:
    """How often a taken trade's shadow and realized outcomes agree (win label), and the
    mean absolute difference of their profit ratios: the shadow replay's fidelity."""
    shadows = {s.signal_id: s for s in loop.shadows}
    pairs = [(o, shadows[o.signal_id]) for o in loop.outcomes
             if o.signal_id in shadows and o.exit_reason != "force_exit"]
    if not pairs:
        return {"shadow_pairs": 0, "shadow_agreement": float("nan"),
                "shadow_mean_abs_gap": float("nan")}
    agree = sum(o.win == s.win for o, s in pairs) / len(pairs)
    gap = sum(abs(o.profit_ratio - s.profit_ratio) for o, s in pairs) / len(pairs)
    return {"shadow_pairs": len(pairs), "shadow_agreement": agree, "shadow_mean_abs_gap": gap}


def guard_moves(transitions: Iterable[Any]) -> list[tuple[datetime, bool]]:
    """:data:`Moves` from the guard's transition history."""
    return [(t.at, t.target is GuardState.FROZEN) for t in transitions]


def frozen_time_share(moves: Moves, start: datetime, end: datetime) -> float:
    """Share of ``[start, end]`` the guard spent frozen, in wall-clock time.

    Not decisions (:func:`frozen_decision_share`): a guard that froze and then saw no signal
    for a month was frozen for that month, and a parameter set that trades rarely must not
    hide it. Moves outside the range are clipped to it.

    >>> from datetime import UTC
    >>> day = lambda d: datetime(2024, 1, d, tzinfo=UTC)
    >>> frozen_time_share([(day(4), True)], day(1), day(5))
    0.25
    >>> frozen_time_share([(day(1), False), (day(2), True), (day(4), False)], day(1), day(5))
    0.5
    """
    span = (end - start).total_seconds()
    if span <= 0:
        return 0.0
    frozen_since: datetime | None = None
    seconds = 0.0
    for when, frozen in moves:
        at = min(max(when, start), end)
        if frozen and frozen_since is None:
            frozen_since = at
        elif not frozen and frozen_since is not None:
            seconds += (at - frozen_since).total_seconds()
            frozen_since = None
    if frozen_since is not None:
        seconds += (end - frozen_since).total_seconds()
    return seconds / span


def frozen_decision_share(moves: Moves, decided: Sequence[datetime]) -> float:
    """Share of the decisions, made at the sorted times ``decided``, taken while the guard
    was frozen (a move at the very time of a decision counts before it).

    >>> from datetime import UTC
    >>> day = lambda d: datetime(2024, 1, d, tzinfo=UTC)
    >>> frozen_decision_share([(day(2), True)], [day(1), day(2), day(3), day(4)])
    0.75
    """
    if not decided:
        return 0.0
    changes = list(moves)
    frozen, i, count = False, 0, 0
    for at in decided:
        while i < len(changes) and changes[i][0] <= at:
            frozen = changes[i][1]
            i += 1
        count += frozen
    return count / len(decided)


def guard_summary(loop: Any) -> dict[str, Any]:
    """The guard's events and time spent frozen (share of decisions made while frozen)."""
    supervisor = getattr(loop, "supervisor", None)
    if supervisor is None:
        return {"guard": "off", "transitions": 0, "frozen_decision_share": 0.0, "promotions": 0,
                "shadow_agreement": float("nan")}
    decisions = loop.decisions
    frozen = sum(d.reason.value == "frozen" for d in decisions)
    quarantined = sum(o.status.value == "quarantined" for o in loop.outcomes)
    return {
        "guard": loop.guard_state,
        "transitions": len(supervisor.transitions),
        "frozen_decision_share": frozen_decision_share(guard_moves(supervisor.transitions),
                                              [d.decided_at for d in decisions]),
        "frozen_decisions": frozen,
        "quarantined": quarantined,
        "promotions": supervisor.promotions,
        "rollbacks": supervisor.rollbacks,
        **shadow_agreement(loop),
    }
