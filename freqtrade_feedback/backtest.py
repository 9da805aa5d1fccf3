"""Run one real Freqtrade backtest from Python, offline, and keep what the tables drop.

``compare``, ``benchmark`` and the integration tests need the trades, the stats and the
strategy's feedback loop after the run, which ``freqtrade backtesting`` only prints. This is
Freqtrade's own ``Backtesting.start`` minus the printing and the result cache (a cached
result would skip our callbacks entirely).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from freqtrade.configuration import setup_utils_configuration
from freqtrade.enums import RunMode
from freqtrade.optimize.backtesting import Backtesting
from freqtrade.optimize.optimize_reports import generate_backtest_stats
from pandas import DataFrame

from freqtrade_feedback.loop import FeedbackLoop
from freqtrade_feedback.offline import install as install_offline


@dataclass
class BacktestRun:
    """What one backtest produced."""

    strategy: str
    stats: dict[str, Any]
    """Freqtrade's per-strategy statistics (``profit_total``, ``sharpe``, ``trades`` ...)."""
    trades: DataFrame
    """Freqtrade's raw trade results, one row per trade."""
    loop: FeedbackLoop | None
    """The strategy's feedback loop after the run (``None`` for a strategy without one)."""
    seconds: float
    """Wall time of the whole run: data load, indicators, simulation, statistics."""


def backtest_config(
    config: Path | str,
    *,
    strategy: str,
    datadir: Path | str | None = None,
    timerange: str | None = None,
    strategy_path: Path | str | None = None,
    user_data_dir: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Freqtrade's processed backtest config, as the CLI would build it from these options."""
    args: dict[str, Any] = {
        "config": [str(config)],
        "strategy": strategy,
        "export": "none",
        "backtest_cache": "none",
    }
    options = {"datadir": datadir, "timerange": timerange, "strategy_path": strategy_path,
               "user_data_dir": user_data_dir}
    for key, value in options.items():
        if value is not None:
            args[key] = str(value)
    install_offline()
    settings = setup_utils_configuration(args, RunMode.BACKTEST)
    for key, value in (overrides or {}).items():
        if key == "feedback":
            settings["feedback"] = {**settings.get("feedback", {}), **value}
        else:
            settings[key] = value
    return settings


def run_backtest(config: dict[str, Any]) -> BacktestRun:
    """Backtest the config's strategy once and return the results with its feedback loop."""
    install_offline()
    started = time.perf_counter()
    backtesting = Backtesting(config)
    try:
        data, timerange = backtesting.load_bt_data()
        strategy = backtesting.strategylist[0]
        min_date, max_date = backtesting.backtest_one_strategy(strategy, data, timerange)
        name = strategy.get_strategy_name()
        content = backtesting.all_bt_content
        stats = generate_backtest_stats(data, content, min_date=min_date, max_date=max_date)
    finally:
        Backtesting.cleanup()
    return BacktestRun(
        strategy=name,
        stats=stats["strategy"][name],
        trades=content[name]["results"],
        loop=getattr(strategy, "feedback_loop", None),
        seconds=time.perf_counter() - started,
    )
