"""The commands a user runs: the offline demo on generated data, compare, and the docs."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from conftest import CONFIG, REPO, STRATEGIES

from freqtrade_feedback.cli.main import main
from freqtrade_feedback.config import SCHEMA


def _demo_config(tmp_path: Path, **feedback: object) -> Path:
    config = json.loads(CONFIG.read_text())
    config["feedback"].update(feedback)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


def test_demo_runs_offline_on_generated_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """What `make demo` does, on a fresh machine with no network and no shared data."""
    config = _demo_config(tmp_path, min_outcomes=10)
    datadir, userdir = tmp_path / "data", tmp_path / "user_data"
    userdir.mkdir()
    assert main(["generate-data", "--config", str(config), "--datadir", str(datadir),
                 "--days", "45", "--start", "20240101"]) == 0
    assert main(["compare", "--config", str(config), "--datadir", str(datadir),
                 "--userdir", str(userdir), "--strategy-path", str(STRATEGIES), "--json"]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("{"):])
    assert rows["primary"]["trades"] > 0 and rows["feedback"]["signals"] > 0
    code = main(["offline", "backtesting", "--config", str(config), "--datadir", str(datadir),
                 "--userdir", str(userdir), "--strategy", "FeedbackSampleStrategy",
                 "--strategy-path", str(STRATEGIES), "--cache", "none", "--export", "none"])
    assert code == 0


def test_compare_prints_both_variants(binance_5m: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    config = _demo_config(tmp_path, min_outcomes=10)
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    assert main(["compare", "--config", str(config), "--datadir", str(binance_5m),
                 "--userdir", str(userdir), "--strategy-path", str(STRATEGIES),
                 "--timerange", "20240101-20240201", "--json"]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("{"):])
    assert set(rows) == {"primary", "feedback", "guarded"}
    assert rows["guarded"]["guard"] != "off" and rows["feedback"]["guard"] == "off"
    assert 0.5 < rows["guarded"]["shadow_agreement"] <= 1.0
    assert rows["primary"]["signals"] == 0 and rows["feedback"]["signals"] > 0
    assert rows["feedback"]["skipped"] > 0
    assert rows["primary"]["trades"] > 0


def test_compare_with_a_bad_feedback_section_exits_2(tmp_path: Path, binance_5m: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """Refused in the parent, naming the key, before a worker starts or a folder is made."""
    config = _demo_config(tmp_path, threshold=7)
    with caplog.at_level(logging.ERROR, logger="freqtrade_feedback"):
        assert main(["compare", "--config", str(config), "--datadir", str(binance_5m),
                     "--userdir", str(tmp_path), "--strategy-path", str(STRATEGIES),
                     "--timerange", "20240101-20240105"]) == 2
    assert "feedback.threshold" in caplog.text
    assert not (tmp_path / "compare").exists()


def test_compare_with_a_missing_config_exits_2(tmp_path: Path) -> None:
    assert main(["compare", "--config", str(tmp_path / "nope.json")]) == 2


def test_every_config_key_is_documented() -> None:
    docs = (REPO / "docs" / "configuration.md").read_text()
    readme = (REPO / "README.md").read_text()
    for key in SCHEMA["properties"]:
        assert re.search(rf"\| `{key}` \|", docs), key
        assert f"`{key}`" in readme, key


@pytest.mark.parametrize("mode", ["--loop", "--journal"])
def test_the_cost_benchmarks_print_their_measures_as_json(
        mode: str, capsys: pytest.CaptureFixture) -> None:
    """Not a speed test (the machine is shared): the commands run and report what they say."""
    assert main(["benchmark", mode, "--signals", "300", "--repeat", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report.get("verdict") in ("PASS", "FAIL")) == (mode == "--journal")  # loop: none
    rows = report["variants"] if mode == "--loop" else report["calls"]
    assert len(rows) == 3
    if mode == "--journal":
        calls = report["calls"]
        assert calls["gate decision (confirm_trade_entry)"]["calls"] == 300
        assert 0 < calls["outcome + ledger commit (order_filled)"]["calls"] < 300
        for row in calls.values():
            assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]


def test_the_lab_benchmark_estimates_the_verdicts_wall_time(
        capsys: pytest.CaptureFixture) -> None:
    assert main(["benchmark", "--lab", "--repeat", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["variants"]
    assert set(rows) == {"static", "selective", "naive", "guarded", "guarded_selective", "all"}
    whole = rows["all"]["cpu_seconds_per_seed"]
    assert whole == pytest.approx(sum(r["cpu_seconds_per_seed"] for n, r in rows.items()
                                      if n != "all"))
    assert report["verdict_minutes"] == pytest.approx(whole * 200 / 2 / 60)
    assert report["verdict"] in ("PASS", "FAIL")
