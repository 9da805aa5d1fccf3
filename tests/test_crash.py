"""The crash test: Freqtrade's real dry-run bot, replayed offline, killed with SIGKILL at 20
random points and restarted each time, learns every closed trade exactly once, and ends with
the learner of a run that was never interrupted.

One pair over two days of real 5m candles (a few trades) keeps it near two minutes: each
restart pays Freqtrade's start-up. Without ``../shared/data`` it runs on two days of the
project's synthetic market that hold a few trades too.

It runs once with the ledger in the strategy's SQLite file and once with ``feedback.ledger_url``
on a PostgreSQL server (killed bots leave the server with connections cut mid-transaction),
killed half as often there (:data:`KILLS`); both are compared with one uninterrupted run on
SQLite.
"""

from __future__ import annotations

import json
import random
import signal as signals
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, STRATEGIES, real_data
from postgres import backend

from freqtrade_feedback.config import load_settings
from freqtrade_feedback.journal import Journal

TIMERANGE = "20240110-20240112"
SYNTHETIC_TIMERANGE = "20240128-20240130"
"""The same two days hold no ETH trade on the synthetic market; these hold three."""
PROBES = [{"fb_rsi": r / 100.0} for r in range(10, 100, 20)]
KILLS = {"sqlite": 20, "postgresql": 10}
"""SIGKILLs per backend: each restart pays Freqtrade's start-up (about four seconds), and the
suite's time is shared (the bot's code path is the same, only the ledger's driver differs)."""

_DRIVER = """
import json, sys
from freqtrade_feedback.replay import run_replay
config, datadir, db, user_data, strategies = sys.argv[1:6]
run_replay(json.loads(open(config).read()), datadir, {timerange!r}, "FeedbackSampleStrategy",
           "sqlite:///" + db, strategy_path=strategies, user_data_dir=user_data,
           on_candle=lambda done, total, candle: print(int(candle.timestamp()), flush=True))
"""


@dataclass(frozen=True)
class Reference:
    """The uninterrupted run: its candles' open times, closed trades and learner."""

    stamps: list[int]
    trades: int
    fingerprint: list[tuple[int, list[float]]]


def _config(tmp_path: Path, ledger_url: str | None) -> tuple[Path, dict[str, Any]]:
    """The sample config on ETH/USDT alone, its ledger at ``ledger_url`` (None: the
    strategy's SQLite file); the file and its content."""
    config = json.loads(CONFIG.read_text(encoding="utf-8"))
    config["exchange"]["pair_whitelist"] = ["ETH/USDT"]
    if ledger_url is not None:
        config["feedback"]["ledger_url"] = ledger_url
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path, config


def _driver(tmp_path: Path) -> Path:
    script = tmp_path / "driver.py"
    timerange = TIMERANGE if real_data() else SYNTHETIC_TIMERANGE
    script.write_text(_DRIVER.format(timerange=timerange), encoding="utf-8")
    return script


@pytest.fixture(scope="module")
def reference(candles_5m: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """One uninterrupted replay (ledger on SQLite), the yardstick of both backends."""
    folder = tmp_path_factory.mktemp("whole")
    config_path, config = _config(folder, None)
    whole_data = folder / "user_data"
    whole_data.mkdir()
    process = _run(_driver(folder), config_path, candles_5m, folder / "whole.sqlite", whole_data)
    stamps = [int(s) for s in process.communicate()[0].split()]
    journal = _journal(whole_data, config)
    trades = journal.ledger.counts()["outcomes"]
    assert trades >= 2, "too few trades in the range to compare learners"
    return Reference(stamps, trades, _fingerprint(journal))


def _run(script: Path, config: Path, datadir: Path, db: Path, user_data: Path
         ) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), str(config), str(datadir), str(db), str(user_data),
         str(STRATEGIES)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _journal(user_data: Path, config: dict[str, Any]) -> Journal:
    """The journal the replay's bot kept: its ledger is the strategy's, under its user_data."""
    return Journal.open(load_settings(config["feedback"]), user_data, "FeedbackSampleStrategy")


def _fingerprint(journal: Journal) -> list[tuple[int, list[float]]]:
    """The learner's count and its probabilities on fixed probes (all features at the probe
    value): equal only if the learners are."""
    learner = journal.loop.learner_for("ETH/USDT")
    names = [f"fb_{i}" for i in range(9)]
    return [(learner.n_learned,
             [learner.predict_proba_one({n: p["fb_rsi"] for n in names})[True]
              for p in PROBES])]


@pytest.mark.slow
def test_sigkill_at_twenty_points_learns_each_closed_trade_once(
        reference: Reference, candles_5m: Path, tmp_path: Path, ledger_url: str) -> None:
    url = None if ledger_url.startswith("sqlite") else ledger_url  # SQLite: the default file
    config_path, config = _config(tmp_path, url)
    script = _driver(tmp_path)
    killed, killed_data = tmp_path / "killed.sqlite", tmp_path / "killed_user_data"
    killed_data.mkdir()  # the run has its ledger in its own user_data (or its database)
    stamps, total = reference.stamps, len(reference.stamps)

    rng = random.Random(5)
    points = sorted(rng.sample(range(3, total - 3), KILLS[backend(ledger_url)]))
    for point in points:
        process = _run(script, config_path, candles_5m, killed, killed_data)
        assert process.stdout is not None
        for line in process.stdout:  # each processed candle's open time
            if stamps.index(int(line)) >= point:
                break
        time.sleep(rng.uniform(0.0, 0.2))  # inside the next candle or two: ticks, fills
        process.send_signal(signals.SIGKILL)
        process.wait()
    _run(script, config_path, candles_5m, killed, killed_data).communicate()

    resumed = _journal(killed_data, config)
    trades = reference.trades
    print(f"{trades} trades, {total} candles, kills after candles {points}")
    counts = resumed.ledger.counts()
    assert counts["outcomes"] == counts["learned"] == trades
    assert len(resumed.ledger.learned_keys()) == trades
    assert _fingerprint(resumed) == reference.fingerprint
