"""``freqtrade-feedback lab``: run the bias lab and score the guard against its targets.

Every scenario (``lab.SCENARIOS``) is run for every seed by the three policies (static, naive,
guarded). The command prints one row per scenario with the guard's freeze rate, its median
detection delay after the onset, its false freezes, each policy's mean profit and the verdict
against the targets (``lab.report``); it writes ``DIR/lab.csv`` (one row per scenario and
seed) and ``DIR/report.html`` (a self-contained page with plots of the first seed of each
scenario). Progress goes to stderr, results to stdout (``--json`` for machines).

No Freqtrade import: the lab drives the core loop directly.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from freqtrade_feedback.cli.options import non_negative_int, positive_int
from freqtrade_feedback.csvfile import write_csv
from freqtrade_feedback.lab import report
from freqtrade_feedback.lab.policies import POLICIES
from freqtrade_feedback.lab.run import LabResult, run_policies
from freqtrade_feedback.lab.scenarios import SCENARIOS
from freqtrade_feedback.progress import progress_bar

DEFAULT_OUT = Path("user_data/lab")
Task = tuple[str, int]
"""One unit of work: a scenario name and a seed."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seeds", type=positive_int, default=20, help="Seeds per scenario (default: 20)."
    )
    parser.add_argument(
        "--first-seed", type=non_negative_int, default=0, help="First seed (default: 0)."
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=list(SCENARIOS),
        metavar="NAME",
        help=f"Scenario to run; repeat for several (default: all of {', '.join(SCENARIOS)}).",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"Folder for lab.csv and report.html (default: {DEFAULT_OUT}).",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        help="Worker processes (default: one per CPU; 1 runs everything in this process).",
    )
    parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")


def run(args: argparse.Namespace) -> int:
    """Run the grid, write the CSV and the HTML report, print the verdicts."""
    started = time.perf_counter()
    names = list(dict.fromkeys(args.scenario or SCENARIOS))
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    tasks = [(name, seed) for name in names for seed in seeds]
    rows: dict[Task, dict[str, Any]] = {}
    shown: dict[str, dict[str, LabResult]] = {}
    for (name, seed), results in _run_tasks(tasks, args.jobs):
        rows[(name, seed)] = report.lab_row(results)
        if seed == args.first_seed:
            shown[name] = results
    ordered = [rows[task] for task in tasks]
    summaries = report.summarize(ordered)
    csv_path = write_csv(ordered, report.CSV_COLUMNS, args.out / "lab.csv")
    html_path = report.write_html(
        args.out / "report.html", summaries, _figures(shown), intro=_intro(args, seeds)
    )
    seconds = time.perf_counter() - started
    if args.json:
        payload = {
            "scenarios": [s.as_dict() for s in summaries],
            "csv": str(csv_path),
            "html": str(html_path),
            "seconds": round(seconds, 1),
        }
        print(json.dumps(payload, indent=2))
    else:
        console = Console()
        console.print(render(summaries))
        for line in missed(summaries):
            console.print(Text(line))
        console.print(f"Wrote {csv_path} and {html_path} in {seconds:.1f} s.")
    return 0


def _run_tasks(tasks: Sequence[Task], jobs: int | None) -> Iterator[tuple[Task, dict[str, Any]]]:
    """Run every task, in worker processes unless ``jobs`` is 1, with a progress bar on
    stderr. Results come in completion order; each is deterministic in its seed."""
    jobs = min(jobs or os.cpu_count() or 1, len(tasks)) or 1
    with progress_bar("{task.description}", console=Console(stderr=True),
                      transient=True) as progress:
        bar = progress.add_task("bias lab: scenario x seed", total=len(tasks))
        if jobs == 1:
            for task in tasks:
                progress.update(bar, description=f"{task[0]} seed {task[1]}")
                yield task, run_policies(*task)
                progress.advance(bar)
            return
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_policies, *task): task for task in tasks}
            for future in as_completed(futures):
                yield futures[future], future.result()
                progress.advance(bar)


def render(summaries: Sequence[report.ScenarioSummary]) -> Table:
    """One row per scenario: the guard's figures, mean profits and the verdict."""
    table = Table(
        title="Bias lab: mean profit in base stakes",
        caption="delay: median trades from the onset to the guard's first freeze after it",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=0,
    )
    table.add_column("scenario", no_wrap=True)
    for header in ("seeds", "biased", "frozen", "delay", "false", *POLICIES):
        table.add_column(header, justify="right", min_width=len(header))
    table.add_column("verdict", no_wrap=True)
    for s in summaries:
        table.add_row(
            s.scenario,
            str(s.seeds),
            "yes" if s.biased else "no",
            f"{s.freeze_rate:.0%}",
            "-" if math.isnan(s.median_delay) else f"{s.median_delay:g}",
            f"{s.false_freeze_rate:.0%}",
            *(f"{s.profit[p]:+.2f}" for p in POLICIES),
            (s.verdict if s.checks else "-"),
        )
    return table


def missed(summaries: Sequence[report.ScenarioSummary]) -> list[str]:
    """One line per scenario that missed a target, naming the targets and their figures."""
    return [
        f"{s.scenario} missed: "
        + "; ".join(f"{c.name} ({c.detail})" for c in s.checks if not c.passed)
        for s in summaries
        if not s.passed
    ]


def _figures(shown: Mapping[str, Mapping[str, LabResult]]) -> dict[str, tuple[str, Any]]:
    figures = {}
    for name, results in shown.items():
        scenario = SCENARIOS[name](seed=next(iter(results.values())).seed)
        markers = {"onset": getattr(scenario, "onset", None), "bias": scenario.onset_trade}
        if markers["onset"] == markers["bias"]:
            markers.pop("bias")
        drawn = {label: trade for label, trade in markers.items() if trade is not None}
        caption = f"{scenario!r}: {(type(scenario).__doc__ or '').splitlines()[0]}"
        figures[name] = (caption, report.scenario_figure(results, drawn))
    return figures


def _intro(args: argparse.Namespace, seeds: range) -> str:
    return (
        f"Seeds {seeds.start} to {seeds.stop - 1}; plots show seed {args.first_seed}. "
        "Profit is the sum of stake times booked profit ratio, in units of one base stake. "
        "A trade is one signal of the primary strategy, taken or not."
    )
