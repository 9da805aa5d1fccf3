"""The workers: one variant on one fold, optimised with Freqtrade's hyperopt when there is a
budget, then backtested; and the process pool that runs them with progress bars
(:func:`run_jobs`, which ``benchmark --value`` uses too).

Each compare task runs in a fresh spawned process (``max_tasks_per_child=1``): Freqtrade
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
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from freqtrade_feedback.backtest import backtest_config, run_backtest
from freqtrade_feedback.comparison.plan import Budget, Task
from freqtrade_feedback.comparison.rows import make_row
from freqtrade_feedback.comparison.series import Series, extract
from freqtrade_feedback.offline import install as install_offline

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
    if budget.loss_path is not None:
        args["hyperopt_path"] = str(budget.loss_path)
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


def _silence(verbose: bool) -> None:
    """Worker initializer: Freqtrade's hyperopt prints its own tables and progress bar, which
    would tear through the parent's bars and table (or JSON). Without ``--verbose`` its logs
    go too; a worker's error still reaches the parent, as the task's exception."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if not verbose:
        os.dup2(devnull, 2)
    os.close(devnull)


@dataclass(frozen=True)
class Job:
    """One unit of work for a worker process: ``function(*args, report)``.

    ``function`` is a module-level function (a spawned worker imports it by name) and
    ``report(done)`` tells the parent how many of the job's ``steps`` are done. Jobs with the
    same ``bar`` advance one progress bar together.
    """

    key: str
    bar: str
    steps: int
    function: Callable[..., Any]
    args: tuple[Any, ...]


FollowUp = Callable[[Job, Any], Sequence[Job]]
"""``then(job, result)``: the jobs a finished job makes possible (none: ``[]``)."""


def run_all(setup: Setup, tasks: Sequence[Task], jobs: int) -> list[Result]:
    """Run every task on ``jobs`` worker processes, each in a fresh process, one progress bar
    per task on stderr; results in the order of ``tasks``."""
    work = [Job(t.key, _label(t), (t.budget.epochs if t.budget else 0) + 1, run_task,
                (setup, t)) for t in tasks]
    results = run_jobs(work, jobs, verbose=setup.verbose, fresh=True)
    return [results[t.key] for t in tasks]


def run_jobs(jobs: Sequence[Job], workers: int, *, verbose: bool, fresh: bool,
             then: FollowUp | None = None) -> dict[str, Any]:
    """Run ``jobs`` on ``workers`` processes with progress bars on stderr; each result by its
    job's key. ``then`` adds the jobs a finished one makes possible (a bar's total grows with
    them). ``fresh``: a new process per job, for work that leaves state in Freqtrade's
    classes and modules (hyperopt); plain backtests clean up after themselves
    (``Backtesting.cleanup``) and share a worker, which saves its start-up per job."""
    context = multiprocessing.get_context("spawn")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    results: dict[str, Any] = {}
    with (context.Manager() as manager,
          Progress(*columns, console=Console(stderr=True), transient=True) as progress,
          ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), mp_context=context,
                              initializer=_silence, initargs=(verbose,),
                              max_tasks_per_child=1 if fresh else None) as pool):
        queue = manager.Queue()
        bars = _Bars(progress)
        futures: dict[Future[Any], Job] = {}

        def submit(job: Job) -> Future[Any]:
            bars.add(job)
            future = pool.submit(_work, job.function, job.args, job.key, queue)
            futures[future] = job
            return future

        pending = {submit(job) for job in jobs}
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(queue, bars)
                for future in done:
                    job = futures[future]
                    results[job.key] = future.result()
                    bars.finish(job)
                    pending.update(submit(f) for f in (then(job, results[job.key]) if then
                                                       else ()))
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return results


def _work(function: Callable[..., Any], args: tuple[Any, ...], key: str, queue: Any) -> Any:
    """A worker's side of a :class:`Job`: run it, reporting ``(key, steps done)`` to ``queue``."""
    return function(*args, lambda done: queue.put((key, done)))


class _Bars:
    """One progress bar per distinct :attr:`Job.bar`, completed by the steps its jobs report."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.ids: dict[str, Any] = {}
        self.jobs: dict[str, Job] = {}
        self.done: dict[str, int] = {}

    def add(self, job: Job) -> None:
        self.jobs[job.key], self.done[job.key] = job, 0
        if job.bar not in self.ids:
            self.ids[job.bar] = self.progress.add_task(job.bar, total=0)
        self._show(job.bar)

    def step(self, key: str, done: int) -> None:
        self.done[key] = done
        self._show(self.jobs[key].bar)

    def finish(self, job: Job) -> None:
        self.step(job.key, job.steps)

    def _show(self, bar: str) -> None:
        keys = [k for k, j in self.jobs.items() if j.bar == bar]
        self.progress.update(self.ids[bar], total=sum(self.jobs[k].steps for k in keys),
                             completed=sum(self.done[k] for k in keys))


def _label(task: Task) -> str:
    what = f"hyperopt {task.budget.epochs} epochs + backtest" if task.budget else "backtest"
    return f"{task.variant:<8} fold {task.fold.index}: {what}"


def _drain(queue: Any, bars: _Bars) -> None:
    while True:
        try:
            key, done = queue.get_nowait()
        except Empty:
            return
        bars.step(key, done)
