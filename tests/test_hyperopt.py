"""The real ``freqtrade hyperopt`` on the sample strategy: every epoch starts from a fresh loop.

Freqtrade runs hyperopt epochs three ways (see the internals notes, section 3): with ``-j 1``
one strategy object runs every epoch; with ``-j 2`` each epoch runs on a pickled copy of the
parent's strategy in a worker process; with ``--analyze-per-epoch`` the first epoch runs in
the parent before the later ones are pickled from it. A loop that leaked between epochs
would give an epoch a learner trained by the epochs before it. So each epoch here must equal
a plain backtest of its parameters in a fresh strategy, and the three ways must give the same
epochs for the same random state.

The strategy is the sample with a cold start short enough (3 to 8 outcomes per pair) for the
gate to skip signals within three weeks: a test below checks it does, else a leak could not
show. Each epoch's parameters reach the reference backtest through a parameter file, the way
``hyperopt`` exports them, which also tests that a file's ``feedback`` values replace the
config's.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG, GUARD_LINE, REPO, STRATEGIES, USER_ENVIRONMENT
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.optimize.backtesting import Backtesting
from freqtrade.optimize.hyperopt.hyperopt_optimizer import HyperOptimizer
from freqtrade.resolvers import StrategyResolver

from freqtrade_feedback.backtest import backtest_config, run_backtest
from freqtrade_feedback.config import FeedbackSettings, load_settings
from freqtrade_feedback.features import feature_columns
from freqtrade_feedback.loop import DecisionReason, Signal
from freqtrade_feedback.parameters import KEYS, SPACE, with_overrides
from freqtrade_feedback.plotting import GUARD_CODES, GUARD_COLUMN, PROBABILITY_COLUMN

FREQTRADE_FEEDBACK = REPO / ".venv" / "bin" / "freqtrade-feedback"
TIMERANGE = "20240101-20240122"
PAIRS = ["BTC/USDT", "ETH/USDT"]
EPOCHS = "5"
STRATEGY = "HyperFeedback"
STRATEGY_SOURCE = '''
from freqtrade.strategy import IntParameter
from FeedbackSampleStrategy import FeedbackSampleStrategy


class HyperFeedback(FeedbackSampleStrategy):
    feedback_min_outcomes = IntParameter(3, 8, default=5, space="feedback")


class HyperBypass(HyperFeedback):
    """Overrides confirm_trade_entry without calling super: its trades never pass the gate,
    and the plugin warns, inside the epoch, when each pair's first one closes."""

    def confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force, current_time,
                            entry_tag, side, **kwargs):
        return True
'''
PLUGIN_LINE = "freqtrade_feedback.adapter - WARNING - freqtrade-feedback: "
"""How the plugin's own warnings start in Freqtrade's log format."""


@dataclass
class Workspace:
    config: Path
    datadir: Path
    strategies: Path
    root: Path


@pytest.fixture(scope="module")
def workspace(binance_5m: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Two pairs, the guard on, and a config min_edge (0.05) that every epoch must replace."""
    root = tmp_path_factory.mktemp("hyperopt")
    datadir = root / "data"
    datadir.mkdir()
    for name in [f"{pair.replace('/', '_')}-5m.feather" for pair in PAIRS]:
        shutil.copy2(binance_5m / name, datadir / name)
    shutil.copy2(binance_5m / "BTC_USDT-1h.feather", datadir)  # the market features
    strategies = root / "strategies"
    strategies.mkdir()
    shutil.copy2(STRATEGIES / "FeedbackSampleStrategy.py", strategies)
    (strategies / f"{STRATEGY}.py").write_text(STRATEGY_SOURCE)
    config = json.loads(CONFIG.read_text())
    config["exchange"]["pair_whitelist"] = PAIRS
    config["feedback"].update({"threshold": 0.9, "min_edge": 0.05, "guard": {"enabled": True}})
    path = root / "config.json"
    path.write_text(json.dumps(config))
    return Workspace(path, datadir, strategies, root)


@dataclass
class Hyperopt:
    epochs: list[dict[str, Any]]
    guard_lines: list[str]
    """The guard's transition lines the run logged, from whichever process ran the epoch."""
    warnings: list[str]
    """The plugin's warnings, likewise."""


def _hyperopt(ws: Workspace, name: str, *options: str,
              strategy: str = STRATEGY) -> Hyperopt:
    """Run ``freqtrade hyperopt`` through our offline wrapper in a fresh process (as a user
    would; loky workers then start from a clean interpreter), read its epochs and the guard's
    log lines."""
    userdir = ws.root / name
    userdir.mkdir()
    command = [
        str(FREQTRADE_FEEDBACK), "offline", "hyperopt", "--config", str(ws.config),
        "--datadir", str(ws.datadir), "--userdir", str(userdir), "--strategy", strategy,
        "--strategy-path", str(ws.strategies), "--timerange", TIMERANGE,
        "--spaces", SPACE, "buy", "--hyperopt-loss", "FeedbackHyperOptLoss",
        "--hyperopt-path", str(REPO / "user_data" / "hyperopts"), "-e", EPOCHS,
        "--random-state", "3", "--min-trades", "1", "--disable-param-export", *options,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          env=USER_ENVIRONMENT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (results,) = (userdir / "hyperopt_results").glob("*.fthypt")
    epochs = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(epochs) == int(EPOCHS)
    lines = [line.split(GUARD_LINE, 1)[1] for line in done.stderr.splitlines()
             if GUARD_LINE in line and " -> " in line]
    warnings = [line.split(PLUGIN_LINE, 1)[1] for line in done.stderr.splitlines()
                if PLUGIN_LINE in line]
    return Hyperopt(sorted(epochs, key=lambda e: e["current_epoch"]), lines, warnings)


def _trades(records: list[dict[str, Any]]) -> list[tuple]:
    return [(t["pair"], t["open_timestamp"], t["close_timestamp"], round(t["profit_abs"], 6))
            for t in records]


def _epochs(epochs: list[dict[str, Any]]) -> list[tuple]:
    return [(e["params_dict"], _trades(e["results_metrics"]["trades"])) for e in epochs]


@pytest.fixture(scope="module")
def sequential(workspace: Workspace) -> Hyperopt:
    return _hyperopt(workspace, "j1", "-j", "1")


def test_two_workers_give_the_same_epochs_as_one_process(
    workspace: Workspace, sequential: Hyperopt
) -> None:
    parallel = _hyperopt(workspace, "j2", "-j", "2")
    assert _epochs(parallel.epochs) == _epochs(sequential.epochs)
    assert len({len(e["results_metrics"]["trades"]) for e in sequential.epochs}) > 1, (
        "every epoch traded alike: the parameters did not reach the run")
    _same_guard_lines(parallel, sequential)


def _same_guard_lines(run: Hyperopt, sequential: Hyperopt) -> None:
    """The guard's transition lines logged inside the epochs reach the user once each,
    whichever process ran the epoch (Freqtrade relays a worker's records through a queue):
    none lost, none repeated (the plugin's warnings are checked the same way below)."""
    assert sorted(run.guard_lines) == sorted(sequential.guard_lines)


def test_the_plugins_warnings_inside_epochs_reach_the_user_once_per_epoch_in_any_worker(
    workspace: Workspace
) -> None:
    """A warning is said once per run: in every epoch, whichever process runs it (a -j 2
    worker runs a fresh copy of the strategy per epoch, -j 1 one strategy for all), each
    once, relayed through Freqtrade's log queue without loss or repetition."""
    one = _hyperopt(workspace, "bypass-j1", "-j", "1", strategy="HyperBypass")
    two = _hyperopt(workspace, "bypass-j2", "-j", "2", strategy="HyperBypass")
    pairs = len(PAIRS)
    assert len(one.warnings) == int(EPOCHS) * pairs, one.warnings
    assert all("closed without a signal id" in line for line in one.warnings)

    def said(run: Hyperopt) -> list[str]:  # a -j 2 worker numbers its trades on
        return sorted(re.sub(r"trade \d+", "trade N", line) for line in run.warnings)

    assert said(two) == said(one)


def test_analyze_per_epoch_gives_the_same_epochs(
    workspace: Workspace, sequential: Hyperopt
) -> None:
    """The first epoch runs in the parent here and mutates the strategy later epochs are
    pickled from."""
    per_epoch = _hyperopt(workspace, "ape", "-j", "2", "--analyze-per-epoch")
    assert _epochs(per_epoch.epochs) == _epochs(sequential.epochs)
    _same_guard_lines(per_epoch, sequential)


def _backtest_with_file(ws: Workspace, params: dict[str, dict[str, Any]],
                        user_data: Path) -> Any:
    """A plain backtest of ``HyperFeedback`` with ``params`` in its parameter file."""
    file = ws.strategies / f"{STRATEGY}.json"
    file.write_text(json.dumps({"strategy_name": STRATEGY, "params": params}))
    try:
        config = backtest_config(ws.config, strategy=STRATEGY, datadir=ws.datadir,
                                 timerange=TIMERANGE, strategy_path=ws.strategies,
                                 user_data_dir=user_data)
        return run_backtest(config)
    finally:
        file.unlink()


def test_every_sequential_epoch_equals_a_fresh_backtest_of_its_parameters(
    workspace: Workspace, sequential: Hyperopt, user_data: Path
) -> None:
    """With -j 1 one strategy object runs all epochs: the case where state would leak."""
    gated_after_learning = 0
    for epoch in sequential.epochs:
        details = epoch["params_details"]
        run = _backtest_with_file(workspace, {"buy": details["buy"],
                                              SPACE: details[SPACE]}, user_data)
        records = run.trades.to_dict("records")
        for record in records:
            record["open_timestamp"] = int(record["open_date"].timestamp() * 1000)
            record["close_timestamp"] = int(record["close_date"].timestamp() * 1000)
        assert _trades(records) == _trades(epoch["results_metrics"]["trades"]), epoch[
            "current_epoch"]
        feedback = details[SPACE]
        settings = run.loop.settings
        assert settings.min_edge == pytest.approx(feedback["feedback_min_edge"])
        assert settings.skip_confidence == pytest.approx(feedback["feedback_skip_confidence"])
        assert settings.threshold == 0.9  # the probability rule's, not searched by default
        assert settings.min_outcomes == feedback["feedback_min_outcomes"]
        assert settings.guard.alpha == feedback["feedback_guard_alpha"]
        gated_after_learning += sum(
            (not d.take) or d.reason is DecisionReason.EXPLORE for d in run.loop.decisions
            if d.trained_on > 0)
    assert gated_after_learning > 0, "the gate never acted: a leak could not have shown"


def test_parameter_defaults_equal_the_settings_defaults_and_their_ranges_are_valid() -> None:
    """A strategy that sets nothing behaves as its config says; any value hyperopt may ask
    for passes the config validation (else an epoch would stop mid-run)."""
    from freqtrade_feedback import FeedbackMixin

    defaults = FeedbackSettings()
    for name, path in KEYS.items():
        param = getattr(FeedbackMixin, name)
        assert param.space == SPACE and param.load, name
        assert param.optimize == (name != "feedback_threshold"), name
        section: Any = defaults
        for key in path:
            section = getattr(section, key)
        assert param.value == section, name
        ends = param.opt_range if hasattr(param, "opt_range") else (param.low, param.high)
        for value in ends:
            load_settings(with_overrides({}, {name: value}))


def test_config_values_stand_unless_a_file_or_hyperopt_sets_the_parameter(
    workspace: Workspace, user_data: Path
) -> None:
    config = backtest_config(workspace.config, strategy=STRATEGY, datadir=workspace.datadir,
                             timerange="20240101-20240103", strategy_path=workspace.strategies,
                             user_data_dir=user_data)
    run = run_backtest(config)
    assert run.loop.settings.min_edge == 0.05  # the config's, not the parameter default 0
    assert run.loop.settings.threshold == 0.9
    assert run.loop.settings.min_outcomes == 30


def test_a_bad_value_in_the_parameter_file_stops_the_run_naming_key_and_parameter(
    workspace: Workspace, user_data: Path
) -> None:
    with pytest.raises(OperationalException,
                       match=r"'feedback.threshold' parameter must be .*feedback_threshold"):
        _backtest_with_file(workspace, {SPACE: {"feedback_threshold": 3}}, user_data)


def _strategy(ws: Workspace, user_data: Path, runmode: RunMode, **feedback: Any) -> Any:
    """The strategy started outside a bot (no DataProvider, so no market candles: the TA
    features, which need only the pair's own)."""
    feedback.setdefault("features", ["ta", "pair"])
    config = backtest_config(ws.config, strategy=STRATEGY, datadir=ws.datadir,
                             timerange=TIMERANGE, strategy_path=ws.strategies,
                             user_data_dir=user_data, overrides={"feedback": feedback})
    config["runmode"] = runmode
    strategy = StrategyResolver.load_strategy(config)
    strategy.ft_bot_start()
    return strategy


def test_the_strategy_pickles_after_bot_start_and_after_a_backtest(
    workspace: Workspace, user_data: Path
) -> None:
    """Plain pickle for everything the plugin keeps on the strategy, and the strategy class
    pickled by value the way hyperopt sends it to its workers."""
    config = backtest_config(workspace.config, strategy=STRATEGY, datadir=workspace.datadir,
                             timerange="20240101-20240110", strategy_path=workspace.strategies,
                             user_data_dir=user_data)
    backtesting = Backtesting(config)
    try:
        strategy = backtesting.strategylist[0]
        data, timerange = backtesting.load_bt_data()
        for moment in ("bot start", "backtest"):
            if moment == "bot start":
                backtesting._set_strategy(strategy)  # what a backtest does first: bot start
            else:
                backtesting.backtest_one_strategy(strategy, data, timerange)
                assert strategy.feedback_loop.decisions
            ours = {k: v for k, v in vars(strategy).items() if k.startswith("_fb_")}
            copy = object.__new__(type(strategy))  # read back through the public property
            vars(copy).update(pickle.loads(pickle.dumps(ours)))
            assert copy.feedback_loop.decisions == strategy.feedback_loop.decisions, moment
        before = set(cloudpickle.list_registry_pickle_by_value())
        bare = object.__new__(HyperOptimizer)  # the method reads no state; no setup needed
        bare.hyperopt_pickle_magic(type(strategy).__bases__)
        try:
            assert "builtins" not in cloudpickle.list_registry_pickle_by_value()
            assert cloudpickle.loads(cloudpickle.dumps(type(strategy))).__name__ == STRATEGY
        finally:
            for name in set(cloudpickle.list_registry_pickle_by_value()) - before:
                cloudpickle.unregister_pickle_by_value(__import__(name, fromlist=["_"]))
    finally:
        Backtesting.cleanup()


def _candles(ws: Workspace, pair: str, rows: int = 3000) -> pd.DataFrame:
    frame = pd.read_feather(ws.datadir / f"{pair.replace('/', '_')}-5m.feather")
    return frame.iloc[:rows].reset_index(drop=True)


def _train(strategy: Any, frame: pd.DataFrame, pair: str, start: int = 300) -> None:
    """Teach the pair's learner from 60 of the frame's candles (won when the next close is
    higher), so that its probabilities differ from row to row."""
    loop = strategy.feedback_loop
    columns = feature_columns(frame.columns, None)
    for i in range(start, start + 60):
        candle = frame["date"].iat[i].to_pydatetime()
        features = {c: float(frame[c].iat[i]) for c in columns}
        decision = loop.on_signal(Signal(pair, candle, "long", None, features), now=candle)
        profit = 0.01 if frame["close"].iat[i + 1] > frame["close"].iat[i] else -0.01
        loop.on_trade_closed(decision.signal_id, profit_ratio=profit, now=candle,
                             exit_reason="roi", pair=pair)


def test_plot_columns_score_every_row_in_plot_mode_and_are_no_features(
    workspace: Workspace, user_data: Path
) -> None:
    pair = PAIRS[0]
    # Without the guard the learner itself decides (with it, a champion promoted on evidence).
    strategy = _strategy(workspace, user_data, RunMode.PLOT, guard={"enabled": False})
    frame = strategy.advise_indicators(_candles(workspace, pair), {"pair": pair})
    _train(strategy, frame, pair)
    frame = strategy.advise_indicators(_candles(workspace, pair), {"pair": pair})
    scored = frame[PROBABILITY_COLUMN]
    learner = strategy.feedback_loop.decider_for(pair)
    columns = feature_columns(frame.columns, None)
    row = 2500
    features = {c: float(frame[c].iat[row]) for c in columns}
    model_input = strategy.feedback_loop.model_input(pair, features)  # with the pair, as gated
    assert "pair" in model_input
    assert scored.iat[row] == pytest.approx(learner.predict_proba_one(model_input)[True])
    assert scored.iloc[300:].notna().all() and scored.iloc[300:].nunique() > 100
    assert scored.iloc[:10].isna().all()  # indicators still warming up: no finite features
    assert (frame[GUARD_COLUMN] == GUARD_CODES["off"]).all()
    assert PROBABILITY_COLUMN not in columns and GUARD_COLUMN not in columns
    subplot = strategy.plot_config["subplots"]["feedback"]
    assert set(subplot) == {PROBABILITY_COLUMN, GUARD_COLUMN}
    assert "RSI" in strategy.plot_config["subplots"]  # the strategy's own subplot is kept
    assert "bb_lower" in strategy.plot_config["main_plot"]


def test_live_analyses_score_only_new_candles_until_the_model_learns(
    workspace: Workspace, user_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every new candle re-analyses the whole frame live; scoring it all each time would
    cost a prediction per row per candle."""
    pair = PAIRS[0]
    strategy = _strategy(workspace, user_data, RunMode.PLOT, guard={"enabled": False})
    frame = strategy.advise_indicators(_candles(workspace, pair), {"pair": pair})
    _train(strategy, frame, pair)
    learner = strategy.feedback_loop.decider_for(pair)
    calls: list[int] = []
    score = learner.predict_proba_one

    def counted(features: dict[str, float]) -> dict[bool, float]:
        calls.append(1)
        return score(features)

    monkeypatch.setattr(learner, "predict_proba_one", counted)
    first = strategy.advise_indicators(_candles(workspace, pair), {"pair": pair})
    assert len(calls) > 2500
    calls.clear()
    longer = strategy.advise_indicators(_candles(workspace, pair, 3001), {"pair": pair})
    assert len(calls) == 1
    pd.testing.assert_series_equal(longer[PROBABILITY_COLUMN].iloc[:3000],
                                   first[PROBABILITY_COLUMN])
    _train(strategy, frame, pair, start=400)  # the model learns: every row is scored again
    calls.clear()
    strategy.advise_indicators(_candles(workspace, pair, 3001), {"pair": pair})
    assert len(calls) > 2500


def test_plot_columns_are_nan_in_backtests(workspace: Workspace, user_data: Path) -> None:
    pair = PAIRS[0]
    strategy = _strategy(workspace, user_data, RunMode.BACKTEST)
    assert strategy.feedback_loop.guard_state == "learning"
    frame = strategy.advise_indicators(_candles(workspace, pair), {"pair": pair})
    assert np.isnan(frame[PROBABILITY_COLUMN]).all() and np.isnan(frame[GUARD_COLUMN]).all()


def test_the_hyperopt_benchmark_reports_every_variant_as_json(
    binance_5m: Path, capsys: pytest.CaptureFixture
) -> None:
    """Not a speed test (the machine is shared): the command runs Freqtrade's hyperopt for
    each variant and reports what it says."""
    from freqtrade_feedback.cli.main import main

    assert main(["benchmark", "--hyperopt", "--epochs", "2", "--repeat", "1", "--pairs",
                 "BTC/USDT", "--timerange", "20240101-20240108", "--datadir", str(binance_5m),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["variants"]
    assert set(rows) == {"primary only", "feedback", "feedback + guard"}
    assert rows["primary only"]["ratio"] == 1.0 and report["target"] == 1.2
    for row in rows.values():
        assert row["epochs"] == 2 and row["seconds"] > 0
        assert row["epochs_per_min"] == pytest.approx(120 / row["seconds"])
    assert report["verdict"] == ("PASS" if report["worst_ratio"] <= 1.2 else "FAIL")
