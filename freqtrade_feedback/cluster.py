"""A Dask cluster for work that outgrows one machine: which one ``--cluster`` means, and
whether its workers can do the work before any is sent.

``--cluster tcp://host:8786`` connects to a running ``dask scheduler``; ``--cluster local:N``
starts a ``distributed.LocalCluster`` of N worker processes (one thread each) on this
machine for the run's length. dask.distributed is an optional extra
(``pip install freqtrade-feedback[dask]``): without it ``--cluster`` fails at start naming
the extra.

Workers share nothing with the process that submits: each must import this package and see
the config, the strategy and the candles at the same paths. :func:`check_workers` asks every
worker before the first task, so a worker that cannot see the data folder fails the run in
seconds, naming the worker and the path, not an hour into it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import pickle
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freqtrade_feedback.exceptions import ConfigError

if TYPE_CHECKING:
    from distributed import Client

EXTRA = "pip install 'freqtrade-feedback[dask]'"
CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the scheduler, and for at least one worker, before giving up."""


@dataclass(frozen=True)
class ClusterAddress:
    """What ``--cluster`` names: a scheduler to connect to, or a local cluster to start."""

    scheduler: str | None
    """``tcp://host:port`` of a running scheduler (``None``: start a local cluster)."""
    workers: int = 0
    """Worker processes of the local cluster (0 with a scheduler)."""

    def __str__(self) -> str:
        return self.scheduler or f"local:{self.workers}"


def parse_cluster(text: str) -> ClusterAddress:
    """``--cluster``'s value: ``local:N`` or a scheduler address (``tcp://`` is assumed).

    >>> parse_cluster("local:2")
    ClusterAddress(scheduler=None, workers=2)
    >>> parse_cluster("10.0.0.5:8786").scheduler
    'tcp://10.0.0.5:8786'
    >>> parse_cluster("local:0")
    Traceback (most recent call last):
    ...
    freqtrade_feedback.exceptions.ConfigError: --cluster local:N needs N >= 1 worker \
processes, got 'local:0'
    """
    text = text.strip()
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ConfigError(f"--cluster local:N needs N >= 1 worker processes, got {text!r}")
        return ClusterAddress(None, int(count))
    if not text or text.startswith("local"):
        raise ConfigError(f"--cluster needs a scheduler address (tcp://host:8786) or local:N, "
                          f"got {text!r}")
    return ClusterAddress(text if "://" in text else f"tcp://{text}")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise ConfigError(f"--cluster needs dask.distributed, which is not installed: {EXTRA}"
                          ) from error
    return distributed


@contextmanager
def connect(address: ClusterAddress, *, verbose: bool = False) -> Iterator[Client]:
    """A client of the cluster ``address`` names, closed (and a local cluster stopped) after.

    A local cluster's workers run one task at a time each (one thread), as ``--jobs N`` runs
    N processes: the tasks are whole backtests and hyperopts, each in its own process. Dask's
    own INFO lines (workers and nannies starting and closing) only with ``verbose``."""
    distributed = _distributed()
    if not verbose:
        logging.getLogger("distributed").setLevel(logging.WARNING)
    if address.scheduler is None:
        with (distributed.LocalCluster(n_workers=address.workers, threads_per_worker=1,
                                       processes=True, dashboard_address=":0") as local,
              distributed.Client(local) as client):
            yield client
        return
    try:
        client = distributed.Client(address.scheduler, timeout=CONNECT_TIMEOUT)
    except OSError as error:
        raise ConfigError(f"--cluster {address}: no Dask scheduler answered within "
                          f"{CONNECT_TIMEOUT:.0f} s ({error})") from error
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError as error:
            raise ConfigError(f"--cluster {address}: the scheduler has no worker "
                              f"(start one with `dask worker {address.scheduler}`)") from error
        yield client


def worker_count(client: Client) -> int:
    """Tasks the cluster runs at once: its worker threads."""
    return sum(client.nthreads().values())


def inspect_worker(paths: Mapping[str, str], writable: Mapping[str, str]) -> dict[str, Any]:
    """Run on a worker: this package's version there, and which paths it cannot use."""
    missing = {what: path for what, path in paths.items() if not Path(path).exists()}
    for what, path in writable.items():
        folder = Path(path)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-test-{os.getpid()}"
            probe.touch()
            probe.unlink()
        except OSError as error:
            missing[what] = f"{path} (not writable: {error.strerror})"
    return {"version": importlib.metadata.version("freqtrade-feedback"), "missing": missing}


def check_workers(client: Client, paths: Mapping[str, Path],
                  writable: Mapping[str, Path] = {}) -> int:  # noqa: B006 (read only)
    """Fail at once, naming the worker and the path, when a worker cannot read one of
    ``paths`` or write into one of ``writable`` (folders, created when missing), or runs
    another version of this package; returns the number of workers checked.

    Every worker is asked (``Client.run``), not a sample: a task lands on any of them."""
    wanted = importlib.metadata.version("freqtrade-feedback")
    try:
        answers = client.run(inspect_worker, {k: str(v) for k, v in paths.items()},
                             {k: str(v) for k, v in writable.items()})
    except ImportError as error:  # the package is not installed on a worker
        raise ConfigError(f"a Dask worker cannot import freqtrade-feedback: {error}; install "
                          "it on every worker machine") from error
    problems = []
    for worker, answer in sorted(answers.items()):
        problems += [f"worker {worker} cannot see the {what} {path}"
                     for what, path in answer["missing"].items()]
        if answer["version"] != wanted:
            problems.append(f"worker {worker} runs freqtrade-feedback {answer['version']}, "
                            f"this machine {wanted}")
    if problems:
        raise ConfigError("; ".join(problems) + ". Every worker needs the same paths "
                          "(a shared folder) and the same package: see docs/scaling-out.md")
    return len(answers)


def unpickling_error(blob: bytes) -> str:
    """Run on the scheduler and every worker: what unpickling ``blob`` (the code an epoch's
    task carries) fails with there, ``""`` when it does not."""
    try:
        pickle.loads(blob)
    except Exception as error:  # any failure is the answer, reported with the machine
        return f"{type(error).__name__}: {error}"
    return ""


def check_unpickling(client: Client, blob: bytes) -> None:
    """Fail, naming the machine, when the scheduler or a worker cannot unpickle ``blob``: a
    package missing there (Freqtrade, this one, one the strategy imports)."""
    try:
        answers = {"the scheduler": client.run_on_scheduler(unpickling_error, blob)}
    except ImportError as error:  # this package itself is missing there (check_workers
        answers = {"the scheduler": f"ImportError: {error}"}  # asked the workers already)
    answers.update({f"worker {worker}": answer
                    for worker, answer in client.run(unpickling_error, blob).items()})
    problems = [f"{where} cannot unpickle an epoch ({error})"
                for where, error in sorted(answers.items()) if error]
    if problems:
        raise ConfigError("; ".join(problems) + ". Dask's scheduler unpickles every task and "
                          "the workers run them: both need the software of this machine "
                          "(Freqtrade, freqtrade-feedback, what the strategy imports)")


__all__ = ["EXTRA", "ClusterAddress", "check_unpickling", "check_workers", "connect",
           "inspect_worker", "parse_cluster", "unpickling_error", "worker_count"]
