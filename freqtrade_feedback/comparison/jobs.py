"""Running many long jobs (backtests, hyperopts) in worker processes with progress bars: on
this machine's cores, or on a Dask cluster (``--cluster``).

A :class:`Job` is a module-level function and its arguments; the function reports the steps
it has done (epochs, the backtest) through a callback, and each job's steps advance its
progress bar, wherever it runs. ``compare`` and ``benchmark --value`` both run through
:func:`run_jobs`.

**Here** (no client): a ``spawn`` process pool, progress through a manager queue; with
``fresh`` each job gets a new process (``max_tasks_per_child=1``), for work that leaves state
in Freqtrade's classes and modules.

**On a cluster**: each job is one Dask task, and the task runs the job in a fresh interpreter
of its own (:mod:`~freqtrade_feedback.comparison.isolated`), whatever ``fresh`` says: a Dask
worker is a long-lived process that runs task after task, and a hyperopt must not see the
last one's Freqtrade state. The steps travel as Dask events (``Worker.log_event``) to the
client, which subscribes to a topic of this run only. A worker that dies mid-task takes its
interpreter with it; the scheduler runs the task again on another worker, and the result is
kept once, by job key.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from freqtrade_feedback.comparison.isolated import run_isolated

if TYPE_CHECKING:
    from distributed import Client

POLL = 0.2
"""Seconds between looks at the progress messages while waiting for jobs."""


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


def run_jobs(jobs: Sequence[Job], workers: int, *, verbose: bool, fresh: bool,
             then: FollowUp | None = None, client: Client | None = None) -> dict[str, Any]:
    """Run ``jobs`` with progress bars on stderr; each result by its job's key.

    ``workers`` processes here, or every worker of ``client``'s cluster. ``then`` adds the
    jobs a finished one makes possible (a bar's total grows with them). ``fresh``: a new
    process per job, for work that leaves state in Freqtrade's classes and modules
    (hyperopt); plain backtests clean up after themselves (``Backtesting.cleanup``) and
    share a local worker, which saves its start-up per job. On a cluster every job runs in
    a fresh interpreter."""
    with _bars() as bars:
        if client is None:
            return _run_here(jobs, workers, bars, verbose=verbose, fresh=fresh, then=then)
        return _run_on_cluster(jobs, client, bars, verbose=verbose, then=then)


@contextmanager
def _bars() -> Iterator[_Bars]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield _Bars(progress)


def _run_here(jobs: Sequence[Job], workers: int, bars: _Bars, *, verbose: bool, fresh: bool,
              then: FollowUp | None) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with (context.Manager() as manager,
          ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), mp_context=context,
                              initializer=_silence, initargs=(verbose,),
                              max_tasks_per_child=1 if fresh else None) as pool):
        queue = manager.Queue()

        def submit(job: Job) -> Future[Any]:
            return pool.submit(_work, job.function, job.args, job.key, queue)

        def wait_some(pending: set[Any]) -> tuple[set[Any], set[Any]]:
            done, rest = wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
            return done, rest

        def cancel(pending: set[Any]) -> None:
            for future in pending:
                future.cancel()

        return _drive(jobs, bars, submit, wait_some, queue, then, cancel)


def _run_on_cluster(jobs: Sequence[Job], client: Client, bars: _Bars, *, verbose: bool,
                    then: FollowUp | None) -> dict[str, Any]:
    import distributed

    run = uuid.uuid4().hex[:12]
    topic = f"freqtrade-feedback-progress-{run}"
    updates: SimpleQueue[tuple[str, int]] = SimpleQueue()
    client.subscribe_topic(topic, lambda event: updates.put(tuple(event[1])))

    def submit(job: Job) -> Any:
        return client.submit(run_isolated, job.function, job.args, job.key, topic, verbose,
                             key=f"{job.key}-{run}", pure=False)

    def wait_some(pending: set[Any]) -> tuple[set[Any], set[Any]]:
        try:
            done, rest = distributed.wait(pending, timeout=POLL, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set(), pending
        return set(done), set(rest)

    try:
        return _drive(jobs, bars, submit, wait_some, updates, then,
                      lambda pending: client.cancel(list(pending)))
    finally:
        client.unsubscribe_topic(topic)


def _drive(jobs: Sequence[Job], bars: _Bars, submit: Callable[[Job], Any],
           wait_some: Callable[[set[Any]], tuple[set[Any], set[Any]]], updates: Any,
           then: FollowUp | None, cancel: Callable[[set[Any]], None]) -> dict[str, Any]:
    """The one loop of both ways: submit, wait a little, move the bars by the steps
    ``updates`` brought, collect what finished and submit what it makes possible; on any
    failure cancel what is pending and raise."""
    results: dict[str, Any] = {}
    futures: dict[Any, Job] = {}

    def start(job: Job) -> Any:
        bars.add(job)
        future = submit(job)
        futures[future] = job
        return future

    pending = {start(job) for job in jobs}
    try:
        while pending:
            done, pending = wait_some(pending)
            _drain(updates, bars)
            for future in done:
                job = futures[future]
                results[job.key] = future.result()
                bars.finish(job)
                pending.update(start(f) for f in (then(job, results[job.key]) if then
                                                  else ()))
    except BaseException:
        cancel(pending)
        raise
    return results


def _silence(verbose: bool) -> None:
    """Worker initializer: Freqtrade's hyperopt prints its own tables and progress bar, which
    would tear through the parent's bars and table (or JSON). Without ``--verbose`` its logs
    go too; a worker's error still reaches the parent, as the task's exception."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if not verbose:
        os.dup2(devnull, 2)
    os.close(devnull)


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
        if key in self.jobs:  # a late message of a job re-run elsewhere is harmless
            self.done[key] = done
            self._show(self.jobs[key].bar)

    def finish(self, job: Job) -> None:
        self.step(job.key, job.steps)

    def _show(self, bar: str) -> None:
        keys = [k for k, j in self.jobs.items() if j.bar == bar]
        self.progress.update(self.ids[bar], total=sum(self.jobs[k].steps for k in keys),
                             completed=sum(self.done[k] for k in keys))


def _drain(queue: Any, bars: _Bars) -> None:
    while True:
        try:
            key, done = queue.get_nowait()
        except Empty:
            return
        bars.step(key, done)


__all__ = ["FollowUp", "Job", "run_jobs"]
