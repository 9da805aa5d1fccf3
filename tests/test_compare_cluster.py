"""``compare --cluster``: the same rows on a real Dask cluster as on this machine's process
pool, a worker killed mid-task loses no row and doubles none, and a cluster whose workers
cannot do the work is refused at start.

The comparison is a small hyperopt study (two pairs, two epochs per variant, one week out of
sample) on ``candles_5m`` (the real candles, else the demo's synthetic market): long enough
for a task to be killed while it runs, short enough to run three times.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import CONFIG, REPO, STRATEGIES, USER_ENVIRONMENT

from freqtrade_feedback.cli.main import main
from freqtrade_feedback.cluster import check_workers, connect, parse_cluster
from freqtrade_feedback.exceptions import ConfigError

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

STUDY = ["--timerange", "20240201-20240215", "--epochs", "2",
         "--oos-timerange", "20240215-20240222", "--random-state", "5"]
VARIANTS = ["primary", "feedback", "guarded"]
FREQTRADE_FEEDBACK = [str(Path(sys.executable).parent / "freqtrade-feedback")]


@pytest.fixture(scope="module")
def study(candles_5m: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo config on BTC and ETH; returns the folder the runs share."""
    root = tmp_path_factory.mktemp("cluster")
    config = json.loads(CONFIG.read_text())
    config["exchange"]["pair_whitelist"] = ["BTC/USDT", "ETH/USDT"]
    (root / "config.json").write_text(json.dumps(config))
    (root / "user_data").mkdir()
    (root / "data").symlink_to(candles_5m)
    return root


def _argv(root: Path, out: str, *options: str) -> list[str]:
    return ["compare", "--config", str(root / "config.json"), "--datadir", str(root / "data"),
            "--userdir", str(root / "user_data"), "--strategy-path", str(STRATEGIES),
            *STUDY, "--out", str(root / out), *options]


def _rows(path: Path) -> list[dict[str, str]]:
    """compare.csv without its one wall-clock column."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"}
                for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def here(study: Path) -> list[dict[str, str]]:
    """The reference: this machine's process pool, two workers."""
    assert main(_argv(study, "here", "--jobs", "2")) == 0
    return _rows(study / "here" / "compare.csv")


def test_a_local_cluster_gives_the_rows_of_the_process_pool(
        study: Path, here: list[dict[str, str]]) -> None:
    assert main(_argv(study, "local2", "--cluster", "local:2")) == 0
    rows = _rows(study / "local2" / "compare.csv")
    assert [r["variant"] for r in here] == VARIANTS
    assert int(here[0]["trades"]) > 0
    assert rows == here


def _isolated_jobs() -> list[psutil.Process]:
    """Job interpreters (``comparison.isolated``) still running anywhere on the machine."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if "freqtrade_feedback.comparison.isolated" in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def test_a_worker_killed_mid_task_loses_no_row_and_doubles_none(
        study: Path, here: list[dict[str, str]]) -> None:
    """A real ``LocalCluster`` of two worker processes; ``compare`` connects to its scheduler
    from another process, and one worker is SIGKILLed while it runs a task. Its nanny starts
    a new one, the scheduler runs the task again, the job's interpreter dies with the
    worker."""
    with (distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=":0") as cluster,
          distributed.Client(cluster) as client):
        command = subprocess.Popen(
            [*FREQTRADE_FEEDBACK, *_argv(study, "killed", "--cluster", cluster.scheduler_address)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=USER_ENVIRONMENT,
            cwd=REPO, start_new_session=True)
        try:
            victim, task = _worker_two_seconds_into_a_task(client, timeout=120)
            os.kill(victim, signal.SIGKILL)
            _, stderr = command.communicate(timeout=300)
        finally:
            if command.poll() is None:
                os.killpg(command.pid, signal.SIGKILL)
    assert command.returncode == 0, stderr[-3000:]
    assert task.split("-")[0] in VARIANTS  # the killed task was one of the comparison's
    rows = _rows(study / "killed" / "compare.csv")
    assert [r["variant"] for r in rows] == VARIANTS  # every row, none twice
    assert rows == here
    time.sleep(1.5)  # the orphan watch looks every second
    assert not _isolated_jobs()


def _worker_two_seconds_into_a_task(client: distributed.Client,
                                    timeout: float) -> tuple[int, str]:
    """The process id of a worker that has been running the same task for two seconds (well
    inside it: its hyperopt has started), and that task's key."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = {worker: sorted(tasks)[0] for worker, tasks in client.processing().items()
                if tasks}
        if busy:
            time.sleep(2.0)
            still = client.processing()
            for worker, task in busy.items():
                if task in still.get(worker, ()):
                    return pids[worker], task
        time.sleep(0.2)
    raise AssertionError(f"no worker ran a task for two seconds within {timeout} s")


def test_a_worker_that_cannot_see_a_path_fails_the_run_naming_worker_and_path(
        tmp_path: Path) -> None:
    missing = tmp_path / "not-shared" / "data"
    with connect(parse_cluster("local:1")) as client:
        (worker,) = client.nthreads()
        with pytest.raises(ConfigError) as error:
            check_workers(client, {"data folder": missing, "strategy file": tmp_path})
    assert f"worker {worker} cannot see the data folder {missing}" in str(error.value)
    assert "strategy file" not in str(error.value)


def test_an_unreachable_scheduler_fails_fast_with_exit_2(study: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    started = time.monotonic()
    assert main(_argv(study, "nowhere", "--cluster", "tcp://127.0.0.1:9")) == 2
    assert time.monotonic() - started < 60
    assert "--cluster tcp://127.0.0.1:9: no Dask scheduler answered" in caplog.text


def test_without_the_extra_the_cluster_option_names_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ConfigError, match=r"pip install 'freqtrade-feedback\[dask\]'"):
        with connect(parse_cluster("local:1")):
            pass
