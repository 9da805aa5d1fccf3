"""``freqtrade-feedback benchmark``: what the plugin costs, measured side by side.

The measures live in :mod:`freqtrade_feedback.benchmarks` (their targets and verdicts too);
this command picks one by its options and prints its figures as a table with a verdict line,
or as JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from freqtrade_feedback.benchmarks import backtest
from freqtrade_feedback.benchmarks.backtest import ConfigFactory
from freqtrade_feedback.cli.options import (
    BACKTEST,
    add_options,
    backtest_config_from,
    merged_config,
    positive_int,
    restored_log_levels,
    write_config,
)


def configure(parser: argparse.ArgumentParser) -> None:
    add_options(parser, *BACKTEST)
    parser.set_defaults(datadir=backtest.DEFAULT_DATA)
    parser.add_argument("--repeat", type=positive_int, default=None,
                        help="runs of each variant, alternating (default: 3)")
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


@contextmanager
def _configs(args: argparse.Namespace) -> Iterator[ConfigFactory]:
    """The measures' configs: the merged config (every ``-c`` file, the pairs and timeframe
    of the command line) in a file of its own while the measure runs, these options, a
    variant's feedback settings, and the measure's own copy of the candles."""
    merged = merged_config(args)
    with restored_log_levels(), tempfile.TemporaryDirectory(prefix="ff-bench-") as tmp:
        config_file = write_config(merged, Path(tmp) / "config.json")

        def make(feedback: Mapping[str, Any], datadir: Path) -> dict[str, Any]:
            return backtest_config_from(args, config_file, dict(feedback), datadir=datadir)

        yield make


def _cost_defaults(args: argparse.Namespace) -> None:
    """The cost measures' pairs, timeframe and repeats when the command line gives none."""
    args.pairs = args.pairs or list(backtest.DEFAULT_PAIRS)
    args.timeframe = args.timeframe or "5m"
    args.repeat = args.repeat or 3


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
    from freqtrade_feedback.benchmarks import loop

    rows = loop.measure(args.signals, args.repeat)
    worst, verdict = loop.verdict(rows)
    return _report(
        args, {"variants": rows, "target_us": loop.TARGET_US, "verdict": verdict},
        f"Cost per signal inside the loop ({args.signals} signals, median of {args.repeat})",
        ("Variant", "us / signal", "Taken", "Learned", "Shadows"),
        ((name, f"{row['us_per_signal']:.1f}", str(row["taken"]), str(row["learned"]),
          str(row["shadows"])) for name, row in rows.items()),
        f"{loop.WORST}: {worst:.1f} us/signal; target <= {loop.TARGET_US:.0f}: {verdict}")


def run_journal(args: argparse.Namespace) -> int:
    from freqtrade_feedback.benchmarks import journal

    rows = journal.measure(min(args.signals, 2000))
    worst, verdict = journal.verdict(rows)
    return _report(
        args, {"calls": rows, "target_p99_ms": journal.TARGET_P99_MS, "verdict": verdict},
        "Dry-run/live callback latency with the ledger (SQLite file)",
        ("Call", "Calls", "p50 ms", "p99 ms", "max ms"),
        ((name, str(row["calls"]), f"{row['p50_ms']:.2f}", f"{row['p99_ms']:.2f}",
          f"{row['max_ms']:.2f}") for name, row in rows.items()),
        f"worst callback p99: {worst:.2f} ms; target < {journal.TARGET_P99_MS:.0f} ms: "
        f"{verdict}")


def run_hyperopt(args: argparse.Namespace) -> int:
    from freqtrade_feedback.benchmarks import hyperopt

    args.timerange = args.timerange or hyperopt.DEFAULT_TIMERANGE
    with _configs(args) as configs:
        rows = hyperopt.measure(configs, args.datadir, args.pairs, args.timeframe,
                                args.epochs, args.repeat)
    worst, verdict = hyperopt.verdict(rows)
    return _report(
        args, {"variants": rows, "worst_ratio": worst, "target": hyperopt.TARGET,
               "verdict": verdict},
        f"Hyperopt epochs, {' '.join(args.pairs)} {args.timeframe}, {args.timerange}, "
        f"space buy, -j 1 (median of {args.repeat})",
        ("Variant", "Epochs", "Seconds", "Epochs / min", "Ratio"),
        ((name, str(row["epochs"]), f"{row['seconds']:.1f}", f"{row['epochs_per_min']:.1f}",
          f"{row['ratio']:.3f}") for name, row in rows.items()),
        f"feedback costs at most {hyperopt.TARGET - 1:.0%} more per epoch: worst ratio "
        f"{worst:.3f}: {verdict}")


def run(args: argparse.Namespace) -> int:
    _cost_defaults(args)
    if args.hyperopt:
        return run_hyperopt(args)
    if args.journal:
        return run_journal(args)
    if args.loop:
        return run_loop(args)
    with _configs(args) as configs:
        rows = backtest.measure(configs, args.datadir, args.pairs, args.timeframe, args.repeat)
    ratio, overhead, verdict = backtest.verdict(rows)
    return _report(
        args, {"variants": rows, "ratio": ratio, "overhead_ratio": overhead,
               "target": backtest.TARGET, "verdict": verdict},
        f"Backtest wall time, {' '.join(args.pairs)} {args.timeframe}, "
        f"{args.timerange or 'all data'}",
        ("Variant", "Runs", "Median s", "Min s", "Trades", "Signals gated"),
        ((name, str(row["runs"]), f"{row['median_s']:.2f}", f"{row['min_s']:.2f}",
          str(row["trades"]), str(row["signals"])) for name, row in rows.items()),
        f"gate on / gate off (median): {ratio:.3f}; gate on taking every signal / gate off: "
        f"{overhead:.3f}; target <= {backtest.TARGET}: {verdict}")
