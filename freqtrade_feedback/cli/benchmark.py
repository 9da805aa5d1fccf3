"""``freqtrade-feedback benchmark``: what the gate costs a backtest, measured side by side.

The gate-off and gate-on backtests alternate in one process over the same copy of the data,
so a noisy shared machine slows both alike. One untimed warm-up run pays the one-time
imports first. The ratio of median wall times is the figure (target: at most 1.15). Wall
time covers the whole run, data load and indicators included: what a user waits for.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from freqtrade_feedback.cli.options import (
    add_backtest_options,
    backtest_config_from,
    positive_int,
    restored_log_levels,
)

TARGET = 1.15
DEFAULT_DATA = Path("../shared/data/binance-2024")
DEFAULT_PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
VARIANTS = {
    "gate off": {"enabled": False},
    "gate on": {"enabled": True},
    "gate on, takes all": {"enabled": True, "threshold": 0.0},
}
"""The third variant runs the whole gate but takes every signal: the same trades as the gate
off, so its ratio is the pure cost of the machinery, without the time saved by skipping."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_backtest_options(parser)
    parser.set_defaults(datadir=DEFAULT_DATA)
    parser.add_argument("--pairs", nargs="+", default=list(DEFAULT_PAIRS),
                        help="pairs to backtest (default: %(default)s)")
    parser.add_argument("--timeframe", default="5m", help="candle timeframe (default: 5m)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each variant, alternating (default: %(default)s)")
    parser.add_argument("--loop", action="store_true",
                        help="measure microseconds per signal inside the loop (guard, shadow "
                        "book) instead of backtest wall time")
    parser.add_argument("--signals", type=int, default=5000,
                        help="signals per run with --loop (default: %(default)s)")
    parser.add_argument("--journal", action="store_true",
                        help="measure the dry-run/live callback latency with the ledger on a "
                        "SQLite file (p50, p99) instead of backtest wall time")
    parser.add_argument("--hyperopt", action="store_true",
                        help="measure hyperopt epochs per minute with the gate against the "
                        "primary strategy alone (-j 1, space buy; timerange default "
                        "20240101-20240201) instead of backtest wall time")
    parser.add_argument("--epochs", type=positive_int, default=20,
                        help="epochs per hyperopt run with --hyperopt (default: %(default)s)")


def _copy_data(source: Path, pairs: list[str], timeframe: str, target: Path) -> None:
    """Copy the pairs' candle files: the data folder is a read-only input."""
    for pair in pairs:
        name = f"{pair.replace('/', '_')}-{timeframe}.feather"
        if not (source / name).is_file():
            from freqtrade_feedback.exceptions import ConfigError

            raise ConfigError(f"No candles for pair {pair!r} at {source / name}. "
                              "Pass --datadir with Freqtrade-format data, or other --pairs.")
        shutil.copy2(source / name, target / name)


def _config(args: argparse.Namespace, variant: str) -> dict[str, Any]:
    config = backtest_config_from(args, VARIANTS[variant])
    config["exchange"]["pair_whitelist"] = list(args.pairs)
    config["timeframe"] = args.timeframe
    return config


def measure(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    from freqtrade_feedback.backtest import run_backtest

    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    facts: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="ff-bench-") as tmp:
        _copy_data(args.datadir, args.pairs, args.timeframe, Path(tmp))
        args.datadir = Path(tmp)
        run_backtest(_config(args, "gate off"))  # warm-up, not timed
        for _ in range(args.repeat):
            for name in VARIANTS:
                result = run_backtest(_config(args, name))
                times[name].append(result.seconds)
                counts = result.loop.summary() if result.loop else {}
                facts[name] = {"trades": len(result.trades), "signals": counts.get("signals", 0)}
    return {name: {"median_s": statistics.median(t), "min_s": min(t), "runs": len(t),
                   **facts[name]} for name, t in times.items()}


def _report(args: argparse.Namespace, payload: dict[str, Any], title: str,
            columns: Sequence[str], cells: Iterable[Sequence[str]], summary: str) -> int:
    """Print a benchmark's measures: ``payload`` as JSON with ``--json``, else a table of
    ``cells`` under ``title`` and the one-line ``summary`` (target and verdict)."""
    if args.json:
        print(json.dumps(payload, indent=2))
        return 0
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right")
    for row in cells:
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(summary)
    return 0


def run_loop(args: argparse.Namespace) -> int:
    from freqtrade_feedback.cli.loop_cost import TARGET_US
    from freqtrade_feedback.cli.loop_cost import measure as measure_loop

    rows = measure_loop(args.signals, args.repeat)
    worst = rows["guarded loop + shadow book"]["us_per_signal"]
    verdict = "PASS" if worst <= TARGET_US else "FAIL"
    return _report(
        args, {"variants": rows, "target_us": TARGET_US, "verdict": verdict},
        f"Cost per signal inside the loop ({args.signals} signals, median of {args.repeat})",
        ("Variant", "us / signal", "Taken", "Learned", "Shadows"),
        ((name, f"{row['us_per_signal']:.1f}", str(row["taken"]), str(row["learned"]),
          str(row["shadows"])) for name, row in rows.items()),
        f"guarded loop + shadow book: {worst:.1f} us/signal; target <= {TARGET_US:.0f}: "
        f"{verdict}")


def run_journal(args: argparse.Namespace) -> int:
    from freqtrade_feedback.cli.journal_cost import TARGET_P99_MS
    from freqtrade_feedback.cli.journal_cost import measure as measure_journal

    rows = measure_journal(min(args.signals, 2000))
    worst = max(row["p99_ms"] for name, row in rows.items() if "not a callback" not in name)
    verdict = "PASS" if worst < TARGET_P99_MS else "FAIL"
    return _report(
        args, {"calls": rows, "target_p99_ms": TARGET_P99_MS, "verdict": verdict},
        "Dry-run/live callback latency with the ledger (SQLite file)",
        ("Call", "Calls", "p50 ms", "p99 ms", "max ms"),
        ((name, str(row["calls"]), f"{row['p50_ms']:.2f}", f"{row['p99_ms']:.2f}",
          f"{row['max_ms']:.2f}") for name, row in rows.items()),
        f"worst callback p99: {worst:.2f} ms; target < {TARGET_P99_MS:.0f} ms: {verdict}")


def run_hyperopt(args: argparse.Namespace) -> int:
    from freqtrade_feedback.cli.hyperopt_cost import TARGET as HYPEROPT_TARGET
    from freqtrade_feedback.cli.hyperopt_cost import measure as measure_hyperopt
    from freqtrade_feedback.cli.hyperopt_cost import verdict as hyperopt_verdict

    with restored_log_levels():
        rows = measure_hyperopt(args)
    worst, verdict = hyperopt_verdict(rows)
    return _report(
        args, {"variants": rows, "worst_ratio": worst, "target": HYPEROPT_TARGET,
               "verdict": verdict},
        f"Hyperopt epochs, {' '.join(args.pairs)} {args.timeframe}, {args.timerange}, "
        f"space buy, -j 1 (median of {args.repeat})",
        ("Variant", "Epochs", "Seconds", "Epochs / min", "Ratio"),
        ((name, str(row["epochs"]), f"{row['seconds']:.1f}", f"{row['epochs_per_min']:.1f}",
          f"{row['ratio']:.3f}") for name, row in rows.items()),
        f"feedback costs at most {HYPEROPT_TARGET - 1:.0%} more per epoch: worst ratio "
        f"{worst:.3f}: {verdict}")


def run(args: argparse.Namespace) -> int:
    if args.hyperopt:
        return run_hyperopt(args)
    if args.journal:
        return run_journal(args)
    if args.loop:
        return run_loop(args)
    with restored_log_levels():
        rows = measure(args)
    off = rows["gate off"]["median_s"]
    ratio = rows["gate on"]["median_s"] / off
    overhead = rows["gate on, takes all"]["median_s"] / off
    verdict = "PASS" if max(ratio, overhead) <= TARGET else "FAIL"
    return _report(
        args, {"variants": rows, "ratio": ratio, "overhead_ratio": overhead, "target": TARGET,
               "verdict": verdict},
        f"Backtest wall time, {' '.join(args.pairs)} {args.timeframe}, "
        f"{args.timerange or 'all data'}",
        ("Variant", "Runs", "Median s", "Min s", "Trades", "Signals gated"),
        ((name, str(row["runs"]), f"{row['median_s']:.2f}", f"{row['min_s']:.2f}",
          str(row["trades"]), str(row["signals"])) for name, row in rows.items()),
        f"gate on / gate off (median): {ratio:.3f}; gate on taking every signal / gate off: "
        f"{overhead:.3f}; target <= {TARGET}: {verdict}")
