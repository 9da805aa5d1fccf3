"""What a report needs from one backtest, as plain frames a worker can send back.

A worker returns these instead of the feedback loop itself: the loop holds learners, the
guard's detectors and every record of the run, which is much more to pickle than the few
columns the plots draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from freqtrade_feedback.backtest import BacktestRun
from freqtrade_feedback.guard.states import GuardState
from freqtrade_feedback.loop import FeedbackLoop
from freqtrade_feedback.metrics import frozen_time_share


@dataclass
class Series:
    """One variant's run on one fold, reduced to what the report plots."""

    start: datetime
    end: datetime
    equity: pd.DataFrame
    """``date, balance``: the wallet after each closed trade, from the starting balance."""
    decisions: pd.DataFrame
    """``date, take, probability``: every gate decision (empty with the gate off)."""
    guard: pd.DataFrame
    """``date, state``: the guard's state from the start, one row per move (empty: no guard)."""
    outcomes: pd.DataFrame
    """``probability, win, realized, shadow``: taken signals that closed, with the model's
    probability when it decided and the shadow outcome's profit ratio (NaN if none)."""

    def frozen_share(self) -> float:
        """Share of the backtest's time the guard spent frozen (``metrics.frozen_time_share``:
        wall-clock, not decisions)."""
        if self.guard.empty:
            return 0.0
        moves = zip(self.guard["date"], self.guard["state"] == GuardState.FROZEN.value,
                    strict=True)
        return frozen_time_share(moves, self.start, self.end)


def extract(run: BacktestRun) -> Series:
    """The report's frames from one backtest and its feedback loop."""
    stats = run.stats
    start = datetime.fromtimestamp(stats["backtest_start_ts"] / 1000, UTC)
    end = datetime.fromtimestamp(stats["backtest_end_ts"] / 1000, UTC)
    trades = run.trades.sort_values("close_date")
    balance = float(stats["starting_balance"]) + trades["profit_abs"].astype(float).cumsum()
    equity = pd.DataFrame({"date": [start, *trades["close_date"]],
                           "balance": [float(stats["starting_balance"]), *balance]})
    loop = run.loop
    decisions = [] if loop is None else loop.decisions
    frame = pd.DataFrame({"date": [d.decided_at for d in decisions],
                          "take": [d.take for d in decisions],
                          "probability": [d.probability for d in decisions]},
                         columns=["date", "take", "probability"])
    frame["probability"] = frame["probability"].astype(float)
    return Series(start, end, equity, frame, _guard(loop, start), _outcomes(loop))


def _guard(loop: FeedbackLoop | None, start: datetime) -> pd.DataFrame:
    supervisor = None if loop is None else loop.supervisor
    if supervisor is None:
        return pd.DataFrame(columns=["date", "state"])
    moves = supervisor.transitions
    first = moves[0].source.value if moves else supervisor.state.value
    return pd.DataFrame({"date": [start, *(t.at for t in moves)],
                         "state": [first, *(t.target.value for t in moves)]})


def _outcomes(loop: FeedbackLoop | None) -> pd.DataFrame:
    columns = ["probability", "win", "realized", "shadow"]
    if loop is None:
        return pd.DataFrame(columns=columns)
    shadows = {s.signal_id: s.profit_ratio for s in loop.shadows}
    rows = []
    for outcome in loop.outcomes:
        decision = loop.decision(outcome.signal_id)
        probability = None if decision is None else decision.probability
        rows.append((probability, outcome.win, outcome.profit_ratio,
                     shadows.get(outcome.signal_id)))
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"probability": float, "win": bool, "realized": float, "shadow": float})
