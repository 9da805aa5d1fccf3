"""What a Dask cluster buys ``compare``: ``benchmark --cluster``.

One fixed study (three pairs, two walk-forward folds, five hyperopt epochs per variant and
fold: six tasks) runs three ways, one after the other on the same copy of the candles, each
as the ``freqtrade-feedback compare`` command a user types, in a process of its own: this
machine's process pool with ``--jobs 1`` (the baseline), with ``--jobs 2``, and on a
``--cluster local:2`` Dask cluster. The figure is wall time against the baseline; on two
idle cores ``local:2`` should take about 0.55 of it (two tasks at a time, minus the cluster's
start and the tasks that do not divide evenly). Every way must write the same rows (all but
the wall-clock column): a speed that changed the results would be worth nothing.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from freqtrade_feedback.benchmarks.backtest import copy_candles

EXPECTED = 0.55
"""Wall time of ``local:2`` over ``--jobs 1`` expected on two idle cores (no target: the
machine's load decides; the table says how far off it is)."""
BUDGET = ("--folds", "2", "--epochs", "5", "--random-state", "7")
DEFAULT_TIMERANGE = "20240101-20240301"
OOS_TIMERANGE = "20240301-20240315"
WAYS: dict[str, tuple[str, ...]] = {
    "process pool, --jobs 1": ("--jobs", "1"),
    "process pool, --jobs 2": ("--jobs", "2"),
    "Dask, --cluster local:2": ("--cluster", "local:2"),
}
BASELINE = "process pool, --jobs 1"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"}
                for row in csv.DictReader(handle)]


def measure(config: dict[str, Any], datadir: Path, pairs: Sequence[str], timeframe: str,
            timerange: str | None, strategy_path: str | None,
            say: Callable[[str], None] = lambda _: None) -> dict[str, dict[str, Any]]:
    """Each way's wall time, ratio to the baseline, whether its rows equal the baseline's,
    and the machine's 1-minute load average when it ended (above 2, other work shared the
    cores and the ratios say little)."""
    command = [str(Path(sys.executable).parent / "freqtrade-feedback"), "compare"]
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="ff-bench-cluster-") as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        (root / "user_data").mkdir()
        copy_candles(datadir, pairs, timeframe, root / "data")
        (root / "config.json").write_text(json.dumps(config), encoding="utf-8")
        study = ["--config", str(root / "config.json"), "--datadir", str(root / "data"),
                 "--userdir", str(root / "user_data"), "-p", *pairs, "--timeframe", timeframe,
                 "--timerange", timerange or DEFAULT_TIMERANGE, "--oos-timerange",
                 OOS_TIMERANGE, *BUDGET, "--json"]
        if strategy_path:
            study += ["--strategy-path", strategy_path]
        reference: list[dict[str, str]] | None = None
        for number, (name, options) in enumerate(WAYS.items()):
            say(f"{name} ...")
            out = root / f"way{number}"
            started = time.perf_counter()
            subprocess.run([*command, *study, *options, "--out", str(out)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seconds = time.perf_counter() - started
            found = _rows(out / "compare.csv")
            reference = found if reference is None else reference
            rows[name] = {"seconds": seconds, "tasks": len(found),
                          "same_rows": found == reference, "load": os.getloadavg()[0]}
    for row in rows.values():
        row["ratio"] = row["seconds"] / rows[BASELINE]["seconds"]
    return rows


__all__ = ["BASELINE", "BUDGET", "EXPECTED", "WAYS", "measure"]
