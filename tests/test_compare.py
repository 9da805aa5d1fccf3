"""``compare``: the variants under one hyperopt budget, walk-forward folds, the CSV, the report,
and the options that must be refused before anything runs."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from conftest import CONFIG, GUARD_LINE, REPO, STRATEGIES, USER_ENVIRONMENT, shared_data

from freqtrade_feedback.cli.main import main
from freqtrade_feedback.comparison import report
from freqtrade_feedback.comparison.plan import VARIANTS, Fold, Task, make_folds, variant_spaces
from freqtrade_feedback.comparison.report import TITLES
from freqtrade_feedback.comparison.run import Result
from freqtrade_feedback.comparison.series import Series

REQUIRED = {"variant", "fold", "trades", "profit_total", "sharpe", "max_drawdown", "frozen_share"}


@pytest.fixture(scope="module")
def one_pair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo config on ETH/USDT alone, with a learner that starts gating after 10 trades."""
    config = json.loads(CONFIG.read_text())
    config["exchange"]["pair_whitelist"] = ["ETH/USDT"]
    config["feedback"]["min_outcomes"] = 10
    path = tmp_path_factory.mktemp("compare") / "config.json"
    path.write_text(json.dumps(config))
    return path


def _compare(config: Path, datadir: Path, tmp_path: Path, *options: str) -> list[str]:
    userdir = tmp_path / "user_data"
    userdir.mkdir(exist_ok=True)
    return ["compare", "--config", str(config), "--datadir", str(datadir),
            "--userdir", str(userdir), "--strategy-path", str(STRATEGIES), *options]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_hyperopt_budget_then_out_of_sample(one_pair: Path, binance_5m: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    """Two weeks in sample, one week out: every variant gets Freqtrade's hyperopt with the
    same epochs, random state and loss, and the row is the backtest of its best parameters."""
    out = tmp_path / "out"
    argv = _compare(one_pair, binance_5m, tmp_path, "--timerange", "20240201-20240215",
                    "--epochs", "3", "--oos-timerange", "20240215-20240222", "--jobs", "2",
                    "--out", str(out))
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Primary alone, naive feedback, guarded feedback" in printed and "IS mean %" in printed

    rows = _csv(out / "compare.csv")
    assert REQUIRED <= set(rows[0])
    assert [(r["variant"], r["fold"]) for r in rows] == [(v, "0") for v in VARIANTS]
    assert {(r["in_sample"], r["out_of_sample"], r["epochs"], r["random_state"], r["loss"])
            for r in rows} == {("20240201-20240214T235959", "20240215-20240222", "3",
                                rows[0]["random_state"], "FeedbackHyperOptLoss")}
    primary, feedback, guarded = rows
    assert "feedback" not in primary["spaces"].split()
    assert feedback["spaces"] == guarded["spaces"] == f"{primary['spaces']} feedback"
    assert 1 <= int(primary["best_epoch"]) <= 3
    assert not any(name.startswith("feedback_") for name in json.loads(primary["params"]))
    assert guarded["guard"] != "off" and feedback["guard"] == "off"
    assert int(primary["learned"]) == 0 < int(feedback["signals"])

    html = (out / "report.html").read_text(encoding="utf-8")
    for title in TITLES.values():
        assert title in html
    assert not re.search(r"<script[^>]*\bsrc=", html)  # plotly.js inlined: works offline
    _row_is_the_backtest_of_the_exported_parameters(one_pair, binance_5m, out, primary)


def _row_is_the_backtest_of_the_exported_parameters(config: Path, datadir: Path, out: Path,
                                                    row: dict[str, str]) -> None:
    """Freqtrade exported the best epoch next to the strategy copy, and backtesting that copy
    out of sample gives the row: the evaluation ran the optimised parameters, not defaults."""
    from freqtrade_feedback.backtest import backtest_config, run_backtest

    strategies = out / "work" / "primary-fold0" / "strategies"
    exported = json.loads((strategies / "FeedbackSampleStrategy.json").read_text())
    flat = {k: v for space in exported["params"].values() for k, v in space.items()}
    assert json.loads(row["params"]).items() <= flat.items()
    settings = backtest_config(config, strategy="FeedbackSampleStrategy", datadir=datadir,
                               timerange=row["out_of_sample"], strategy_path=strategies,
                               user_data_dir=out.parent / "user_data",
                               overrides={"feedback": {"enabled": False}})
    run = run_backtest(settings)
    assert len(run.trades) == int(row["trades"])
    assert run.stats["profit_total"] == pytest.approx(float(row["profit_total"]))


def test_finishes_when_the_guard_logs_during_the_epochs(tmp_path: Path) -> None:
    """Freqtrade's hyperopt relays log records from processes not named ``MainProcess``
    through a queue that the hyperopt's own process drains; compare's hyperopt runs ``-j 1``
    in a pool worker, so a record logged during an epoch used to be drained into the same
    queue again, forever. Here the guard logs transitions during the epochs (two pairs, 1h,
    six months, the issue's random state): the command must end, with every row, within a
    bound far above its normal run time (about 30 s)."""
    source = shared_data("binance-2024")
    datadir = tmp_path / "data"
    datadir.mkdir()
    for pair in ("BTC", "ETH"):
        shutil.copy2(source / f"{pair}_USDT-1h.feather", datadir)
    config = json.loads(CONFIG.read_text())
    config["timeframe"] = "1h"
    config["exchange"]["pair_whitelist"] = ["BTC/USDT", "ETH/USDT"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    out = tmp_path / "out"
    argv = [str(REPO / ".venv" / "bin" / "freqtrade-feedback"),
            *_compare(tmp_path / "config.json", datadir, tmp_path, "--timerange",
                      "20240101-20240701", "--epochs", "10", "--oos-timerange",
                      "20240701-20240801", "--random-state", "5", "--jobs", "2",
                      "--out", str(out), "--verbose")]
    # its own process group: on a timeout the spawned workers go too, not just the command
    command = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=USER_ENVIRONMENT, start_new_session=True)
    try:
        _, stderr = command.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(command.pid, signal.SIGKILL)
        _, stderr = command.communicate()
        pytest.fail(f"compare did not finish in 240 s; guard lines logged: "
                    f"{stderr.count(GUARD_LINE)}")
    assert command.returncode == 0, stderr[-3000:]
    assert GUARD_LINE in stderr, "the guard logged nothing: the test no longer tests it"
    assert [r["variant"] for r in _csv(out / "compare.csv")] == list(VARIANTS)
    assert (out / "report.html").is_file()


def test_folds_give_one_row_per_variant_and_fold(one_pair: Path, binance_5m: Path,
                                                 tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    argv = _compare(one_pair, binance_5m, tmp_path, "--timerange", "20240201-20240211",
                    "--folds", "2", "--jobs", "2", "--out", str(out), "--json")
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    rows = _csv(out / "compare.csv")
    expected = [(v, f) for f in (0, 1) for v in VARIANTS]
    assert [(r["variant"], r["fold"]) for r in printed] == expected
    assert [(r["variant"], int(r["fold"])) for r in rows] == expected
    assert {r["out_of_sample"] for r in rows} == {"20240201-20240205T235959",
                                                  "20240206-20240211"}
    assert all(int(r["trades"]) > 0 for r in rows)


@pytest.mark.parametrize(("options", "named"), [
    (["--timerange", "20240201-20240215", "--epochs", "3"], "--oos-timerange"),
    (["--timerange", "20240201-20240215", "--epochs", "3",
      "--oos-timerange", "20240210-20240220"], "--oos-timerange"),
    (["--timerange", "20240201-", "--epochs", "3",
      "--oos-timerange", "20240210-20240220"], "--timerange"),
    (["--timerange", "20240201-20240215", "--oos-timerange", "20240215-20240222"], "--epochs"),
    (["--folds", "2"], "--timerange"),
    (["--timerange", "2024-02-01", "--folds", "2"], "--timerange"),
])
def test_bad_options_exit_2_naming_the_option(options: list[str], named: str, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    argv = ["compare", "--config", str(CONFIG), "--userdir", str(tmp_path), *options]
    with caplog.at_level(logging.ERROR, logger="freqtrade_feedback"):
        assert main(argv) == 2
    assert named in caplog.text
    assert not (tmp_path / "compare").exists()  # refused before anything ran


def test_walk_forward_folds_optimise_on_one_part_and_evaluate_on_the_next() -> None:
    folds = make_folds("20240101-20240121", "20240121-20240128", folds=2, epochs=5)
    assert folds == [
        Fold(0, evaluate="20240111-20240120T235959", optimise="20240101-20240110T235959"),
        Fold(1, evaluate="20240121-20240128", optimise="20240111-20240120T235959"),
    ]
    assert make_folds("20240101-20240121", "20240125-20240128", folds=1, epochs=5) == [
        Fold(0, evaluate="20240125-20240128", optimise="20240101-20240121")]
    assert make_folds(None, None, folds=1, epochs=None) == [Fold(0, None)]


def test_spaces_come_from_the_strategy() -> None:
    assert variant_spaces({"buy", "feedback"}) == {
        "primary": ("buy",), "feedback": ("buy", "feedback"), "guarded": ("buy", "feedback")}
    assert variant_spaces({"feedback"})["primary"] == ("roi", "stoploss")
    assert variant_spaces(set())["guarded"] == ("roi", "stoploss")


def test_frozen_share_is_time_not_decisions() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    guard = pd.DataFrame({"date": [start, start + timedelta(days=1), start + timedelta(days=3)],
                          "state": ["learning", "frozen", "probation"]})
    empty = pd.DataFrame()
    series = Series(start, start + timedelta(days=4), empty, empty, guard, empty)
    assert series.frozen_share() == pytest.approx(0.5)
    assert Series(start, start + timedelta(days=4), empty, empty,
                  guard.iloc[:0], empty).frozen_share() == 0.0


def test_a_1h_study_on_two_pairs_from_what_a_freqtrade_user_types(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """No config file of its own: the demo config plus a second ``-c`` file (merged as
    Freqtrade merges them, the second winning), ``-p`` and ``--timeframe``. The data folder
    holds only the two pairs' 1h candles, so a worker that missed the timeframe finds no
    data; the second file's wallet shows in every row, so each worker had the merged
    settings, not the first file alone."""
    source = shared_data("binance-2024")
    datadir = tmp_path / "data"
    datadir.mkdir()
    for pair in ("BTC", "ETH"):
        shutil.copy2(source / f"{pair}_USDT-1h.feather", datadir)
    second = tmp_path / "wallet.json"
    second.write_text(json.dumps({"dry_run_wallet": 2000, "feedback": {"min_outcomes": 5}}))
    out = tmp_path / "out"
    argv = ["compare", "-c", str(CONFIG), "-c", str(second), "-p", "BTC/USDT", "ETH/USDT",
            "--timeframe", "1h", "--timerange", "20240101-20240401", "--datadir", str(datadir),
            "--userdir", str(tmp_path), "--strategy-path", str(STRATEGIES), "--jobs", "2",
            "--out", str(out), "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert set(rows) == set(VARIANTS)
    for row in rows.values():
        assert row["trades"] > 0
        assert row["profit_total_abs"] / row["profit_total"] == pytest.approx(2000)
    merged = json.loads((out / "config.json").read_text())
    assert merged["timeframe"] == "1h" and merged["dry_run_wallet"] == 2000
    assert merged["exchange"]["pair_whitelist"] == ["BTC/USDT", "ETH/USDT"]
    first = json.loads(CONFIG.read_text()).get("feedback", {})
    assert merged["feedback"] == {**first, "min_outcomes": 5}  # key by key, the second wins


def test_equity_curves_share_one_axis() -> None:
    """Every variant and fold on one axis, so a reader sees which ends higher."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    empty = pd.DataFrame()
    results = []
    for fold in (0, 1):
        for variant, feedback in VARIANTS.items():
            equity = pd.DataFrame({"date": [start + timedelta(days=fold)],
                                   "balance": [1000.0]})
            series = Series(start, start + timedelta(days=2), equity, empty, empty, empty)
            results.append(Result(Task(variant, Fold(fold, None), feedback), {}, series))
    figure = report.equity(results)
    assert len(figure.data) == 6
    assert {trace.xaxis for trace in figure.data} <= {None, "x"}  # None: the first axis
    assert {trace.yaxis for trace in figure.data} <= {None, "y"}
    assert "xaxis2" not in figure.layout and "yaxis2" not in figure.layout
