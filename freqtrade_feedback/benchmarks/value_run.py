"""The value report's backtests: its workspace, its jobs, and the worker that runs them.

The parent prepares a temporary workspace once: a copy of the candles (the dev set is a
read-only input), a Freqtrade user-data folder made by ``freqtrade create-userdir`` (which
writes Freqtrade's ``sample_strategy.py``) with ``SampleStrategyFeedback`` written beside it
as a user adds the mixin, and one merged config per timeframe (every ``-c`` file, the
timeframe and its pairs, no ``feedback`` section: each variant brings its whole section).

The jobs run on :func:`~freqtrade_feedback.comparison.jobs.run_jobs`'s workers. Per
combination one job alternates the primary alone and the new default (``repeat`` times each,
in one process): their wall times are measured side by side, the fastest run of each kept.
The other variants are a job each. When a combination's default has run, its take rate is
known, and the placebo's seeds follow as jobs of their own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from freqtrade_feedback.benchmarks.backtest import copy_candles
from freqtrade_feedback.benchmarks.value import (
    DEFAULT,
    PAIRS,
    PLACEBO,
    PRIMARY,
    VARIANTS,
    Combination,
    Table,
    known,
    placebo,
    spread,
)
from freqtrade_feedback.comparison.jobs import Job, run_jobs
from freqtrade_feedback.comparison.run import quiet
from freqtrade_feedback.guard.states import GuardState

SAMPLE_WITH_MIXIN: Final = '''"""Freqtrade's SampleStrategy with the mixin, as a user adds it."""

from sample_strategy import SampleStrategy

from freqtrade_feedback import FeedbackMixin


class SampleStrategyFeedback(FeedbackMixin, SampleStrategy):
    pass
'''
"""The file ``benchmark --value`` writes beside Freqtrade's ``sample_strategy.py``."""
TIMING: Final = "timing"


@dataclass(frozen=True)
class Spec:
    """What every run of one combination shares, resolved by the parent."""

    combination: Combination
    config: Path
    """The timeframe's merged config (no ``feedback`` section)."""
    strategy_path: Path | None
    datadir: Path
    user_data_dir: Path | None
    timerange: str | None
    verbose: bool


@dataclass
class Run:
    """One variant's row, and its wallet after each closed trade (``date, balance``)."""

    row: dict[str, Any]
    equity: pd.DataFrame


Variant = tuple[str, int | None, Mapping[str, Any]]
"""``(variant, placebo seed or None, feedback section)``."""


def prepare(root: Path, base: Mapping[str, Any], combinations: Sequence[Combination], *,
            datadir: Path, pairs: Sequence[str] | None, strategy_path: Path | None,
            user_data_dir: Path | None, timerange: str | None,
            verbose: bool) -> list[Spec]:
    """Fill the workspace ``root`` and return each combination's :class:`Spec`. ``base`` is
    the merged config; ``pairs`` (``-p``) replaces the dev set's pairs of every timeframe.
    The user-data folder's subfolders are made here, once: Freqtrade makes them as each
    backtest starts, and two workers starting at once raced on a new folder (FileExistsError)."""
    from freqtrade.commands.deploy_commands import start_create_userdir
    from freqtrade.configuration.directory_operations import create_userdata_dir

    from freqtrade_feedback.cli.options import write_config

    if user_data_dir is not None:
        create_userdata_dir(str(user_data_dir), create_dir=True)
    data = root / "data"
    data.mkdir(parents=True)
    configs: dict[str, Path] = {}
    for timeframe in sorted({c.timeframe for c in combinations}):
        chosen = list(pairs or PAIRS[timeframe])
        copy_candles(datadir, chosen, timeframe, data)
        config = {k: v for k, v in base.items() if k != "feedback"}
        config["timeframe"] = timeframe
        config["exchange"] = {**config.get("exchange", {}), "pair_whitelist": chosen}
        configs[timeframe] = write_config(config, root / "configs" / f"{timeframe}.json")
    sample_path = root / "user_data" / "strategies"
    if any(c.strategy.sample for c in combinations):  # what `freqtrade create-userdir` does
        start_create_userdir({"user_data_dir": str(root / "user_data"), "reset": False})
        (sample_path / "SampleStrategyFeedback.py").write_text(SAMPLE_WITH_MIXIN,
                                                               encoding="utf-8")
    return [Spec(c, configs[c.timeframe], sample_path if c.strategy.sample else strategy_path,
                 data, user_data_dir, timerange, verbose) for c in combinations]


def run_variants(spec: Spec, variants: Sequence[Variant], repeat: int,
                 report: Callable[[int], None]) -> list[Run]:
    """Backtest ``variants`` in turn, ``repeat`` rounds, in this one process; a row per
    variant from its last run (a seeded backtest gives the same trades every time), with the
    fastest of its wall times."""
    from freqtrade_feedback.backtest import backtest_config, run_backtest
    from freqtrade_feedback.comparison.series import extract

    seconds: list[list[float]] = [[] for _ in variants]
    runs: list[Run] = []
    for round_ in range(repeat):
        for i, (variant, seed, feedback) in enumerate(variants):
            config = backtest_config(
                spec.config, strategy=spec.combination.strategy.name, datadir=spec.datadir,
                timerange=spec.timerange, strategy_path=spec.strategy_path,
                user_data_dir=spec.user_data_dir, overrides={"feedback": dict(feedback)})
            quiet(spec.verbose)
            run = run_backtest(config)
            seconds[i].append(run.seconds)
            report(round_ * len(variants) + i + 1)
            if round_ == repeat - 1:
                runs.append(Run(make_row(spec.combination, variant, seed, feedback, run),
                                extract(run).equity))
    for run, times in zip(runs, seconds, strict=True):
        run.row.update(seconds=round(min(times), 2), runs=len(times))
    return runs


def make_row(combination: Combination, variant: str, seed: int | None,
             feedback: Mapping[str, Any], run: Any) -> dict[str, Any]:
    """The figures of one run: Freqtrade's statistics (daily wallet Sharpe, account
    drawdown), the mean profit per trade as a ratio and in the stake currency, and the take
    rate: the share of the gate's decisions that were taken (1 with the gate off)."""
    from freqtrade_feedback.metrics import summarize

    counts = run.loop.summary() if run.loop else {}
    figures = summarize(run.stats, run.trades, counts)
    signals, gated = counts.get("signals", 0), feedback.get("enabled", True)
    trades = figures["trades"]
    if not trades:  # no trade, no mean and no Sharpe (Freqtrade's wallet figure says -100)
        figures["profit_mean"] = math.nan
    return {
        "combination": combination.label,
        "strategy": combination.strategy.label,
        "timeframe": combination.timeframe,
        "variant": variant,
        "seed": seed,
        **{key: figures[key] for key in ("trades", "profit_total", "profit_total_abs",
                                         "profit_mean", "win_rate", "max_drawdown",
                                         "signals", "learned")},
        "profit_mean_abs": figures["profit_total_abs"] / trades if trades else math.nan,
        "sharpe": float(run.stats["wallet_stats"]["sharpe"]) if trades else math.nan,
        "take_rate": (counts.get("taken", 0) / signals if signals
                      else math.nan if gated else 1.0),
        "freezes": _freezes(run.loop),
        "feedback": json.dumps(dict(feedback), sort_keys=True),
    }


def _freezes(loop: Any) -> int:
    """Moves of the run's guard into FROZEN (0 without a guard)."""
    supervisor = loop.supervisor if loop is not None else None
    if supervisor is None:
        return 0
    return sum(t.target is GuardState.FROZEN for t in supervisor.transitions)


def jobs(spec: Spec, repeat: int) -> list[Job]:
    """A combination's first jobs: primary and default alternating, then one per variant."""
    bar = spec.combination.label
    timing = tuple((name, None, known(VARIANTS[name])) for name in (PRIMARY, DEFAULT))
    return [Job(f"{bar}|{TIMING}", bar, len(timing) * repeat, run_variants,
                (spec, timing, repeat)),
            *(Job(f"{bar}|{name}", bar, 1, run_variants, (spec, ((name, None, known(fb)),), 1))
              for name, fb in VARIANTS.items() if name not in (PRIMARY, DEFAULT))]


def placebo_jobs(spec: Spec, runs: Sequence[Run], seeds: int) -> list[Job]:
    """The placebo's seeds, at the take rate of the default in ``runs`` (none when the rate is
    beyond what a placebo can take)."""
    (default,) = [r.row for r in runs if r.row["variant"] == DEFAULT]
    bar = spec.combination.label
    found = []
    for seed in range(seeds):
        feedback = placebo(default["take_rate"], seed)
        if feedback is not None:
            found.append(Job(f"{bar}|{PLACEBO}|{seed}", bar, 1, run_variants,
                             (spec, ((PLACEBO, seed, feedback),), 1)))
    return found


def measure(specs: Sequence[Spec], *, seeds: int, repeat: int, workers: int,
            verbose: bool) -> list[Run]:
    """Every variant and placebo seed of every combination; runs in the order of the
    combinations, then of :data:`~freqtrade_feedback.benchmarks.value.VARIANTS`, then seed."""
    by_bar = {s.combination.label: s for s in specs}

    def then(job: Job, runs: list[Run]) -> list[Job]:
        return (placebo_jobs(by_bar[job.bar], runs, seeds)
                if job.key.endswith(f"|{TIMING}") else [])

    results = run_jobs([j for s in specs for j in jobs(s, repeat)], workers, verbose=verbose,
                       fresh=False, then=then)
    order = {name: i for i, name in enumerate([*VARIANTS, PLACEBO])}
    combos = list(by_bar)
    runs = [run for result in results.values() for run in result]
    return sorted(runs, key=lambda r: (combos.index(r.row["combination"]),
                                       order[r.row["variant"]], r.row["seed"] or 0))


def table(runs: Sequence[Run]) -> Table:
    """Rows by combination and variant; the placebo's seeds as their :func:`spread`."""
    found: dict[str, dict[str, Any]] = {}
    for run in runs:
        rows = found.setdefault(run.row["combination"], {})
        if run.row["variant"] != PLACEBO:
            rows[run.row["variant"]] = run.row
    for label, rows in found.items():
        seeds = [r.row for r in runs
                 if r.row["combination"] == label and r.row["variant"] == PLACEBO]
        if seeds:
            rows[PLACEBO] = spread(seeds)
    return found
