"""The workers: one variant on one fold, optimised with Freqtrade's hyperopt when there is a
budget, then backtested (the pool or cluster that runs them: :mod:`.jobs`).

Each compare task runs in a fresh process (a spawned local worker, or a fresh interpreter
inside a Dask task, :mod:`.isolated`): Freqtrade
keeps state in classes and modules (trades, pair locks, custom data, hyperopt's log queue),
and a task must not see another's. Every worker loads the one merged config file the parent
wrote (``Setup.config``), never the user's first ``-c`` file alone. The hyperopt inside runs
with ``-j 1`` (the comparison already uses the cores) in its own user-data folder
``<out>/work/<variant>-fold<i>/``, with a copy of the strategy file: Freqtrade exports the
best parameters next to that copy, and the out-of-sample backtest loads them from there,
exactly as ``freqtrade backtesting`` would after a hyperopt, while the user's own strategy
folder is never written to.
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freqtrade_feedback.backtest import backtest_config, run_backtest
from freqtrade_feedback.comparison.jobs import Job, run_jobs
from freqtrade_feedback.comparison.plan import Budget, Task, loss_folder
from freqtrade_feedback.comparison.rows import make_row
from freqtrade_feedback.comparison.series import Series, extract
from freqtrade_feedback.offline import install as install_offline

if TYPE_CHECKING:
    from distributed import Client

QUIET = {"freqtrade": logging.WARNING, "freqtrade_feedback": logging.WARNING,
         "optuna": logging.WARNING}
"""Loggers a worker turns down unless ``--verbose``: one line per epoch and task would bury
the progress bars."""


@dataclass(frozen=True)
class Setup:
    """What every task shares: the config and where things are, resolved once by the parent
    (a worker must not resolve defaults such as the data folder from its own work folder)."""

    config: Path
    """The merged config (``cli.options.write_config``): every ``-c`` file, ``-p``, ``-i``."""
    strategy: str
    strategy_file: Path
    datadir: Path
    user_data_dir: Path
    exchange: str
    workdir: Path
    verbose: bool


@dataclass
class Result:
    """One task's row and plot data."""

    task: Task
    row: dict[str, Any]
    series: Series


def inspect_strategy(config: dict[str, Any]) -> tuple[Path, set[str]]:
    """The strategy's file and the hyperopt spaces it has optimisable parameters in."""
    from freqtrade.resolvers import StrategyResolver
    from freqtrade.strategy.hyper import detect_all_parameters

    strategy = StrategyResolver.load_strategy(config)
    spaces = {space for space, params in detect_all_parameters(type(strategy)).items()
              if any(p.optimize for p in params.values())}
    return Path(strategy.__file__), spaces


def run_task(setup: Setup, task: Task, report: Callable[[int], None]) -> Result:
    """Optimise (with a budget) and backtest one variant on one fold; ``report`` gets the
    steps done: one per epoch, one for the backtest."""
    started = time.perf_counter()
    install_offline()
    strategy_path, best = setup.strategy_file.parent, None
    if task.budget is not None:
        strategy_path, best = optimise(setup, task, task.budget, report)
    config = backtest_config(
        setup.config, strategy=setup.strategy, datadir=setup.datadir,
        timerange=task.fold.evaluate, strategy_path=strategy_path,
        user_data_dir=setup.user_data_dir, overrides={"feedback": dict(task.feedback)},
    )
    quiet(setup.verbose)
    run = run_backtest(config)
    series = extract(run)
    row = make_row(task, run, series, best)
    row["seconds"] = round(time.perf_counter() - started, 2)
    report((task.budget.epochs if task.budget else 0) + 1)
    return Result(task, row, series)


def optimise(setup: Setup, task: Task, budget: Budget,
             report: Callable[[int], None]) -> tuple[Path, dict[str, Any]]:
    """Freqtrade's hyperopt of ``task`` on its in-sample range; returns the folder of the
    strategy copy that now carries the best parameters, and the best epoch (empty: no epoch
    had a trade, and the copy keeps the strategy's own parameters)."""
    from freqtrade.commands.optimize_commands import setup_optimize_configuration
    from freqtrade.configuration.directory_operations import create_userdata_dir
    from freqtrade.enums import RunMode
    from freqtrade.optimize.backtesting import Backtesting

    from freqtrade_feedback.offline.markets import snapshot_path

    home = setup.workdir / task.key
    strategies = home / "strategies"
    strategies.mkdir(parents=True, exist_ok=True)
    for source in (setup.strategy_file, setup.strategy_file.with_suffix(".json")):
        if source.is_file():
            shutil.copy2(source, strategies / source.name)
    create_userdata_dir(str(home), create_dir=True)
    markets = snapshot_path(setup.user_data_dir, setup.exchange)
    if markets.is_file():  # same market list (precision, limits) as the evaluation backtest
        snapshot_path(home, setup.exchange).parent.mkdir(exist_ok=True)
        shutil.copy2(markets, snapshot_path(home, setup.exchange))
    args: dict[str, Any] = {
        "config": [str(setup.config)], "strategy": setup.strategy,
        "strategy_path": str(strategies), "datadir": str(setup.datadir),
        "user_data_dir": str(home), "timerange": task.fold.optimise,
        "epochs": budget.epochs, "spaces": list(task.spaces),
        "hyperopt_loss": budget.loss, "hyperopt_jobs": 1,
        "hyperopt_random_state": budget.random_state, "hyperopt_min_trades": 1,
    }
    folder = loss_folder(budget.loss)
    if folder is not None:
        args["hyperopt_path"] = str(folder)
    config = setup_optimize_configuration(args, RunMode.HYPEROPT)
    config["feedback"] = {**config.get("feedback", {}), **task.feedback}
    quiet(setup.verbose)
    hyperopt = _reporting_hyperopt(config, report)
    try:
        with _as_main_process():
            hyperopt.start()
    finally:
        Backtesting.cleanup()
        hyperopt.data_pickle_file.unlink(missing_ok=True)  # a copy of the candles
    return strategies, dict(hyperopt.current_best_epoch or {})


def _reporting_hyperopt(config: dict[str, Any], report: Callable[[int], None]) -> Any:
    """Freqtrade's ``Hyperopt``, telling ``report`` the number of each epoch it evaluates."""
    from freqtrade.optimize.hyperopt import Hyperopt

    class ReportingHyperopt(Hyperopt):
        def evaluate_result(self, val: dict[str, Any], current: int, is_random: bool) -> None:
            super().evaluate_result(val, current, is_random)
            report(current)

    return ReportingHyperopt(config)


@contextmanager
def _as_main_process() -> Iterator[None]:
    """Run Freqtrade's hyperopt as the main process of its own run.

    Freqtrade relays its epoch workers' log records to the hyperopt's process through a
    queue: a process whose name is not ``MainProcess`` counts as a worker and gets a root
    ``QueueHandler`` on that queue at every epoch, and the hyperopt's process drains the queue
    into its own loggers after each batch of epochs. With ``-j 1`` the epochs run in the
    hyperopt's process itself, which is a worker of compare's pool (``SpawnProcess-N``): it
    was both, so every record it drained went back into the queue it was draining, forever
    (a warm CPU and no end, as soon as the strategy or the guard logged during an epoch).
    Named ``MainProcess`` while the hyperopt runs, it is what Freqtrade expects of the
    process that owns the run, and records go straight to its handlers.
    """
    process = multiprocessing.current_process()
    name, process.name = process.name, "MainProcess"
    try:
        yield
    finally:
        process.name = name


def quiet(verbose: bool) -> None:
    """Turn the loggers down after Freqtrade's logging setup, which each config load redoes."""
    if not verbose:
        for name, level in QUIET.items():
            logging.getLogger(name).setLevel(level)


def run_all(setup: Setup, tasks: Sequence[Task], jobs: int,
            client: Client | None = None) -> list[Result]:
    """Run every task on ``jobs`` worker processes (or on ``client``'s cluster), each in a
    fresh process, one progress bar per task on stderr; results in the order of ``tasks``."""
    work = [Job(t.key, _label(t), (t.budget.epochs if t.budget else 0) + 1, run_task,
                (setup, t)) for t in tasks]
    results = run_jobs(work, jobs, verbose=setup.verbose, fresh=True, client=client)
    return [results[t.key] for t in tasks]


def _label(task: Task) -> str:
    what = f"hyperopt {task.budget.epochs} epochs + backtest" if task.budget else "backtest"
    return f"{task.variant:<8} fold {task.fold.index}: {what}"
