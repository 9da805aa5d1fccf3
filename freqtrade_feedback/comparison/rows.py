"""One row per variant and fold: Freqtrade's statistics, the loop's counts, the CSV columns.

Sharpe, Sortino and Calmar are Freqtrade's daily wallet-balance figures
(``wallet_stats``), the standard definitions, not its "closed trades" ones, which grow with
the number of trades and so flatter a variant that trades more. ``max_drawdown`` is
Freqtrade's ``max_drawdown_account`` over closed trades. ``frozen_share`` is the share of the
backtest's *time* the guard spent frozen; ``frozen_decision_share`` the share of gate
decisions made while frozen. The ``in_sample_*`` columns are the hyperopt's best epoch on
its own range: what the optimiser saw, not what the parameters do later. Freqtrade computes
no wallet figures in hyperopt, so the in-sample side is compared by mean profit per trade
(independent of the range's length), not by Sharpe.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

from freqtrade_feedback.backtest import BacktestRun
from freqtrade_feedback.comparison.plan import Task
from freqtrade_feedback.comparison.series import Series
from freqtrade_feedback.metrics import guard_summary, summarize

CSV_COLUMNS: Final = (
    "variant", "fold", "in_sample", "out_of_sample",
    "trades", "profit_total", "profit_total_abs", "profit_mean", "profit_mean_before_fees",
    "win_rate", "sharpe", "sortino", "calmar", "max_drawdown",
    "frozen_share", "frozen_decision_share", "learned", "signals", "skipped", "explored",
    "guard", "transitions", "shadow_agreement",
    "in_sample_trades", "in_sample_profit_total", "in_sample_profit_mean", "in_sample_loss",
    "epochs", "best_epoch", "spaces", "loss", "random_state", "params", "seconds",
)
"""Columns of ``compare.csv``, in order."""


def make_row(task: Task, run: BacktestRun, series: Series,
             best: Mapping[str, Any] | None) -> dict[str, Any]:
    """The row of one variant on one fold; ``best`` is the hyperopt's best epoch (``None``
    without ``--epochs``, empty when no epoch had a trade)."""
    counts = run.loop.summary() if run.loop else {}
    guard = guard_summary(run.loop)
    wallet = run.stats["wallet_stats"]
    row: dict[str, Any] = {
        "variant": task.variant,
        "fold": task.fold.index,
        "in_sample": task.fold.optimise or "",
        "out_of_sample": task.fold.evaluate or "",
        **summarize(run.stats, run.trades, counts),
        **guard,
        "sharpe": float(wallet["sharpe"]),
        "sortino": float(wallet["sortino"]),
        "calmar": float(wallet["calmar"]),
        "frozen_share": series.frozen_share(),
    }
    if task.budget is not None:
        row.update(_in_sample(best or {}), epochs=task.budget.epochs,
                   spaces=" ".join(task.spaces), loss=task.budget.loss,
                   random_state=task.budget.random_state)
    return row


def _in_sample(best: Mapping[str, Any]) -> dict[str, Any]:
    """The best epoch's figures; NaN and epoch 0 when no epoch had a trade (the parameters
    evaluated are then the strategy's defaults)."""
    metrics = best.get("results_metrics", {})
    nan = math.nan
    return {
        "in_sample_trades": int(metrics.get("total_trades", 0)),
        "in_sample_profit_total": float(metrics.get("profit_total", nan)),
        "in_sample_profit_mean": float(metrics.get("profit_mean", nan)),
        "in_sample_loss": float(best.get("loss", nan)),
        "best_epoch": int(best.get("current_epoch", 0)),
        "params": json.dumps(best.get("params_dict", {}), sort_keys=True, default=str),
    }
