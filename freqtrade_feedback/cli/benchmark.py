"""``freqtrade-feedback benchmark``: what the plugin costs, measured side by side, and with
``--value`` what it is worth on real candles.

The measures live in :mod:`freqtrade_feedback.benchmarks` (their targets and verdicts too);
this command picks one by its options and prints its figures as a table with a verdict line,
or as JSON. ``--value`` is a benchmark rather than a ``compare`` mode: like the other
measures it runs a fixed plan (the dev set, three strategies, the variants, a placebo) and
holds the figures against targets, where ``compare`` studies the user's own strategy and
range.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from freqtrade_feedback.benchmarks import backtest, value
from freqtrade_feedback.benchmarks.backtest import ConfigFactory
from freqtrade_feedback.bot import utc_stamp
from freqtrade_feedback.cli.options import (
    BACKTEST,
    add_options,
    backtest_config_from,
    merged_config,
    positive_int,
    quieted,
    restored_log_levels,
    write_config,
)
from freqtrade_feedback.csvfile import write_csv

WIDTH = 160
"""Columns of the value table when stdout is not a terminal."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_options(parser, *BACKTEST)
    parser.set_defaults(datadir=backtest.DEFAULT_DATA)
    parser.add_argument("--repeat", type=positive_int, default=None,
                        help="runs of each variant, alternating (default: 3; with --value 2, "
                             "of the primary alone and the new default)")
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
    parser.add_argument("--lab", action="store_true",
                        help="measure what the bias lab's verdict (every scenario and policy "
                        "at 200 seeds) costs: CPU seconds per seed, and the estimated wall "
                        "time on two idle cores (target <= 10 minutes)")
    parser.add_argument("--cluster", action="store_true",
                        help="measure what a Dask cluster buys compare: one fixed study "
                        "(2 folds x 5 epochs x 3 variants, timerange default "
                        "20240101-20240301) with --jobs 1, --jobs 2 and --cluster local:2, "
                        "wall time ratios and whether the rows are identical")
    parser.add_argument("--value", action="store_true",
                        help="what the gate is worth: backtest three strategies on the dev set "
                        "(primary alone, the old rule, the new default, guarded, a placebo) and "
                        "print the verdicts of issue 11; writes value.csv and report.html. "
                        "Pairs: the dev set's per timeframe unless -p; both timeframes "
                        "unless -i; every strategy unless -s; --timerange default "
                        f"{value.DEV_RANGE} (see docs/value.md)")
    parser.add_argument("--seeds", type=positive_int, default=value.SEEDS,
                        help="placebo seeds per combination with --value "
                        "(default: %(default)s)")
    parser.add_argument("--jobs", type=positive_int, default=None,
                        help="worker processes with --value (default: one per CPU)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for value.csv, report.html and config.json with --value "
                        "(default: <userdir>/value/<UTC time>)")


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
    worst = loop.costliest(rows)
    return _report(
        args, {"variants": rows},
        f"Cost per signal inside the loop ({args.signals} signals, median of {args.repeat})",
        ("Variant", "us / signal", "Taken", "Learned", "Shadows"),
        ((name, f"{row['us_per_signal']:.1f}", str(row["taken"]), str(row["learned"]),
          str(row["shadows"])) for name, row in rows.items()),
        f"{loop.WORST}: {worst:.1f} us/signal (a diagnosis, no target: the backtest and "
        "hyperopt benchmarks carry the targets)")


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


def run_lab(args: argparse.Namespace) -> int:
    from freqtrade_feedback.benchmarks import lab

    seeds = args.repeat or 3
    rows = lab.measure(seeds)
    minutes, verdict = lab.verdict(rows)
    return _report(
        args, {"variants": rows, "verdict_minutes": minutes,
               "target_minutes": lab.TARGET_MINUTES, "verdict": verdict},
        f"Bias lab, CPU time per seed over every scenario ({seeds} seeds)",
        ("Policy", "CPU s / seed"),
        ((name, f"{row['cpu_seconds_per_seed']:.2f}") for name, row in rows.items()),
        f"estimated verdict ({lab.VERDICT_SEEDS} seeds, {lab.CORES} idle cores): "
        f"{minutes:.1f} min; target <= {lab.TARGET_MINUTES:.0f} min: {verdict}")


def run_cluster(args: argparse.Namespace) -> int:
    from freqtrade_feedback.benchmarks import cluster

    say = Console(stderr=True).print
    with restored_log_levels():
        rows = cluster.measure(merged_config(args), Path(args.datadir), args.pairs,
                               args.timeframe, args.timerange, args.strategy_path, say)
    dask = rows["Dask, --cluster local:2"]
    same = all(row["same_rows"] for row in rows.values())
    return _report(
        args, {"ways": rows, "expected_ratio": cluster.EXPECTED, "same_rows": same},
        f"compare on {' '.join(args.pairs)} {args.timeframe}, {' '.join(cluster.BUDGET)} "
        f"({dask['tasks']} rows)",
        ("Way", "Seconds", "Ratio to --jobs 1", "Same rows", "Load at end"),
        ((name, f"{row['seconds']:.1f}", f"{row['ratio']:.3f}", "yes" if row["same_rows"]
          else "NO", f"{row['load']:.1f}") for name, row in rows.items()),
        f"local:2 / --jobs 1: {dask['ratio']:.3f} (about {cluster.EXPECTED} expected on two "
        f"idle cores); rows identical in every way: {'yes' if same else 'NO'}")


def run(args: argparse.Namespace) -> int:
    if args.value:
        return run_value(args)
    if args.lab:
        return run_lab(args)
    _cost_defaults(args)
    if args.cluster:
        return run_cluster(args)
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


def run_value(args: argparse.Namespace) -> int:
    """``--value``: every combination's variants and placebo on the dev set, the table (or
    JSON), the verdicts, ``value.csv`` and ``report.html``."""
    from freqtrade_feedback.benchmarks import value_report, value_run
    from freqtrade_feedback.bot import config_files

    if not Path(args.datadir).is_dir():
        print(f"No dev set at {args.datadir}: value report skipped (pass --datadir).")
        return 0
    combinations = value.combinations(args.timeframe, args.strategy)
    args.timerange = args.timerange or value.DEV_RANGE
    merged = merged_config(args)
    userdir = args.userdir or Path(merged.get("user_data_dir") or "user_data")
    out = args.out or userdir / "value" / utc_stamp(datetime.now(UTC))
    with quieted(args.verbose), tempfile.TemporaryDirectory(prefix="ff-value-") as tmp:
        specs = value_run.prepare(
            Path(tmp), merged, combinations, datadir=Path(args.datadir), pairs=args.pairs,
            strategy_path=args.strategy_path, user_data_dir=args.userdir,
            timerange=args.timerange, verbose=args.verbose)
        runs = value_run.measure(specs, seeds=args.seeds, repeat=args.repeat or 2,
                                 workers=args.jobs or os.cpu_count() or 1,
                                 verbose=args.verbose)
    table = value_run.table(runs)
    verdicts = value.verdicts(table)
    ratios = value.wall_ratios(table)
    wall = value.wall_verdict(ratios)
    worst = max((label for label in ratios if label != "all"), key=ratios.__getitem__)
    wall_line = (f"wall time, new default / primary alone (fastest of {args.repeat or 2} "
                 f"alternating runs, summed over the combinations): {ratios['all']:.3f} "
                 f"(highest: {worst} {ratios[worst]:.3f}); target <= {value.WALL_TARGET}: "
                 f"{wall}")
    intro = (f"Config {' + '.join(config_files(args.config))}, data {args.datadir}, range "
             f"{args.timerange}, {args.seeds} placebo seeds. {wall_line}.")
    csv_path = write_csv([r.row for r in runs], value_report.CSV_COLUMNS, out / "value.csv")
    html_path = value_report.write_html(out / "report.html", runs, table, verdicts, intro)
    write_config({k: v for k, v in merged.items() if k != "feedback"}, out / "config.json")
    Console(stderr=True).print(f"Wrote {csv_path} and {html_path}")
    if args.json:
        print(json.dumps({"rows": [r.row for r in runs], "table": table,
                          "verdicts": [asdict(v) for v in verdicts], "wall_ratios": ratios,
                          "wall_target": value.WALL_TARGET, "wall_verdict": wall},
                         indent=2, default=str))
        return 0
    console = Console()
    if not console.is_terminal:  # a pipe or a file gets 80 columns: too few for the table
        console = Console(width=WIDTH)
    console.print(value_report.render(table))
    for verdict in verdicts:
        console.print(verdict.line(), markup=False, highlight=False)
    console.print(f"{wall}  all: {wall_line}", markup=False, highlight=False)
    return 0
