"""``freqtrade-feedback compare``: primary alone, naive feedback and guarded feedback over the
same pairs and candles, side by side.

Without ``--epochs`` each variant is one backtest on ``--timerange`` (or on each of
``--folds`` parts of it). With ``--epochs N`` each variant first gets the same hyperopt
budget on ``--timerange`` (same epochs, random state and loss), and its best parameters are
then backtested on the later ``--oos-timerange``: the figures shown are out of sample. See
``docs/compare.md`` and :mod:`freqtrade_feedback.comparison.plan` for the folds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from freqtrade_feedback.bot import config_files
from freqtrade_feedback.cli.options import (
    BACKTEST,
    add_options,
    backtest_config_from,
    merged_config,
    positive_int,
    restored_log_levels,
    write_config,
)
from freqtrade_feedback.cluster import check_workers, connect, parse_cluster
from freqtrade_feedback.comparison import plan, report, rows, table
from freqtrade_feedback.comparison import run as runner
from freqtrade_feedback.config import load_settings
from freqtrade_feedback.csvfile import write_csv

TITLE = "Primary alone, naive feedback, guarded feedback"
WIDTH = 160
"""Columns of the table when stdout is not a terminal."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_options(parser, *BACKTEST)
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="hyperopt epochs per variant and fold on --timerange (in sample); "
                             "needs --oos-timerange")
    parser.add_argument("--oos-timerange", default=None,
                        help="out-of-sample range after --timerange, where each variant's best "
                             "parameters are backtested")
    parser.add_argument("--folds", type=positive_int, default=1,
                        help="cut --timerange into K consecutive parts; with --epochs fold i "
                             "is optimised on part i and evaluated on part i+1 (the last on "
                             "--oos-timerange) (default: 1)")
    parser.add_argument("--random-state", type=positive_int, default=None,
                        help="hyperopt random state, the same for every variant "
                             "(default: drawn once per run)")
    parser.add_argument("--jobs", type=positive_int, default=None,
                        help="worker processes (default: one per CPU; with --cluster, the "
                             "cluster's workers decide)")
    parser.add_argument("--cluster", type=parse_cluster, default=None, metavar="ADDRESS",
                        help="run every variant x fold on a Dask cluster: a scheduler "
                             "(tcp://host:8786) or local:N to start N worker processes here; "
                             "needs the dask extra (see docs/scaling-out.md)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for compare.csv, report.html, the merged config.json and "
                             "the hyperopt work (default: <userdir>/compare/<UTC time>)")


def run(args: argparse.Namespace) -> int:
    """Check the options, run every variant on every fold, write the CSV and the report."""
    folds = plan.make_folds(args.timerange, args.oos_timerange, args.folds, args.epochs)
    merged = merged_config(args)
    load_settings(merged.get("feedback"))  # a bad key fails here, not in every worker
    with restored_log_levels(), tempfile.TemporaryDirectory(prefix="ff-compare-") as tmp:
        config = backtest_config_from(args, write_config(merged, Path(tmp) / "config.json"), {})
        strategy_file, spaces = runner.inspect_strategy(config)
        out = args.out or (Path(config["user_data_dir"]) / "compare"
                           / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
        setup = runner.Setup(  # absolute: a cluster's workers do not share our folder
            config=write_config(merged, out / "config.json").resolve(),
            strategy=config["strategy"], strategy_file=strategy_file.resolve(),
            datadir=Path(config["datadir"]).resolve(),
            user_data_dir=Path(config["user_data_dir"]).resolve(),
            exchange=config["exchange"]["name"], workdir=(out / "work").resolve(),
            verbose=args.verbose,
        )
        budget = _budget(args)
        tasks = plan.make_tasks(folds, plan.variant_spaces(spaces), budget)
        jobs = args.jobs or os.cpu_count() or 1
        if args.cluster is None:
            results = runner.run_all(setup, tasks, jobs)
        else:
            with connect(args.cluster, verbose=args.verbose) as client:
                check_workers(client, _needs(setup), {"output folder": setup.workdir})
                results = runner.run_all(setup, tasks, jobs, client)
    lines = [r.row for r in results]
    csv_path = write_csv(lines, rows.CSV_COLUMNS, out / "compare.csv")
    html_path = report.write_html(out / "report.html", results, _intro(args, budget, setup))
    Console(stderr=True).print(f"Wrote {csv_path} and {html_path}")
    if args.json:
        print(json.dumps(_payload(lines, budget is None and len(folds) == 1), indent=2))
    else:
        console = Console()
        if not console.is_terminal:  # a pipe or a file gets 80 columns: too few for the table
            console = Console(width=WIDTH)
        console.print(table.render(lines, TITLE))
    return 0


def _budget(args: argparse.Namespace) -> plan.Budget | None:
    """The hyperopt every variant gets, or ``None`` without ``--epochs``. One random state
    for all: the variants must differ only in the feedback settings and spaces."""
    if args.epochs is None:
        return None
    loss = plan.hyperopt_loss()
    state = args.random_state or random.randint(1, 2**16 - 1)  # as Freqtrade draws one
    return plan.Budget(args.epochs, state, loss)


def _needs(setup: runner.Setup) -> dict[str, Path]:
    """What every worker reads, by what a message calls it."""
    return {"merged config": setup.config, "strategy file": setup.strategy_file,
            "data folder": setup.datadir}


def _intro(args: argparse.Namespace, budget: plan.Budget | None, setup: runner.Setup) -> str:
    files = " + ".join(config_files(args.config))
    text = (f"Strategy {setup.strategy}, config {files} (merged: {setup.config}), "
            f"data {setup.datadir}. ")
    if budget is None:
        return text + "One backtest per variant and fold, each from a fresh learner."
    return text + (
        f"Each variant: Freqtrade hyperopt, {budget.epochs} epochs, loss {budget.loss}, "
        f"random state {budget.random_state}, on the in-sample range; the rows and plots are "
        "the backtest of its best parameters on the out-of-sample range that follows.")


def _payload(lines: list[dict[str, Any]], legacy: bool) -> Any:
    """The rows by variant for a single plain backtest (the shape ``compare --json`` always
    had), else the list of rows as in ``compare.csv``."""
    return {line["variant"]: line for line in lines} if legacy else lines
