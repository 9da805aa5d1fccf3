"""What the gate costs a hyperopt epoch: ``benchmark --hyperopt``.

Hyperopt is where the plugin's per-run cost is paid most often: every epoch is a backtest
that starts from a fresh loop. This runs Freqtrade's own ``Hyperopt`` in this process on the
same copy of the data for the primary strategy alone (``"feedback": {"enabled": false}``) and
with the gate (then the gate and the guard), alternating, with one random state, so every
variant evaluates the same parameter sequence of the ``buy`` space. ``-j 1``: the figure is
CPU time per epoch, which parallel workers would only divide. The one-time indicator pass
before the first epoch is timed apart and left out of the epoch rate. Target: the gate costs
at most 20% more per epoch than the primary alone.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from freqtrade_feedback.benchmarks.backtest import ConfigFactory, copy_candles

TARGET = 1.20
DEFAULT_TIMERANGE = "20240101-20240201"
VARIANTS: dict[str, dict[str, Any]] = {
    "primary only": {"enabled": False},
    "feedback": {"enabled": True, "guard": {"enabled": False}},
    "feedback + guard": {"enabled": True, "guard": {"enabled": True}},
}
BASELINE = "primary only"


def _config(config: dict[str, Any], epochs: int, userdir: Path) -> dict[str, Any]:
    """A variant's (fresh) backtest config, turned into a hyperopt config writing to
    ``userdir``."""
    from freqtrade.enums import RunMode

    # Results go to a temporary user_data; the strategy is still looked up in the real one.
    config["strategy_path"] = config.get("strategy_path") or str(
        Path(config["user_data_dir"]) / "strategies")
    config.update({
        "runmode": RunMode.HYPEROPT,
        "user_data_dir": userdir,
        "epochs": epochs,
        "spaces": ["buy"],
        "hyperopt_loss": "SharpeHyperOptLoss",
        "hyperopt_jobs": 1,
        "hyperopt_random_state": 1,
        "hyperopt_min_trades": 1,
        "disableparamexport": True,
        "print_all": False,
        "print_colorized": False,
        "print_json": False,
    })
    return config


def _run_once(config: dict[str, Any]) -> tuple[float, float]:
    """Seconds of the indicator pass and of the epochs of one hyperopt run."""
    from freqtrade.optimize.hyperopt import Hyperopt

    (Path(config["user_data_dir"]) / "hyperopt_results").mkdir(parents=True, exist_ok=True)
    hyperopt = Hyperopt(config)
    optimizer = hyperopt.hyperopter
    prepare = optimizer.prepare_hyperopt_data
    prepared: list[float] = []

    def timed_prepare() -> None:
        started = time.perf_counter()
        prepare()
        prepared.append(time.perf_counter() - started)

    optimizer.prepare_hyperopt_data = timed_prepare  # type: ignore[method-assign]
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # Freqtrade prints its progress and result
        hyperopt.start()
    total = time.perf_counter() - started
    return prepared[0], total - prepared[0]


def measure(make_config: ConfigFactory, datadir: Path, pairs: Sequence[str], timeframe: str,
            epochs: int, repeat: int) -> dict[str, dict[str, Any]]:
    """Median epoch seconds per variant over ``repeat`` alternating runs of ``epochs`` epochs
    (``make_config`` as for the backtest measure, with the timerange already set)."""
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    prepare: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="ff-hyperopt-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        copy_candles(datadir, pairs, timeframe, data)
        for run in range(repeat):
            for name, feedback in VARIANTS.items():
                userdir = Path(tmp) / f"user_data_{run}_{len(seconds[name])}_{name[:3]}"
                pass_s, epochs_s = _run_once(_config(make_config(feedback, data), epochs,
                                                     userdir))
                seconds[name].append(epochs_s)
                prepare[name].append(pass_s)
    base = statistics.median(seconds[BASELINE])
    rows = {}
    for name, runs in seconds.items():
        median = statistics.median(runs)
        rows[name] = {"epochs": epochs, "runs": len(runs), "seconds": median,
                      "epochs_per_min": 60.0 * epochs / median, "ratio": median / base,
                      "indicator_pass_s": statistics.median(prepare[name])}
    return rows


def verdict(rows: dict[str, dict[str, Any]]) -> tuple[float, str]:
    """The worst gated variant's ratio to the primary alone, and PASS or FAIL."""
    worst = max(row["ratio"] for name, row in rows.items() if name != BASELINE)
    return worst, "PASS" if worst <= TARGET else "FAIL"
