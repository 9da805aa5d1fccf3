"""The bias lab: scenarios with known truth, the policies driven through them, the command.

The guard's own targets are not asserted here (the guard is scored by the lab, not by this
file); what is asserted is that the lab tells the truth: scenarios are deterministic, shadow
outcomes never depend on us, realized ones do only where and when a scenario says, and the
naive learner measurably suffers where the bias is injected.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
from datetime import UTC, timedelta
from pathlib import Path

import numpy as np
import pytest

from freqtrade_feedback import lab
from freqtrade_feedback.cli import lab as lab_cli
from freqtrade_feedback.cli import main as cli_main
from freqtrade_feedback.lab import policies, report, rows, stats, verdict
from freqtrade_feedback.lab.market import BREAKOUT_AT, PROFIT, STEP
from freqtrade_feedback.loop import FeedbackLoop, Signal

ALL = list(lab.SCENARIOS.values())
STAKES = (0.5, 1.0, 1.5)
REQUIRED_COLUMNS = {
    "scenario",
    "seed",
    "biased",
    "frozen",
    "first_freeze_trade",
    "onset_trade",
    "false_freeze",
    "profit_static",
    "profit_naive",
    "profit_guarded",
}


def _breakout(scenario: lab.Scenario) -> np.ndarray:
    return np.array([s.breakout for s in scenario])


def _short(cls: type[lab.Scenario], seed: int) -> lab.Scenario:
    """600 signals, the change (if any) at 300."""
    if cls in (lab.Stationary, lab.StationaryHeavy):
        return cls(n=600, seed=seed)
    if cls is lab.SelectionCollapse:
        return cls(n=600, onset=300, duration=100, seed=seed)
    return cls(n=600, onset=300, seed=seed)  # type: ignore[call-arg]


# --- scenarios ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_scenarios_are_deterministic_by_seed(cls: type[lab.Scenario]) -> None:
    """The same seed gives the same signals, every iteration; another seed other signals."""
    scenario = cls(seed=3)
    first = list(scenario)
    assert list(scenario) == first
    assert list(cls(seed=3)) == first
    assert cls(seed=4).take(20) != first[:20]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_a_longer_stream_extends_a_shorter_one(cls: type[lab.Scenario]) -> None:
    long = cls(seed=5)
    short = cls(n=long.n - 500, seed=5)
    assert long.take(short.n) == list(short)


def test_scenarios_share_their_random_numbers() -> None:
    """Same seed, same signals (time, pair, features) in every scenario: paired comparisons."""
    streams = [cls(seed=11).take(300) for cls in ALL]
    for stream in streams[1:]:
        assert [(s.time, s.pair, s.features) for s in stream] == [
            (s.time, s.pair, s.features) for s in streams[0]
        ]


@pytest.mark.parametrize(
    ("cls", "biased", "onset_trade"),
    [
        (lab.Stationary, False, None),
        (lab.StationaryHeavy, False, None),
        (lab.RegimeFlip, False, 1000),
        (lab.SelectionCollapse, True, 1800),
        (lab.ReflexiveImpact, True, 1000),
        (lab.SelfFulfilling, True, 1000),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_biased_flag_and_onset(
    cls: type[lab.Scenario], biased: bool, onset_trade: int | None
) -> None:
    scenario = cls(seed=0)
    assert scenario.biased is biased
    assert scenario.onset_trade == onset_trade
    assert lab.SCENARIOS[scenario.name] is cls


def test_selection_collapse_onset_trade_is_the_end_of_the_shock() -> None:
    scenario = lab.SelectionCollapse(n=500, onset=100, duration=50, seed=1)
    assert (scenario.onset, scenario.onset_trade) == (100, 150)
    regimes = [s.regime for s in scenario]
    assert regimes[99:101] == ["normal", "flipped"]
    assert regimes[149:151] == ["flipped", "normal"]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_constructor_parameters_are_stored_unchanged(cls: type[lab.Scenario]) -> None:
    scenario = cls(seed=9)
    assert scenario.seed == 9
    assert repr(scenario).startswith(f"{cls.__name__}(n={scenario.n}")
    assert eval(repr(scenario), vars(lab)).take(5) == scenario.take(5)  # noqa: S307


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (lab.Stationary, {"n": 0}),
        (lab.Stationary, {"delay": 0}),
        (lab.RegimeFlip, {"onset": 2000}),
        (lab.SelectionCollapse, {"duration": 3000}),
        (lab.SelectionCollapse, {"shock_size": 0.0}),
        (lab.StationaryHeavy, {"df": 2.0}),
        (lab.ReflexiveImpact, {"impact": -0.01}),
        (lab.SelfFulfilling, {"lift": 1.5}),
        (lab.SelfFulfilling, {"onset": True}),
    ],
)
def test_bad_parameters_name_the_parameter(cls: type[lab.Scenario], params: dict) -> None:
    name = next(iter(params))
    with pytest.raises(ValueError, match=f"'{name}' parameter of {cls.__name__}"):
        cls(**params)


# --- invariants -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_signals_obey_the_market_invariants(cls: type[lab.Scenario]) -> None:
    signals = list(cls(seed=2))
    times = [s.time for s in signals]
    assert all(t.tzinfo is UTC for t in times)
    assert all(b - a == STEP for a, b in zip(times, times[1:], strict=False))
    assert [s.step for s in signals] == list(range(len(signals)))
    assert all(s.closes > s.step for s in signals)
    assert all(tuple(s.features) == lab.FEATURES for s in signals)
    assert all(math.isfinite(v) for s in signals for v in s.features.values())
    assert all(0 < s.p_win < 1 and s.shadow != 0 for s in signals)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_shadow_outcomes_do_not_depend_on_our_action(cls: type[lab.Scenario]) -> None:
    """Filling signals at any stake leaves the stream unchanged, and every policy sees the
    same shadow outcomes."""
    scenario = _short(cls, seed=4)
    before = list(scenario)
    for signal in before:
        for stake in STAKES:
            scenario.fill(signal, stake)
    assert list(scenario) == before
    static = lab.run_scenario(scenario, "static", seed=4)
    naive = lab.run_scenario(scenario, "naive", seed=4)
    assert np.array_equal(static.shadow, naive.shadow)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_realized_equals_shadow_before_the_onset(cls: type[lab.Scenario]) -> None:
    scenario = cls(seed=6)
    onset = min(getattr(scenario, "onset", scenario.n), scenario.onset_trade or scenario.n)
    for signal in scenario.take(onset):
        for stake in STAKES:
            fill = scenario.fill(signal, stake)
            assert fill.observed == fill.booked == signal.shadow


def test_reflexive_impact_worsens_fills_in_proportion_to_stake() -> None:
    scenario = lab.ReflexiveImpact(seed=1)
    for signal in list(scenario)[scenario.onset :]:
        fills = [scenario.fill(signal, stake) for stake in STAKES]
        assert all(f.observed == f.booked < signal.shadow for f in fills)
        assert fills[2].observed < fills[1].observed < fills[0].observed
        assert fills[1].observed == pytest.approx(signal.shadow - scenario.impact)


def test_self_fulfilling_trades_look_better_and_pay_worse() -> None:
    scenario = lab.SelfFulfilling(seed=1)
    for signal in list(scenario)[scenario.onset :]:
        fill = scenario.fill(signal, 1.0)
        assert fill.booked < signal.shadow < fill.observed
        assert fill.observed == pytest.approx(signal.shadow + scenario.lift)
        assert fill.booked == pytest.approx(signal.shadow - scenario.cost)


def test_the_truth_is_what_the_docs_say() -> None:
    """Winners are drawn with the stated probability; breakouts pay in the normal market,
    fail in the flipped one; the shock is quiet."""
    normal = list(lab.Stationary(n=20_000, seed=8))
    flipped = list(lab.RegimeFlip(n=20_000, onset=0, seed=8))
    wins = np.array([s.shadow > 0 for s in normal])
    assert wins.mean() == pytest.approx(np.mean([s.p_win for s in normal]), abs=0.01)
    breakout = np.array([s.features["volatility"] > BREAKOUT_AT for s in normal])
    assert 0.75 < wins[breakout].mean() < 0.85
    assert (
        0.15 < np.mean([s.shadow > 0 for s, b in zip(flipped, breakout, strict=True) if b]) < 0.25
    )
    shock = lab.SelectionCollapse(seed=8)
    quiet = [abs(s.shadow) for s in shock if s.regime == "flipped"]
    assert np.mean(quiet) == pytest.approx(shock.shock_size * 0.01, rel=0.1)


def test_heavy_tailed_sizes_keep_the_spread_and_the_wins() -> None:
    """Student-t(3) magnitudes: the stationary market's wins and losses, the same mean square
    size, far fatter tails."""
    normal = np.array([s.shadow for s in lab.Stationary(n=20_000, seed=8)]) / PROFIT
    heavy = np.array([s.shadow for s in lab.StationaryHeavy(n=20_000, seed=8)]) / PROFIT
    assert np.array_equal(np.sign(heavy), np.sign(normal))
    assert np.mean(heavy**2) == pytest.approx(np.mean(normal**2), rel=0.15)
    assert np.mean(np.abs(heavy) > 5) > 3 * np.mean(np.abs(normal) > 5)
    assert np.abs(heavy).max() > 2 * np.abs(normal).max()
    assert lab.StationaryHeavy(df=30, seed=8).take(5) != lab.StationaryHeavy(seed=8).take(5)


# --- policies and runs ----------------------------------------------------------------------


def test_run_scenario_is_deterministic() -> None:
    scenario = lab.SelectionCollapse(seed=2)
    a = lab.run_scenario(scenario, "naive", seed=2)
    b = lab.run_scenario(lab.SelectionCollapse(seed=2), "naive", seed=2)
    for field in ("take", "stake", "probability", "observed", "booked", "shadow", "p_win"):
        assert np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True), field
    assert (a.guard_state, a.freezes, a.profit) == (b.guard_state, b.freezes, b.profit)


def test_a_run_records_every_signal_and_books_only_taken_ones() -> None:
    result = lab.run_scenario(lab.SelfFulfilling(seed=3), "naive", seed=3)
    assert result.n == 2000 and set(result.guard_state) == {"off"}
    assert np.all(result.stake[~result.take] == 0) and np.all(result.booked[~result.take] == 0)
    assert np.all(np.isnan(result.observed[~result.take]))
    assert np.all((result.stake[result.take] >= 0.5) & (result.stake[result.take] <= 1.5))
    assert result.profit == pytest.approx(result.booked.sum())
    assert result.trades == result.take.sum() > 0
    assert result.freezes == () and not result.frozen and not result.false_freeze


def test_static_learns_its_first_outcomes_then_never_again() -> None:
    loop = lab.make_loop("static", 1)
    for signal in lab.Stationary(seed=1):  # outcomes at once: the learner sees them all
        entry = Signal(signal.pair, signal.time, features=signal.features)
        loop.on_signal(entry, now=signal.time)
        loop.on_trade_closed(entry.signal_id, profit_ratio=signal.shadow, now=signal.time)
    assert len(loop.outcomes) > policies.STATIC_OUTCOMES
    assert loop.learner_for("BTC/USDT").n_learned == policies.STATIC_OUTCOMES


def test_unknown_policy_and_scenario_names_are_refused() -> None:
    with pytest.raises(ValueError, match="'policy' parameter must be one of"):
        lab.make_loop("clever", 0)
    with pytest.raises(ValueError, match="'scenario' parameter must be one of"):
        lab.run_policies("crash", 0)


def test_selective_learner_collapses_in_selection_collapse() -> None:
    """After the shock, the selective learner (realized labels only) takes under a quarter of
    the breakout signals the shadow-trained reference takes, and books less than it."""
    ratios = []
    for seed in (0, 1, 2):
        collapse = lab.SelectionCollapse(seed=seed)
        results = lab.run_worlds([collapse], ["selective", "naive"])[0]
        row = rows.lab_row(results, collapse.collapse_window)
        ratios.append(row["collapse_ratio"])
        start = collapse.onset_trade
        assert results["selective"].booked[start:].sum() < results["naive"].booked[start:].sum()
    assert np.mean(ratios) < rows.COLLAPSE_BELOW


def test_collapse_ratio_column() -> None:
    """The ratio of breakout acceptances in the window, selective and guarded selective over
    the naive reference; empty without a window."""
    scenario = lab.SelectionCollapse(n=600, onset=100, duration=200, seed=4)
    results = lab.run_worlds([scenario])[0]
    window = scenario.collapse_window
    assert window == (300, 600)
    row = rows.lab_row(results, window)
    breakout = results["naive"].breakout[300:600]
    assert breakout.sum() > 50
    for column, policy in (("collapse_ratio", "selective"),
                           ("collapse_ratio_guarded_selective", "guarded_selective")):
        expected = (results[policy].take[300:600][breakout].mean()
                    / results["naive"].take[300:600][breakout].mean())
        assert row[column] == pytest.approx(expected, abs=1e-4)
    assert rows.lab_row(results)["collapse_ratio"] is None
    assert set(rows.CSV_COLUMNS) >= set(row)


def test_sharing_the_stationary_beginning_changes_nothing() -> None:
    """A scenario run on from the stationary run's state at its onset gives what a run from
    the start gives, step for step, for every policy."""
    worlds = [
        lab.Stationary(n=500, seed=3),
        lab.RegimeFlip(n=500, onset=250, seed=3),
        lab.SelectionCollapse(n=520, onset=100, duration=200, seed=3),
        lab.SelfFulfilling(n=500, onset=250, seed=3),
        lab.StationaryHeavy(n=300, seed=3),
    ]
    assert [w.stationary_prefix for w in worlds] == [500, 250, 100, 250, 0]
    shared = lab.run_worlds(worlds)
    for world, results in zip(worlds, shared, strict=True):
        assert list(results) == list(lab.POLICIES)
        for policy, result in results.items():
            fresh = lab.run_scenario(world, policy, seed=3)
            for field in ("take", "stake", "probability", "observed", "booked", "shadow",
                          "breakout"):
                assert np.array_equal(getattr(result, field), getattr(fresh, field),
                                      equal_nan=True), (world.name, policy, field)
            assert (result.guard_state, result.freezes) == (fresh.guard_state, fresh.freezes)
            assert (result.scenario, result.onset_trade) == (world.name, world.onset_trade)


def test_naive_learner_is_fooled_by_its_own_buying() -> None:
    """In SelfFulfilling the naive learner takes far more signals than in the same stationary
    market and books less than the static one; in RegimeFlip it beats the static one."""
    seed = 1
    fooled = lab.run_scenario(lab.SelfFulfilling(seed=seed), "naive", seed)
    calm = lab.run_scenario(lab.Stationary(seed=seed), "naive", seed)
    static = lab.run_scenario(lab.SelfFulfilling(seed=seed), "static", seed)
    assert fooled.acceptance(1500) > calm.acceptance(1500) + 0.1
    assert fooled.profit < static.profit - 0.5
    flip = lab.RegimeFlip(seed=seed)
    assert (
        lab.run_scenario(flip, "naive", seed).profit
        > lab.run_scenario(flip, "static", seed).profit + 1.0
    )


def test_reflexive_impact_shows_in_the_naive_learners_fills() -> None:
    scenario = lab.ReflexiveImpact(seed=2)
    result = lab.run_scenario(scenario, "naive", seed=2)
    after = result.take.copy()
    after[: scenario.onset] = False
    gap = result.observed[after] - result.shadow[after]
    assert np.allclose(gap, -scenario.impact * result.stake[after])
    before = result.take.copy()
    before[scenario.onset :] = False
    assert np.array_equal(result.observed[before], result.shadow[before])


class _ScriptedGuard(FeedbackLoop):
    """A loop whose guard state follows a script of (first trade, state)."""

    def __init__(self, script: list[tuple[int, str]]) -> None:
        super().__init__(lab.lab_settings(0))
        self.script = script
        self.decided = 0

    def on_signal(self, signal, *, now):  # type: ignore[no-untyped-def]
        self.decided += 1
        return super().on_signal(signal, now=now)

    @property
    def guard_state(self) -> str:  # type: ignore[override]
        state = "learning"
        for start, scripted in self.script:
            if self.decided - 1 >= start:
                state = scripted
        return state


def test_freezes_are_dated_in_trades_and_scored_against_the_onset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard is read after every call: entries into FROZEN are dated to their trade."""
    script = [(300, "frozen"), (400, "learning"), (1900, "frozen"), (2000, "probation")]
    monkeypatch.setattr(policies, "guarded_loop", lambda seed: _ScriptedGuard(script))
    result = lab.run_scenario(lab.SelectionCollapse(seed=0), "guarded", seed=0)
    assert result.freezes == (300, 1900)
    assert (result.first_freeze_trade, result.detect_trade, result.detection_delay) == (
        300,
        1900,
        100,
    )
    assert result.frozen and result.false_freeze
    assert result.guard_state[299:301] == ("learning", "frozen")
    assert result.guard_state[2050] == "probation"
    row = rows.lab_row({"guarded": result})
    assert (row["frozen"], row["false_freeze"], row["first_freeze_trade"]) == (1, 1, 300)
    assert row["profit_naive"] is None and row["frozen_guarded_selective"] is None


def test_a_freeze_in_an_unbiased_scenario_is_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policies, "guarded_loop", lambda seed: _ScriptedGuard([(1500, "frozen")]))
    result = lab.run_scenario(lab.RegimeFlip(seed=0), "guarded", seed=0)
    assert result.frozen and result.false_freeze and result.detection_delay == 500


# --- report ---------------------------------------------------------------------------------


def _row(
    scenario: str,
    seed: int,
    biased: bool,
    frozen: bool,
    delay: int | None,
    collapse: float | None = None,
    **profit: float,
) -> dict:
    """A CSV row as ``lab_row`` makes it; the realized-labels guard does what the default one
    does."""
    onset = None if scenario.startswith("stationary") else 1000
    guard = {
        "frozen": int(frozen),
        "false_freeze": int(frozen and not biased),
        "detection_delay": delay,
    }
    return {
        "scenario": scenario,
        "seed": seed,
        "biased": int(biased),
        "onset_trade": onset,
        **guard,
        **{rows.column(k, "guarded_selective"): v for k, v in guard.items()},
        "collapse_ratio": collapse,
        **{f"profit_{p}": v for p, v in profit.items()},
    }


def _grid(collapse: float = 0.2) -> list[dict]:
    """200 seeds of every scenario; every target met but two (see the test)."""
    grid = [
        _row("self_fulfilling", s, True, True, 40 + s % 20, static=1.0, naive=0.0, guarded=0.9)
        for s in range(200)
    ]
    grid += [  # frozen in 95% of seeds, but late
        _row("reflexive_impact", s, True, s > 9, 150, static=1, naive=1, guarded=1)
        for s in range(200)
    ]
    grid += [  # 2% false freezes, guarded at 97.5% of naive
        _row("stationary", s, False, s < 4, None, static=2.0, naive=2.0, guarded=1.95)
        for s in range(200)
    ]
    grid += [  # 2.5% false freezes
        _row("stationary_heavy", s, False, s < 5, None, static=2.0, naive=2.0, guarded=2.0)
        for s in range(200)
    ]
    grid += [
        _row("regime_flip", s, False, False, None, static=0.0, naive=3.0, guarded=2.86)
        for s in range(200)
    ]
    grid += [
        _row("selection_collapse", s, True, True, 80, collapse, static=1.0, selective=1.0,
             naive=2.0, guarded=2.0)
        for s in range(200)
    ]
    return grid


def test_targets_pass_and_fail_as_the_issue_says() -> None:
    """Issue 12's targets: each scenario passes or misses exactly the targets it should."""
    summaries = {s.scenario: s for s in verdict.summarize(_grid())}
    failed = {name: [c.name for c in s.checks if not c.passed] for name, s in summaries.items()}
    assert failed == {
        "self_fulfilling": [],
        "reflexive_impact": ["median delay"],
        "stationary": [],
        "stationary_heavy": ["false freezes"],
        "regime_flip": [],
        "selection_collapse": [],
    }
    assert summaries["self_fulfilling"].guard["guarded"].median_delay.value == 49.5
    impact = summaries["reflexive_impact"].guard["guarded"]
    assert (impact.frozen.value, impact.false_freezes.value) == (0.95, 0.0)
    assert summaries["stationary"].guard["guarded"].false_freezes.value == 0.02
    collapse = summaries["selection_collapse"]
    assert collapse.collapse_ratio.value == pytest.approx(0.2)
    assert collapse.collapsed.value == 1.0
    assert [c.name for c in collapse.checks] == [
        "guarded >= naive",
        "naive > selective",
        "guarded_selective frozen",
        "guarded_selective median delay",
        "collapse",
    ]
    assert all(s.verdict == ("PASS" if not failed[s.scenario] else "FAIL")
               for s in summaries.values())
    assert json.dumps(summaries["regime_flip"].as_dict())
    missed = {s.scenario for s in verdict.summarize(_grid(collapse=0.3)) if not s.passed}
    assert "selection_collapse" in missed


def test_the_verdict_reads_its_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The targets are the issue's figures, and changing one changes the verdict."""
    t = verdict.TARGETS
    assert t["stationary"] == t["stationary_heavy"] == (
        verdict.FalseFreezes(0.02), verdict.ProfitShare("guarded", "naive", 0.97)
    )
    assert t["regime_flip"] == (
        verdict.FalseFreezes(0.02),
        verdict.ProfitShare("guarded", "naive", 0.95),
        verdict.ProfitShare("guarded", "static", strict=True),
    )
    assert t["self_fulfilling"] == t["reflexive_impact"] == (
        verdict.FreezeRate(0.95), verdict.MedianDelay(100), verdict.ProfitShare("guarded", "naive")
    )
    assert verdict.FreezeRate(0.95, "guarded_selective") in t["selection_collapse"]
    assert verdict.Collapse(0.25) in t["selection_collapse"]
    assert set(t) == set(lab.SCENARIOS)
    grid = [r for r in _grid() if r["scenario"] == "stationary"]
    assert verdict.summarize(grid)[0].passed
    monkeypatch.setitem(verdict.TARGETS, "stationary", (verdict.FalseFreezes(0.01),))
    (summary,) = verdict.summarize(grid)
    assert not summary.passed
    assert summary.checks[0].detail == "2.0% [0.8, 5.0] <= 1%"
    monkeypatch.setitem(verdict.TARGETS, "stationary", ())
    assert verdict.summarize(grid)[0].verdict == "-"


def test_intervals_of_rates_means_and_medians() -> None:
    """Known values: Wilson score intervals, Student's t, order statistics of the median."""
    e = stats.wilson(1, 20)
    assert (e.value, round(e.low, 4), round(e.high, 4)) == (0.05, 0.0089, 0.2361)
    e = stats.wilson(10, 100)
    assert (round(e.low, 4), round(e.high, 4)) == (0.0552, 0.1744)
    assert (stats.wilson(0, 200).low, round(stats.wilson(0, 200).high, 4)) == (0.0, 0.0188)
    assert (round(stats.wilson(200, 200).low, 4), stats.wilson(200, 200).high) == (0.9812, 1.0)
    assert math.isnan(stats.wilson(0, 0).value)
    e = stats.t_interval([1.0, 2.0, 3.0, 4.0])  # s = 1.291, t(0.975, 3) = 3.182
    assert (e.value, round(e.half_width, 3)) == (2.5, 2.054)
    assert math.isnan(stats.t_interval([1.0]).low) and stats.t_interval([1.0]).value == 1.0
    e = stats.median_interval(list(range(1, 101)))
    assert (e.value, e.low, e.high) == (50.5, 40, 61)
    e = stats.median_interval([5.0, 1.0, 3.0])
    assert (e.value, e.low, e.high) == (3.0, 1.0, 5.0)
    assert stats.wilson(3, 200).as_dict("x") == pytest.approx(
        {"x": 0.015, "x_low": 0.0051, "x_high": 0.0432}, abs=1e-4
    )


def test_calibration_curve_and_rolling_acceptance() -> None:
    p = np.array([np.nan, 0.1, 0.3, 0.6, 0.9])
    x, y = report.calibration_curve(p, np.array([1, 0, 0, 1, 1]), bins=2)
    assert x == pytest.approx([0.2, 0.75]) and y == [0.0, 1.0]
    assert report.calibration_curve(np.array([np.nan]), np.array([True])) == ([], [])
    assert report.rolling_acceptance(np.ones(5), window=3).tolist() == [1.0] * 5


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def lab_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register ``lab`` with the dispatcher, as the project will."""
    monkeypatch.setitem(cli_main.COMMANDS, "lab", "Run the bias lab.")


def _lab(*args: str) -> int:
    return cli_main.main(["lab", *args])


@pytest.mark.usefixtures("lab_command")
def test_lab_command_writes_csv_and_html(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "lab"
    code = _lab(
        "--seeds",
        "2",
        "--first-seed",
        "5",
        "--scenario",
        "stationary",
        "--scenario",
        "self_fulfilling",
        "--out",
        str(out),
        "--jobs",
        "1",
    )
    assert code == 0
    with (out / "lab.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert REQUIRED_COLUMNS <= set(rows[0])
    assert [(r["scenario"], r["seed"], r["biased"], r["onset_trade"]) for r in rows] == [
        ("stationary", "5", "0", ""),
        ("stationary", "6", "0", ""),
        ("self_fulfilling", "5", "1", "1000"),
        ("self_fulfilling", "6", "1", "1000"),
    ]
    assert all(float(r["profit_static"]) != 0 for r in rows)
    with (out / "summary.csv").open(newline="") as file:
        summary = list(csv.DictReader(file))
    assert [(r["scenario"], r["seeds"]) for r in summary] == [
        ("stationary", "2"), ("self_fulfilling", "2")
    ]
    for r in summary:
        assert float(r["frozen_low"]) <= float(r["frozen"]) <= float(r["frozen_high"])
        assert float(r["profit_naive_low"]) < float(r["profit_naive_high"])
    html = (out / "report.html").read_text()
    assert html.count('class="plotly-graph-div"') == 2 and "self_fulfilling" in html
    assert "Wilson 95% interval" in html
    assert '<script src="http' not in html  # plotly.js is inlined: the page works offline
    text = capsys.readouterr().out
    assert "stationary" in text and "self_fulfilling" in text and "lab.csv" in text
    assert "a quick look" in text
    assert "(PASS) stationary:" in text or "(FAIL) stationary:" in text


def test_the_verdict_takes_200_seeds_by_default() -> None:
    parser = argparse.ArgumentParser()
    lab_cli.configure(parser)
    args = parser.parse_args([])
    assert (args.seeds, args.first_seed, args.jobs) == (verdict.VERDICT_SEEDS, 0, None)
    assert verdict.VERDICT_SEEDS == 200


@pytest.mark.usefixtures("lab_command")
def test_lab_command_json_in_worker_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = _lab(
        "--seeds",
        "1",
        "--scenario",
        "regime_flip",
        "--scenario",
        "selection_collapse",
        "--out",
        str(tmp_path),
        "--jobs",
        "2",
        "--json",
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert [s["scenario"] for s in payload["scenarios"]] == ["regime_flip", "selection_collapse"]
    flip, collapse = payload["scenarios"]
    assert flip["profit_naive"] > flip["profit_static"]
    assert flip["collapse_ratio"] is None and collapse["collapse_ratio"] >= 0
    assert collapse["frozen_guarded_selective"] in (0, 1)
    assert [c["name"] for c in collapse["checks"]][-1] == "collapse"
    for key in ("csv", "summary_csv", "html"):
        assert Path(payload[key]).is_file()
    assert payload["cpu_seconds"] > 0


@pytest.mark.usefixtures("lab_command")
def test_lab_command_refuses_unknown_scenarios(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _lab("--scenario", "crash")
    assert exit_info.value.code == 2
    assert "invalid choice: 'crash'" in capsys.readouterr().err


def test_lab_runs_without_freqtrade() -> None:
    code = (
        "import sys; sys.modules['freqtrade'] = None\n"
        "from freqtrade_feedback.cli import lab as command\n"
        "from freqtrade_feedback.lab import report, run\n"
        "assert run.run_scenario(run.SCENARIOS['stationary'](n=50, seed=0), 'static', 0).n == 50\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_times_are_utc_and_spaced_by_one_candle() -> None:
    first, second = lab.Stationary(seed=0).take(2)
    assert second.time - first.time == timedelta(minutes=5)
    assert first.time.utcoffset() == timedelta(0)
