"""``freqtrade-feedback lab``: run the bias lab and score the guard against its targets.

Every scenario (``lab.SCENARIOS``) is run for every seed by the five policies (static,
selective, naive, guarded, guarded_selective), 200 seeds by default: the verdict needs them
(``lab.verdict``); ``--seeds 20`` is a quick look. Seeds run in worker processes (``--jobs``,
one per CPU by default), each seed's scenarios in one process, so that they share their
stationary beginning (``lab.run``). The command prints the guard's figures and the mean
profits with their 95% intervals and the verdict against the targets; it writes
``DIR/lab.csv`` (one row per scenario and seed), ``DIR/summary.csv`` (one row per scenario,
every figure with its interval) and ``DIR/report.html`` (the table, then plots of the first
seed of each scenario). Progress goes to stderr, results to stdout (``--json`` for machines),
with the wall and CPU time of the run.

No Freqtrade import: the lab drives the core loop directly.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
from freqtrade_feedback.lab.policies import GUARDED, POLICIES
from freqtrade_feedback.lab.rows import CSV_COLUMNS, lab_row
from freqtrade_feedback.lab.run import LabResult, run_seed
from freqtrade_feedback.lab.scenarios import SCENARIOS
from freqtrade_feedback.lab.verdict import (
    SUMMARY_COLUMNS,
    VERDICT_SEEDS,
    ScenarioSummary,
    summarize,
    verdict_lines,
)
from freqtrade_feedback.progress import progress_bar

DEFAULT_OUT = Path("user_data/lab")
WIDTH = 120
"""Columns of the tables when stdout is not a terminal."""
LABELS = {"guarded": "all", "guarded_selective": "realized"}
"""The labels of each guarded policy, as the guard table names them."""
HEADERS = {"guarded_selective": "guarded\n(realized)"}
"""Profit table headers that would be too wide as the policy's name."""
Shown = dict[str, dict[str, LabResult]]
"""One seed's runs, by scenario then policy: what the report plots."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seeds",
        type=positive_int,
        default=VERDICT_SEEDS,
        help=f"Seeds per scenario (default: {VERDICT_SEEDS}, what the verdict needs; "
        "fewer are a quick look).",
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
        help=f"Folder for lab.csv, summary.csv and report.html (default: {DEFAULT_OUT}).",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        help="Worker processes (default: one per CPU; 1 runs everything in this process).",
    )
    parser.add_argument("--json", action="store_true", help="Print JSON instead of tables.")


def run(args: argparse.Namespace) -> int:
    """Run the grid, write the CSVs and the HTML report, print the verdicts."""
    started = time.perf_counter()
    names = list(dict.fromkeys(args.scenario or SCENARIOS))
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    rows: dict[int, list[dict[str, Any]]] = {}
    shown: Shown = {}
    for seed, seed_rows, results in _run_seeds(names, seeds, args.jobs):
        rows[seed] = seed_rows
        shown.update(results or {})
    ordered = [rows[seed][i] for i in range(len(names)) for seed in seeds]
    summaries = summarize(ordered)
    csv_path = write_csv(ordered, CSV_COLUMNS, args.out / "lab.csv")
    summary_path = write_csv(
        [s.as_dict() for s in summaries], SUMMARY_COLUMNS, args.out / "summary.csv"
    )
    html_path = report.write_html(
        args.out / "report.html", summaries, _figures(shown), intro=_intro(args, seeds)
    )
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds()
    if args.json:
        payload = {
            "scenarios": [s.as_dict() for s in summaries],
            "csv": str(csv_path),
            "summary_csv": str(summary_path),
            "html": str(html_path),
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 1),
        }
        print(json.dumps(payload, indent=2))
        return 0
    console = Console()
    if not console.is_terminal:
        console = Console(width=WIDTH)
    console.print(render_guard(summaries))
    console.print(render_profit(summaries))
    collapse = render_collapse(summaries)
    if collapse:
        console.print(Text(collapse))
    if any(s.seeds < VERDICT_SEEDS for s in summaries):
        console.print(Text(f"Fewer than {VERDICT_SEEDS} seeds per scenario: a quick look; "
                           "the verdict needs --seeds 200."))
    for line in verdict_lines(summaries):
        console.print(Text(line))
    console.print(
        f"Wrote {csv_path}, {summary_path.name} and {html_path.name} in {seconds:.1f} s "
        f"(CPU {cpu:.1f} s)."
    )
    return 0


def run_seed_rows(
    seed: int, names: Sequence[str], keep: bool
) -> tuple[int, list[dict[str, Any]], Shown | None]:
    """One seed through every named scenario and policy: its CSV rows, in ``names`` order,
    and (``keep``) the runs themselves, for the plots. Top level: worker processes run it."""
    results = run_seed(seed, names)
    rows = [
        lab_row(results[name], SCENARIOS[name](seed=seed).collapse_window) for name in names
    ]
    return seed, rows, results if keep else None


def _run_seeds(
    names: Sequence[str], seeds: range, jobs: int | None
) -> Iterator[tuple[int, list[dict[str, Any]], Shown | None]]:
    """Run every seed, in worker processes unless ``jobs`` is 1, with a progress bar on
    stderr. Seeds come in completion order; each is deterministic. Only the first seed's
    runs come back whole (for the plots); the others send their rows."""
    jobs = min(jobs or _cpus(), len(seeds)) or 1
    label = f"bias lab: {len(names)} scenarios x {len(POLICIES)} policies, seeds"
    with progress_bar(label, console=Console(stderr=True), transient=True) as progress:
        bar = progress.add_task(label, total=len(seeds))
        if jobs == 1:
            for seed in seeds:
                yield run_seed_rows(seed, names, seed == seeds.start)
                progress.advance(bar)
            return
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run_seed_rows, seed, names, seed == seeds.start)
                       for seed in seeds]
            for future in as_completed(futures):
                yield future.result()
                progress.advance(bar)


def _cpus() -> int:
    """CPUs this process may run on (its affinity, where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _cpu_seconds() -> float:
    """User and system CPU time of this process and its finished workers."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def render_guard(summaries: Sequence[ScenarioSummary]) -> Table:
    """The guard's figures by scenario and guarded policy, with 95% intervals."""
    table = Table(
        title="Bias lab: the guard",
        caption="frozen (after the onset) and false: % of seeds [95% interval]; delay: "
        "median trades from the onset to the first freeze after it [95% interval]",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("scenario", no_wrap=True)
    table.add_column("seeds", justify="right")
    table.add_column("labels", no_wrap=True)
    for header in ("frozen %", "delay", "false %"):
        table.add_column(header, justify="right", no_wrap=True)
    for s in summaries:
        for policy in GUARDED:
            figures = s.guard[policy]
            table.add_row(
                s.scenario if policy == GUARDED[0] else "",
                str(s.seeds) if policy == GUARDED[0] else "",
                LABELS[policy],
                figures.frozen.short_percent(),
                figures.median_delay.bracket(),
                figures.false_freezes.short_percent(),
            )
    return table


def render_profit(summaries: Sequence[ScenarioSummary]) -> Table:
    """Mean profit by scenario and policy, with half the 95% t interval."""
    table = Table(
        title="Bias lab: mean profit, base stakes (± half the 95% interval)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("scenario", no_wrap=True)
    for policy in POLICIES:
        table.add_column(HEADERS.get(policy, policy), justify="right")
    for s in summaries:
        table.add_row(s.scenario, *(s.profit[p].plus_minus() for p in POLICIES))
    return table


def render_collapse(summaries: Sequence[ScenarioSummary]) -> str | None:
    """The collapse ratio line of the scenarios that measure it (``None``: none did)."""
    measured = [s for s in summaries if s.collapse_ratio.n]
    if not measured:
        return None
    return "; ".join(
        f"{s.scenario}: selective / shadow-trained breakout acceptance after the shock "
        f"{s.collapse_ratio.bracket('{:.3f}')} (mean [95%]), below a quarter in "
        f"{s.collapsed.percent()} of seeds"
        for s in measured
    )


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
