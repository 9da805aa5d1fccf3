"""``freqtrade-feedback hyperopt --cluster``: Freqtrade's own hyperopt with its epochs on Dask
workers gives the epochs one local process gives.

Without the fix the epochs on a two-worker ``LocalCluster`` ran with parameter values they were
not given: a strategy class loaded from a file is pickled by value, cloudpickle keeps one
class per process and re-binds its attributes on every unpickling, and Dask unpickles several
copies in one process (the scheduler in ours, a worker its queued tasks) where loky never
does. The first test shows that without Dask; the identity test runs the real command.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from conftest import CONFIG, REPO, STRATEGIES, USER_ENVIRONMENT
from freqtrade.enums import RunMode
from freqtrade.optimize.hyperopt.hyperopt_optimizer import HyperOptimizer
from freqtrade.resolvers import StrategyResolver

from freqtrade_feedback.backtest import backtest_config
from freqtrade_feedback.exceptions import ConfigError
from freqtrade_feedback.hyperopt_cluster import check_threads, pin_parameters

BIN = REPO / ".venv" / "bin"
TIMERANGE = "20240101-20240122"
PAIRS = ["BTC/USDT", "ETH/USDT"]
EPOCHS = 5
STRATEGY = "HyperLogged"
STRATEGY_SOURCE = '''
import logging

from freqtrade.strategy import IntParameter
from FeedbackSampleStrategy import FeedbackSampleStrategy

logger = logging.getLogger(__name__)


class HyperLogged(FeedbackSampleStrategy):
    """The sample with a cold start short enough for the gate to act within three weeks,
    saying in each epoch which entry parameter it reads (from whichever process runs it)."""

    feedback_min_outcomes = IntParameter(3, 8, default=5, space="feedback")

    def populate_entry_trend(self, dataframe, metadata):
        logger.info("entry signals of %s with buy_rsi=%s", metadata["pair"], self.buy_rsi.value)
        return super().populate_entry_trend(dataframe, metadata)
'''
LOGGED = re.compile(r"entry signals of \S+ with buy_rsi=\d+")


@pytest.fixture(scope="module")
def strategies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cluster_strategies")
    shutil.copy2(STRATEGIES / "FeedbackSampleStrategy.py", folder)
    (folder / f"{STRATEGY}.py").write_text(STRATEGY_SOURCE)
    return folder


@dataclass
class Workspace:
    root: Path
    config: Path
    datadir: Path
    strategies: Path


@pytest.fixture(scope="module")
def workspace(binance_5m: Path, strategies: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Two pairs of real 5m candles (BTC's 1h for the market features), the guard on."""
    root = tmp_path_factory.mktemp("hyperopt_cluster")
    datadir = root / "data"
    datadir.mkdir()
    for name in ("BTC_USDT-5m.feather", "ETH_USDT-5m.feather", "BTC_USDT-1h.feather"):
        shutil.copy2(binance_5m / name, datadir / name)
    config = json.loads(CONFIG.read_text())
    config["exchange"]["pair_whitelist"] = PAIRS
    config["feedback"].update({"threshold": 0.9, "min_edge": 0.05, "guard": {"enabled": True}})
    path = root / "config.json"
    path.write_text(json.dumps(config))
    return Workspace(root, path, datadir, strategies)


def test_pinned_parameters_survive_another_copy_of_the_class_in_the_process(
    strategies: Path, user_data: Path
) -> None:
    """Two copies of a hyperopt strategy unpickled in one process, as Dask does: the first
    copy's epoch must read the value hyperopt wrote into its own parameter, not the one of the
    copy unpickled last (which re-bound the class attribute)."""
    config = backtest_config(CONFIG, strategy=STRATEGY, strategy_path=strategies,
                             user_data_dir=user_data,
                             overrides={"feedback": {"features": ["ta", "pair"]}})
    config["runmode"] = RunMode.HYPEROPT
    strategy = StrategyResolver.load_strategy(config)
    strategy.ft_bot_start()
    before = set(cloudpickle.list_registry_pickle_by_value())
    classes = {cls: dict(vars(cls)) for cls in type(strategy).__mro__[:-1]}
    object.__new__(HyperOptimizer).hyperopt_pickle_magic(type(strategy).__bases__)
    try:
        def epoch_reads(pinned: bool) -> int:
            if pinned:
                pin_parameters(strategy)
            first = cloudpickle.loads(cloudpickle.dumps(strategy))
            cloudpickle.loads(cloudpickle.dumps(strategy))  # the next task, unpickled early
            first._ft_hyper_params["buy"]["buy_rsi"].value = 35  # what the epoch asks
            return int(first.buy_rsi.value)

        # unpinned, the first copy reads the value of the copy unpickled last (the strategy's
        # default, or whatever an earlier test in this process left there), never its own
        assert epoch_reads(pinned=False) != 35, "the bug this guards against is gone?"
        assert epoch_reads(pinned=True) == 35
    finally:
        for name in set(cloudpickle.list_registry_pickle_by_value()) - before:
            cloudpickle.unregister_pickle_by_value(__import__(name, fromlist=["_"]))
        for cls, attributes in classes.items():  # the classes other tests load again
            for name, value in attributes.items():
                if not name.startswith("__") and vars(cls).get(name) is not value:
                    setattr(cls, name, value)


@dataclass
class Run:
    returncode: int
    stderr: str
    epochs: list[dict[str, Any]]
    logged: list[str]
    """The strategy's own lines from inside the epochs, in whichever process they ran."""


def _hyperopt(ws: Workspace, name: str, *command: str, cwd: Path | None = None,
              datadir: str | None = None, timeout: float = 300) -> Run:
    """``freqtrade-feedback COMMAND...`` on the workspace in a fresh process, as a user runs
    it; its epochs and log lines."""
    userdir = ws.root / name
    userdir.mkdir()
    done = subprocess.run(
        [str(BIN / "freqtrade-feedback"), *command, "--config", str(ws.config),
         "--datadir", datadir or str(ws.datadir), "--userdir", str(userdir),
         "--strategy", STRATEGY, "--strategy-path", str(ws.strategies),
         "--timerange", TIMERANGE, "--spaces", "feedback", "buy",
         "--hyperopt-loss", "FeedbackHyperOptLoss",
         "--hyperopt-path", str(REPO / "user_data" / "hyperopts"), "-e", str(EPOCHS),
         "--random-state", "3", "--min-trades", "1", "--disable-param-export"],
        capture_output=True, text=True, timeout=timeout, check=False,
        env=USER_ENVIRONMENT, cwd=cwd)
    results = list((userdir / "hyperopt_results").glob("*.fthypt"))
    epochs = [json.loads(line) for path in results for line in path.read_text().splitlines()]
    return Run(done.returncode, done.stderr,
               sorted(epochs, key=lambda e: e["current_epoch"]),
               sorted(m.group(0) for m in LOGGED.finditer(done.stderr)))


def _epochs(run: Run) -> list[tuple]:
    return [(e["params_dict"],
             [(t["pair"], t["open_timestamp"], t["close_timestamp"], round(t["profit_abs"], 6))
              for t in e["results_metrics"]["trades"]]) for e in run.epochs]


def test_a_two_worker_cluster_gives_the_epochs_and_log_lines_of_one_process(
    workspace: Workspace
) -> None:
    """The issue's identity: same random state, same epochs (parameters and every trade) as
    ``-j 1``, where one strategy runs every epoch in order; and the strategy's line from each
    epoch reaches this console once, with the value that epoch asked for."""
    local = _hyperopt(workspace, "j1", "offline", "hyperopt", "-j", "1")
    cluster = _hyperopt(workspace, "local2", "hyperopt", "--cluster", "local:2")
    assert local.returncode == 0, local.stderr[-3000:]
    assert cluster.returncode == 0, cluster.stderr[-3000:]
    assert len(cluster.epochs) == EPOCHS
    assert _epochs(cluster) == _epochs(local)
    counts = [len(e["results_metrics"]["trades"]) for e in local.epochs]
    assert len(set(counts)) > 1, f"every epoch traded alike ({counts}): nothing to compare"
    asked = sorted(f"entry signals of {pair} with buy_rsi={e['params_dict']['buy_rsi']}"
                   for e in local.epochs for pair in PAIRS)
    assert cluster.logged == local.logged == asked
    assert "Effective number of parallel workers used: 2" in cluster.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_scheduler_fails_at_once_naming_it(workspace: Workspace) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    run = _hyperopt(workspace, "unreachable", "hyperopt", "--cluster", address, timeout=120)
    assert run.returncode == 2
    assert f"--cluster {address}: no Dask scheduler answered" in run.stderr
    assert "Traceback" not in run.stderr
    assert time.monotonic() - started < 60


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[str]:
    """A scheduler and one worker in processes of their own (they share no authkey, no
    sys.path, no working directory with the test: a worker on another machine), the worker
    started in an empty folder; stopped by their process ids."""
    address_file = tmp_path / "scheduler.json"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    scheduler = subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(address_file)], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    worker = subprocess.Popen(
        [str(BIN / "dask"), "worker", "--scheduler-file", str(address_file), "--nthreads", "1",
         "--no-dashboard"], cwd=elsewhere, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        yield json.loads(address_file.read_text())["address"]
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)


def test_a_worker_that_cannot_see_the_datadir_fails_the_run_naming_both(
    workspace: Workspace, remote: str
) -> None:
    """A relative ``--datadir`` resolves here but not in the worker's folder: the run stops
    before the first epoch, saying which worker misses which path."""
    run = _hyperopt(workspace, "unseen", "hyperopt", "--cluster", remote,
                    cwd=workspace.root, datadir="data")
    assert run.returncode == 2, run.stderr[-3000:]
    assert re.search(r"worker tcp://\S+ cannot see the datadir data\b", run.stderr), (
        run.stderr[-3000:])
    assert not run.epochs


class _Client:
    def __init__(self, nthreads: dict[str, int]) -> None:
        self._nthreads = nthreads

    def nthreads(self) -> dict[str, int]:
        return self._nthreads


def test_a_worker_with_several_threads_is_refused_by_name() -> None:
    """Two epochs in one process would share Freqtrade's class-level trade lists."""
    check_threads(_Client({"tcp://a:1": 1, "tcp://b:2": 1}))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"tcp://b:2 \(4 threads\).*--nthreads 1"):
        check_threads(_Client({"tcp://a:1": 1, "tcp://b:2": 4}))  # type: ignore[arg-type]
