"""One job in a fresh interpreter, from inside a Dask task.

A Dask worker runs task after task in one long-lived process, while a hyperopt or backtest
leaves state in Freqtrade's classes and modules (trades, pair locks, the hyperopt's log
queue) that the next task must not see. So the task (:func:`run_isolated`) starts
``python -m freqtrade_feedback.comparison.isolated FOLDER FD``, a new interpreter that runs
the job exactly as a spawned local worker would, and waits for it:

- the job (function and arguments, cloudpickled) goes in ``FOLDER/job.pkl``; the result or
  the exception comes back in ``FOLDER/result.pkl`` or ``FOLDER/error.pkl``;
- the steps done arrive one per line on the pipe ``FD`` and go on to the client as Dask
  events on the run's topic (``Worker.log_event``);
- the child polls its parent: when the worker is killed, its job dies with it within a
  second instead of running on unseen (the scheduler runs the task again elsewhere).

A subprocess, not ``multiprocessing``: Dask's worker processes are daemonic, and a daemonic
process may not have multiprocessing children.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle

ORPHAN_POLL = 1.0
"""Seconds between the child's looks at whether its worker still lives."""


class JobFailed(RuntimeError):
    """A job's interpreter died without saying why (killed, out of memory), or its exception
    could not be pickled."""


def run_isolated(function: Callable[..., Any], args: tuple[Any, ...], key: str, topic: str,
                 verbose: bool) -> Any:
    """The Dask task: run ``function(*args, report)`` in a fresh interpreter, relay its steps
    as ``(key, done)`` events on ``topic``, return its result or raise its exception."""
    from distributed import get_worker

    worker = get_worker()
    with tempfile.TemporaryDirectory(prefix="ffb-job-") as tmp:
        folder = Path(tmp)
        (folder / "job.pkl").write_bytes(cloudpickle.dumps((function, args)))
        read, write = os.pipe()
        quiet = subprocess.DEVNULL if not verbose else None
        child = subprocess.Popen(
            [sys.executable, "-m", __name__, str(folder), str(write)],
            pass_fds=(write,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=quiet)
        os.close(write)
        with os.fdopen(read, encoding="utf-8") as steps:
            for line in steps:
                worker.log_event(topic, (key, int(line)))
        code = child.wait()
        if (folder / "result.pkl").is_file():
            return cloudpickle.loads((folder / "result.pkl").read_bytes())
        if (folder / "error.pkl").is_file():
            raise cloudpickle.loads((folder / "error.pkl").read_bytes())
        raise JobFailed(f"job {key}: its interpreter ended with exit code {code} and no result")


def _watch_parent() -> None:
    """Exit at once when the worker that started this interpreter is gone."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(ORPHAN_POLL)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True, name="orphan-watch").start()


def main(folder: Path, fd: int) -> int:
    """The child: run the job in ``folder``, reporting steps on the pipe ``fd``."""
    _watch_parent()
    function, args = cloudpickle.loads((folder / "job.pkl").read_bytes())
    with os.fdopen(fd, "w", buffering=1, encoding="utf-8") as steps:
        try:
            result = function(*args, lambda done: print(int(done), file=steps, flush=True))
        except BaseException as error:
            try:
                payload = cloudpickle.dumps(error)
            except Exception:  # an exception that does not pickle still says what it was
                payload = cloudpickle.dumps(JobFailed("".join(
                    traceback.format_exception(error)).strip()))
            (folder / "error.pkl").write_bytes(payload)
            return 1
    partial = folder / "result.pkl.partial"
    partial.write_bytes(cloudpickle.dumps(result))
    partial.rename(folder / "result.pkl")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))
