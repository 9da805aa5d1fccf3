"""``freqtrade-feedback compare``: the same backtest with the gate off and on, side by side.

Both variants run the real Freqtrade backtesting engine over the same pairs, candles and
timerange, from a fresh loop each; the only difference is ``feedback.enabled``.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from freqtrade_feedback.cli.options import (
    add_backtest_options,
    backtest_config_from,
    restored_log_levels,
)

VARIANTS: dict[str, dict[str, Any]] = {
    "primary": {"enabled": False},
    "feedback": {"enabled": True, "guard": {"enabled": False}},
    "guarded": {"enabled": True, "guard": {"enabled": True}},
}
COLUMNS: dict[str, tuple[str, str]] = {
    "trades": ("Trades", "{:d}"),
    "win_rate": ("Win %", "{:.1%}"),
    "profit_total": ("Profit %", "{:.2%}"),
    "profit_total_abs": ("Profit abs", "{:.2f}"),
    "profit_mean": ("Mean/trade %", "{:.3%}"),
    "profit_mean_before_fees": ("Mean before fees %", "{:.3%}"),
    "max_drawdown": ("Max DD %", "{:.2%}"),
    "sharpe": ("Sharpe (daily)", "{:.2f}"),
    "signals": ("Signals", "{:d}"),
    "skipped": ("Skipped", "{:d}"),
    "explored": ("Explored", "{:d}"),
    "learned": ("Learned", "{:d}"),
    "transitions": ("Guard transitions", "{:d}"),
    "frozen_share": ("Decided while frozen %", "{:.1%}"),
    "shadow_agreement": ("Shadow = realized (win) %", "{:.1%}"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    add_backtest_options(parser)


def run_variants(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Backtest every variant and summarise each; progress goes to stderr."""
    from freqtrade_feedback.backtest import run_backtest
    from freqtrade_feedback.metrics import guard_summary, summarize

    rows: dict[str, dict[str, Any]] = {}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        for name, feedback in VARIANTS.items():
            task = progress.add_task(f"backtesting variant {name!r}", total=None)
            result = run_backtest(backtest_config_from(args, feedback))
            counts = result.loop.summary() if result.loop else {}
            guard = guard_summary(result.loop) if result.loop else guard_summary(None)
            rows[name] = {**summarize(result.stats, result.trades, counts), **guard,
                          "seconds": round(result.seconds, 2)}
            progress.remove_task(task)
    return rows


def render(rows: dict[str, dict[str, Any]], title: str) -> Table:
    """One column per variant, one row per figure: fits a terminal for any number of figures."""
    table = Table(title=title)
    table.add_column("")
    for name in rows:
        table.add_column(name, justify="right")
    for key, (header, fmt) in COLUMNS.items():
        table.add_row(header, *(_cell(fmt, row[key]) for row in rows.values()))
    return table


def _cell(fmt: str, value: Any) -> str:
    """A figure, or "-" where it does not apply (no guard, no shadows)."""
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return fmt.format(value)


def run(args: argparse.Namespace) -> int:
    with restored_log_levels():
        rows = run_variants(args)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        Console().print(render(rows, "Primary alone, naive feedback, guarded feedback"))
    return 0
