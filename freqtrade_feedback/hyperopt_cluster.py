"""Freqtrade's hyperopt with its epochs on a Dask cluster (``hyperopt --cluster``).

Freqtrade's ``Hyperopt.start`` runs unchanged under joblib's Dask backend (:func:`on_cluster`): its
``Parallel`` names no backend, so each epoch becomes one task on the cluster's workers. Around
it this module adds what it takes for the cluster to give the epochs of a local run (measured
on Freqtrade 2026.9, distributed 2026.8; docs/scaling-out.md):

- **Parameters pinned to the strategy instance** (:func:`pin_parameters`): without it a
  cluster's epochs ran with other epochs' (or the default) parameter values.
- **One pristine copy per epoch**: joblib would scatter the hyperopt object once per batch,
  to one worker, and the epochs of the batch would share that object (others fetch it from
  there, possibly while an epoch runs on it); each task carries its own copy of the parent's
  object instead, as each epoch of loky does. (With the parameters pinned, both ways gave the
  same epochs on the sample; this one needs no argument about shared state.)
- **``-j`` means what it means locally**, the number of epochs per batch
  (:func:`batch_size`), so ``--cluster X -j 3`` gives the epochs of a local ``-j 3``. (Under
  joblib's Dask backend alone the batch is the cluster's thread count. With a sampler that
  learns from each batch, TPE, ``-j 2`` and ``-j 3`` part at epoch 33 of 40.)
- **The log relay** (:class:`LogRelay`): Freqtrade relays a worker's log records through a
  ``multiprocessing.Manager`` queue, which a worker on another machine cannot reach; the
  records travel as Dask events instead.
- **The cluster checked** before the first epoch: workers of one thread each (Freqtrade's
  backtesting keeps its trades in class attributes, ``LocalTrade.bt_trades``, so two epochs in
  one process would mix their trades) that see the data folders at the same paths, and a
  scheduler and workers that can unpickle an epoch's task. The scheduler unpickles every task
  graph it is sent, so it needs the workers' software too; one that cannot left the run
  waiting forever, without a word.
"""

from __future__ import annotations

import functools
import logging
import queue
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freqtrade_feedback.cluster import check_unpickling, check_workers
from freqtrade_feedback.exceptions import ConfigError

if TYPE_CHECKING:
    from distributed import Client

logger = logging.getLogger(__name__)


def check_threads(client: Client) -> None:
    """Fail, naming the worker, when a worker runs more than one thread: Freqtrade's
    backtesting keeps its trades in class attributes (``LocalTrade.bt_trades``), shared by
    every thread of a process, so two epochs at once in one worker would mix their trades."""
    crowded = {worker: n for worker, n in sorted(client.nthreads().items()) if n > 1}
    if crowded:
        named = ", ".join(f"{worker} ({n} threads)" for worker, n in crowded.items())
        raise ConfigError(f"hyperopt --cluster needs one thread per worker process: two "
                          f"epochs in one process would mix their trades. Got {named}; start "
                          f"the workers with `dask worker SCHEDULER --nthreads 1 --nworkers N`")


def pin_parameters(strategy: Any) -> int:
    """Bind every hyperoptable parameter Freqtrade found on ``strategy`` as an attribute of
    the instance itself, so that ``self.buy_rsi`` is the object hyperopt writes the epoch's
    value into, whatever happens to the class; returns how many were pinned.

    Why: Freqtrade writes each epoch's values through the instance's index of parameter
    objects (``_ft_hyper_params``), but a strategy reads them as class attributes. A strategy
    class loaded from a file is pickled by value, and cloudpickle keeps one class per process:
    every later unpickling of it in that process re-binds the class attributes to the new
    copy's objects. Under Dask two copies live in one process (the scheduler unpickles every
    task in the submitting process of a ``LocalCluster``; a worker unpickles its queued tasks
    while one runs), and one copy's strategy then reads the other's values: the epochs ran
    with parameters they were not given. loky never has two: its parent never unpickles, and
    a worker unpickles the next epoch only after the last. Pinned, the instance reads its own
    objects, which travel with it in the same pickle.

    Examples
    --------
    >>> class Parameter:
    ...     value = 32
    >>> class Strategy:
    ...     buy_rsi = Parameter()
    >>> strategy = Strategy()
    >>> strategy._ft_hyper_params = {"buy": {"buy_rsi": Strategy.buy_rsi}}
    >>> pin_parameters(strategy)
    1
    >>> Strategy.buy_rsi = Parameter()  # what unpickling another copy does to the class
    >>> strategy._ft_hyper_params["buy"]["buy_rsi"].value = 35  # what an epoch does
    >>> strategy.buy_rsi.value
    35
    """
    pinned = 0
    for parameters in getattr(strategy, "_ft_hyper_params", {}).values():
        for name, parameter in parameters.items():
            setattr(strategy, name, parameter)
            pinned += 1
    return pinned


def batch_size(n_jobs: int | None, threads: int) -> int:
    """Epochs per batch on a cluster with ``threads`` worker threads: Freqtrade's ``-j``
    as it means locally (``K`` epochs asked, run and told to the optimizer together; the
    cluster queues those beyond its threads), ``-1`` (the default) one per thread, ``-2``
    one fewer, as joblib counts. The batch decides which parameters later epochs get, so a
    cluster run equals the local run with the same ``-j``.

    >>> batch_size(4, 2), batch_size(-1, 6), batch_size(-2, 6), batch_size(-9, 2)
    (4, 6, 5, 1)
    """
    if n_jobs is not None and n_jobs > 0:
        return n_jobs
    return max(threads + 1 + (n_jobs or -1), 1)


def cluster_backend(client: Client) -> Any:
    """joblib's Dask backend on ``client`` with :func:`batch_size` as its number of jobs
    (joblib's own counts the cluster's threads and ignores ``-j``)."""
    from joblib._dask import DaskDistributedBackend  # joblib names it in no public module

    class ClusterBackend(DaskDistributedBackend):  # type: ignore[misc]
        said = False

        def effective_n_jobs(self, n_jobs: int | None) -> int:
            jobs = batch_size(n_jobs, super().effective_n_jobs(n_jobs))
            if jobs == 1 and not self.said:  # joblib's rule for one job, whatever the backend
                self.said = True
                logger.warning("freqtrade-feedback: one epoch per batch (-j 1, or a cluster of "
                               "one worker): joblib runs every epoch in this process, not on "
                               "the cluster")
            return jobs

    return ClusterBackend(client=client)


class LogRelay:
    """Freqtrade's hyperopt log queue, reaching across machines: its log records go from a
    worker to this process as Dask events on one topic per run.

    Freqtrade's worker setup (``logging_mp_setup``) hands each record to a ``QueueHandler``
    on this object (:meth:`put_nowait`, in the worker); after every batch its parent drains
    the queue (:meth:`get`), so the records reach the console where they would locally. Only
    the topic is pickled: the inbox stays in this process.
    """

    def __init__(self) -> None:
        self.topic = f"freqtrade-feedback-hyperopt-log-{uuid.uuid4().hex}"
        self._inbox: queue.SimpleQueue[logging.LogRecord] | None = queue.SimpleQueue()

    def __getstate__(self) -> dict[str, str]:
        return {"topic": self.topic}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.topic = state["topic"]
        self._inbox = None

    def put_nowait(self, record: logging.LogRecord) -> None:
        """In a worker: send ``record`` (already formatted by the ``QueueHandler``) on."""
        from distributed import get_worker

        fields = {key: value for key, value in vars(record).items()
                  if isinstance(value, str | int | float | bool) or value is None}
        try:
            get_worker().log_event(self.topic, fields)
        except ValueError:  # not inside a Dask task: nowhere to send it, so say it here
            if logging.lastResort is not None:
                logging.lastResort.handle(record)

    def receive(self, event: tuple[float, dict[str, Any]]) -> None:
        """Here (the client's event loop): keep a worker's record for the next drain."""
        if self._inbox is not None:
            self._inbox.put(logging.makeLogRecord(event[1]))

    def get(self, block: bool = True) -> logging.LogRecord:
        """Here: the next record received (``queue.Empty`` when none is waiting)."""
        if self._inbox is None:
            raise queue.Empty
        return self._inbox.get(block=block)


@contextmanager
def on_cluster(client: Client) -> Iterator[LogRelay]:
    """Freqtrade's hyperopt with its epochs on ``client``'s cluster, for the ``with`` block:
    the patches of the module docstring, each undone at the end."""
    import joblib
    from dask.sizeof import sizeof
    from freqtrade.optimize.hyperopt import hyperopt_optimizer
    from freqtrade.optimize.hyperopt.hyperopt_logger import logging_mp_handle

    optimizer = hyperopt_optimizer.HyperOptimizer
    relay = LogRelay()
    # joblib scatters an argument sizeof calls large; 0 keeps one pristine copy per task (a
    # registration for good: this process runs one command)
    sizeof.register(optimizer)(lambda _: 0)
    with ExitStack() as stack:
        stack.enter_context(_replaced(optimizer, "__init__",
                                      _checked_init(optimizer.__init__, client)))
        stack.enter_context(_replaced(optimizer, "_setup_logging_mp_workaround",
                                      _relay_setup(hyperopt_optimizer, relay)))
        client.subscribe_topic(relay.topic, relay.receive)
        stack.callback(client.unsubscribe_topic, relay.topic)
        stack.callback(logging_mp_handle, relay)  # records that came after the last batch
        stack.enter_context(joblib.parallel_config(backend=cluster_backend(client)))
        yield relay


def _checked_init(init: Callable[..., None], client: Client) -> Callable[..., None]:
    """``HyperOptimizer.__init__``, then the strategy's parameters pinned and the workers
    asked for the folders an epoch reads: the analyzed candles Freqtrade pickles into
    ``hyperopt_results`` (every epoch loads them) and the data folder (read by epochs that
    analyse, ``--analyze-per-epoch``). The config and strategy files travel inside the task.
    A failure is Freqtrade's ``OperationalException``, which its ``main`` reports in one line.
    """
    import cloudpickle
    from freqtrade.exceptions import OperationalException

    @functools.wraps(init)
    def checked(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        pin_parameters(self.backtesting.strategy)
        paths = {"datadir": Path(self.config["datadir"]),
                 "hyperopt_results folder": Path(self.data_pickle_file).parent}
        try:
            workers = check_workers(client, paths)
            # the code an epoch carries by value (its imports are what a machine may miss)
            check_unpickling(client, cloudpickle.dumps(
                (type(self.backtesting.strategy), self.custom_hyperoptloss)))
        except ConfigError as error:
            raise OperationalException(str(error)) from error
        logger.info("freqtrade-feedback: %d Dask workers see %s", workers,
                    ", ".join(str(path) for path in paths.values()))

    return checked


def _relay_setup(module: Any, relay: LogRelay) -> Callable[[Any], None]:
    """``HyperOptimizer._setup_logging_mp_workaround`` with ``relay`` as the log queue (no
    ``Manager`` process: its queue is unreachable from another machine)."""

    def setup(self: Any) -> None:
        module.log_queue = relay

    return setup


@contextmanager
def _replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    original = owner.__dict__[name]
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


__all__ = ["LogRelay", "batch_size", "check_threads", "cluster_backend", "on_cluster",
           "pin_parameters"]
