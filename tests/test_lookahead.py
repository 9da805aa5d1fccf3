"""Freqtrade's own lookahead-analysis on the sample strategy, through our offline command.

It re-runs each trade's pair alone on truncated data. A per-pair learner sees the same
history in those sub-runs and passes. A learner shared across pairs passes on one pair, where
the sub-runs see the same history; on several pairs it sees a different history in them and
is flagged by construction (the docs explain why; tests/test_causality.py audits the shared
learner directly). Checking that case shows the check can fail.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import CONFIG, STRATEGIES

from freqtrade_feedback.cli.main import main


def _lookahead(scope: str, data: Path, tmp_path: Path, pairs: list[str] | None,
               timerange: str) -> dict[str, str]:
    config = json.loads(CONFIG.read_text())
    config["feedback"].update({"scope": scope, "min_outcomes": 3})
    if pairs is not None:
        config["exchange"]["pair_whitelist"] = pairs
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    out = tmp_path / "lookahead.csv"
    code = main([
        "offline", "lookahead-analysis", "--config", str(config_path), "--datadir", str(data),
        "--userdir", str(userdir), "--strategy", "FeedbackSampleStrategy",
        "--strategy-path", str(STRATEGIES), "--timerange", timerange,
        "--lookahead-analysis-exportfilename", str(out),
    ])
    assert code == 0
    with out.open() as handle:
        return next(csv.DictReader(handle))


@pytest.mark.parametrize(("scope", "pairs", "timerange", "biased"), [
    ("pair", None, "20240110-20240201", "False"),
    ("global", ["ETH/USDT"], "20240110-20240501", "False"),
    ("global", None, "20240110-20240201", "True"),
])
def test_lookahead_analysis(scope: str, pairs: list[str] | None, timerange: str, biased: str,
                            candles_5m: Path, tmp_path: Path) -> None:
    row = _lookahead(scope, candles_5m, tmp_path, pairs, timerange)
    assert int(row["total_signals"]) >= 10
    assert row["has_bias"] == biased, row
