"""What the gate costs a backtest: ``benchmark`` (its default measure).

The gate-off and gate-on backtests alternate in one process over the same copy of the data,
so a noisy shared machine slows both alike. One untimed warm-up run pays the one-time
imports first. The ratio of median wall times is the figure (target: at most 1.15). Wall
time covers the whole run, data load and indicators included: what a user waits for.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from freqtrade_feedback.exceptions import ConfigError

TARGET = 1.15
DEFAULT_DATA = Path("../shared/data/binance-2024")
DEFAULT_PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
VARIANTS: dict[str, dict[str, Any]] = {
    "gate off": {"enabled": False},
    "gate on": {"enabled": True},
    "gate on, takes all": {"enabled": True, "min_edge": -0.1},
}
"""The second variant is the defaults (the guard on). The third runs the whole gate and guard
but takes every signal (an expected profit of -10% per trade passes the bar): the same trades
as the gate off, so its ratio is the pure cost of the machinery, without the time saved by
skipping."""

ConfigFactory = Callable[[Mapping[str, Any], Path], dict[str, Any]]
"""``make_config(feedback, datadir)``: Freqtrade's processed backtest config with a variant's
``feedback`` settings merged in, reading its candles from ``datadir``."""


def copy_candles(source: Path, pairs: Sequence[str], timeframe: str, target: Path) -> None:
    """Copy the pairs' candle files (the data folder is a read-only input), and the market
    pair's candles the default features read (BTC/USDT 1h for a 5m or 1h run) when the
    source has them: without them every signal would get the fallback rule, and a benchmark
    would time a gate that never decides."""
    from freqtrade_feedback.config import FeedbackSettings
    from freqtrade_feedback.feature_sets import informative_pairs

    for pair, frame in informative_pairs(FeedbackSettings(), {"stake_currency": "USDT"},
                                         timeframe):
        name = f"{pair.replace('/', '_')}-{frame}.feather"
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
    for pair in pairs:
        name = f"{pair.replace('/', '_')}-{timeframe}.feather"
        if not (source / name).is_file():
            raise ConfigError(f"No candles for pair {pair!r} at {source / name}. "
                              "Pass --datadir with Freqtrade-format data, or other --pairs.")
        shutil.copy2(source / name, target / name)


def measure(make_config: ConfigFactory, datadir: Path, pairs: Sequence[str], timeframe: str,
            repeat: int) -> dict[str, dict[str, Any]]:
    """Median and minimum wall time of each variant over ``repeat`` alternating runs, with
    the trades and the signals gated of its last run."""
    from freqtrade_feedback.backtest import run_backtest

    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    facts: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="ff-bench-") as tmp:
        copy_candles(datadir, pairs, timeframe, Path(tmp))
        run_backtest(make_config(VARIANTS["gate off"], Path(tmp)))  # warm-up, not timed
        for _ in range(repeat):
            for name, feedback in VARIANTS.items():
                result = run_backtest(make_config(feedback, Path(tmp)))
                times[name].append(result.seconds)
                counts = result.loop.summary() if result.loop else {}
                facts[name] = {"trades": len(result.trades), "signals": counts.get("signals", 0)}
    return {name: {"median_s": statistics.median(t), "min_s": min(t), "runs": len(t),
                   **facts[name]} for name, t in times.items()}


def verdict(rows: dict[str, dict[str, Any]]) -> tuple[float, float, str]:
    """Gate on / gate off and gate on taking every signal / gate off (medians), and whether
    both are within the target."""
    off = rows["gate off"]["median_s"]
    ratio = rows["gate on"]["median_s"] / off
    overhead = rows["gate on, takes all"]["median_s"] / off
    return ratio, overhead, "PASS" if max(ratio, overhead) <= TARGET else "FAIL"
