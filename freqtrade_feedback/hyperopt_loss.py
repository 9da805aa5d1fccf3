"""A hyperopt loss for strategies gated by a feedback loop (``FeedbackHyperOptLoss``).

Freqtrade's losses judge an epoch by its trades alone. With a learner in the loop, the trades
are the learner's own selection, scored on the range it learned on, and an optimiser then
picks the parameters under which that selection looked best: selection on top of selection.
This loss rewards risk-adjusted profit like ``SharpeHyperOptLossDaily`` and adds penalties
for what makes such a result untrustworthy: too few trades to judge, time the guard spent
frozen (the learner was fooling itself), and a learner whose own picks beat the unbiased
holdout stream by much (the part of the profit an in-sample evaluation overstates most).

It reads the learner from ``runs.current()``: the loss runs in the worker, right after the
epoch's backtest, so the loop the strategy registered is that epoch's. Without a registered
loop, only the trade-based terms count. Lower is better; the result is always finite.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from typing import Any

import pandas as pd
from freqtrade.optimize.hyperopt_loss.hyperopt_loss_interface import IHyperOptLoss

from freqtrade_feedback import runs
from freqtrade_feedback.loop import DecisionReason, FeedbackLoop
from freqtrade_feedback.metrics import daily_sharpe, frozen_time_share, guard_moves

WORST_LOSS = 100_000.0
"""What an epoch without trades, or with a result that is not a number, scores: Freqtrade's
own ``MAX_LOSS``, which it gives an epoch with fewer than ``hyperopt_min_trades`` trades, so
that such an epoch ranks with those and never above a real one."""


def selection_gap(loop: FeedbackLoop, min_unbiased: int) -> float:
    """How much better the model's own picks did than the unbiased stream, in standard deviations.

    ``(mean profit ratio of trades the model chose - mean of the reference trades) / sd``,
    ``sd`` the standard deviation of both groups' profit ratios together, so that the gap
    means the same for a strategy of 0.5% trades and one of 5% trades. The reference is the
    guard's holdout (a coin-flip sample of all signals, taken whatever the model says); without
    a guard it is the explored trades, a coin-flip sample of the signals the model *rejected*,
    whose gap is larger for the same learner. 0 with fewer than ``min_unbiased`` reference
    trades or no model trade: a mean of a handful of trades is noise, not evidence.
    """
    reference = DecisionReason.EXPLORE if loop.supervisor is None else DecisionReason.HOLDOUT
    chosen: list[float] = []
    unbiased: list[float] = []
    for outcome in loop.outcomes:
        decision = loop.decision(outcome.signal_id)
        if decision is None or not math.isfinite(outcome.profit_ratio):
            continue
        if decision.reason is DecisionReason.MODEL:
            chosen.append(outcome.profit_ratio)
        elif decision.reason is reference:
            unbiased.append(outcome.profit_ratio)
    if len(unbiased) < max(min_unbiased, 2) or not chosen:
        return 0.0
    sd = statistics.stdev(chosen + unbiased)
    if not sd > 0.0:  # all equal: no gap to scale
        return 0.0
    return (statistics.fmean(chosen) - statistics.fmean(unbiased)) / sd


def _range_sharpe(results: pd.DataFrame, start: datetime, end: datetime,
                  starting_balance: float) -> float:
    """``metrics.daily_sharpe`` over the whole backtest range, as Freqtrade's daily Sharpe loss
    does: two zero-profit rows at the range's ends make the days before the first close and
    after the last one count as flat days, so that trading one good week of a year does not
    score like a good year."""
    ends = pd.DataFrame({"close_date": pd.to_datetime([start, end], utc=True),
                         "profit_abs": [0.0, 0.0]})
    trades = pd.DataFrame({"close_date": pd.to_datetime(results["close_date"], utc=True),
                           "profit_abs": results["profit_abs"].astype(float)})
    return daily_sharpe(pd.concat([trades, ends], ignore_index=True), starting_balance)


class FeedbackHyperOptLoss(IHyperOptLoss):
    """``-sharpe + trade penalty + frozen penalty + selection-gap penalty``; lower is better.

    The weights are class attributes: subclass to change them (the shim in
    ``user_data/hyperopts`` is such a subclass, with the defaults). Each penalty is in
    Sharpe units, so a weight says how many points of annualised Sharpe the worst case of
    that flaw costs.
    """

    MIN_TRADES: int = 30
    """Trades below which the trade penalty starts (config ``feedback_loss_min_trades``):
    fewer trades than this make a daily Sharpe mostly noise, and a learner that trades
    little has also learned little."""
    TRADES_WEIGHT: float = 5.0
    """Penalty at zero trades: ``TRADES_WEIGHT * (1 - trades / MIN_TRADES) ** 2``. Quadratic,
    so it starts flat at the minimum (one trade short costs almost nothing) and grows as the
    count falls; 5 outweighs the Sharpe a handful of lucky trades can show."""
    FROZEN_WEIGHT: float = 3.0
    """Penalty for a guard frozen the whole range: ``FROZEN_WEIGHT * frozen_share``, the share
    of the range's time it was frozen (``metrics.frozen_time_share``). A frozen guard means
    a detector found the learner fooling itself; parameters under which that happens give a
    bot that spends its time not learning, whatever the profit."""
    GAP_WEIGHT: float = 1.0
    """Penalty per standard deviation of selection gap: ``GAP_WEIGHT * max(0, gap)``. In sample
    a learner's picks look better than they will live; the gap is the part of the profit that
    comes from the learner's own selection, the part an optimiser overfits. Only the positive
    part counts: picks worse than the holdout are already paid for in the Sharpe."""
    MIN_HOLDOUT_TRADES: int = 5
    """Reference (holdout or explored) trades below which the gap is not measured (0)."""

    @classmethod
    def hyperopt_loss_function(
        cls,
        *,
        results: pd.DataFrame,
        trade_count: int,
        min_date: datetime,
        max_date: datetime,
        config: dict[str, Any],
        processed: dict[str, pd.DataFrame],
        backtest_stats: dict[str, Any],
        starting_balance: float,
        **kwargs: Any,
    ) -> float:
        """The epoch's loss, with the loop the strategy registered in this process (if any).

        A class method, not Freqtrade's usual static one, so that a subclass's weights apply.
        """
        terms = cls.components(results=results, min_date=min_date, max_date=max_date,
                               config=config, starting_balance=starting_balance,
                               loop=runs.current())
        return terms["loss"]

    @classmethod
    def components(
        cls,
        *,
        results: pd.DataFrame,
        min_date: datetime,
        max_date: datetime,
        config: dict[str, Any],
        starting_balance: float,
        loop: FeedbackLoop | None,
    ) -> dict[str, float]:
        """Every term of the loss and what it was computed from, to see why an epoch scored
        as it did. ``loss`` is their sum, or ``WORST_LOSS`` without trades or if not finite."""
        trades = len(results)
        min_trades = int(config.get("feedback_loss_min_trades", cls.MIN_TRADES))
        shortfall = max(0.0, 1.0 - trades / min_trades) if min_trades > 0 else 0.0
        sharpe = _range_sharpe(results, min_date, max_date, starting_balance) if trades else 0.0
        frozen = gap = 0.0
        if loop is not None:
            if loop.supervisor is not None:
                frozen = frozen_time_share(guard_moves(loop.supervisor.transitions),
                                           min_date, max_date)
            gap = selection_gap(loop, cls.MIN_HOLDOUT_TRADES)
        terms = {
            "sharpe": sharpe,
            "trades": float(trades),
            "trade_penalty": cls.TRADES_WEIGHT * shortfall**2,
            "frozen_share": frozen,
            "frozen_penalty": cls.FROZEN_WEIGHT * frozen,
            "selection_gap": gap,
            "gap_penalty": cls.GAP_WEIGHT * max(0.0, gap),
        }
        loss = -sharpe + terms["trade_penalty"] + terms["frozen_penalty"] + terms["gap_penalty"]
        terms["loss"] = loss if trades and math.isfinite(loss) else WORST_LOSS
        return terms


__all__ = ["WORST_LOSS", "FeedbackHyperOptLoss", "selection_gap"]
