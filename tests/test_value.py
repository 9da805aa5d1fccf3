"""``benchmark --value``: the verdicts follow issue 11's targets, the placebo takes its share
of signals at random, and the command runs the plan end to end on real candles."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, STRATEGIES, shared_data

from freqtrade_feedback.benchmarks import value
from freqtrade_feedback.benchmarks.value_run import Spec, run_variants
from freqtrade_feedback.cli.main import main
from freqtrade_feedback.config import SCHEMA, load_settings


def _row(profit: float, drawdown: float, mean: float, take: float = 1.0) -> dict[str, Any]:
    return {"profit_total": profit, "max_drawdown": drawdown, "profit_mean": mean,
            "take_rate": take}


def _placebo(mean: float, sd: float) -> dict[str, Any]:
    return {"seeds": 10, "profit_mean": mean, "profit_mean_sd": sd, "take_rate": 0.2}


def test_verdicts_hold_each_combination_to_its_target() -> None:
    """A losing primary: drawdown lower and a third of the loss gone, and per trade beyond
    the placebo's mean plus its spread; a winner keeps 90% with no worse drawdown."""
    table = {
        "losing, all met": {"primary": _row(-0.20, 0.25, -0.002),
                            "old rule": _row(-0.18, 0.22, -0.002),
                            "default": _row(-0.10, 0.12, -0.001, take=0.2),
                            "placebo": _placebo(-0.0025, 0.0005)},
        "losing, within the placebo's spread": {
            "primary": _row(-0.20, 0.25, -0.002), "old rule": _row(-0.05, 0.1, -0.001),
            "default": _row(-0.12, 0.12, -0.0022, take=0.2),
            "placebo": _placebo(-0.0025, 0.0005)},
        "winner, kept": {"primary": _row(0.10, 0.05, 0.004), "old rule": _row(0.02, 0.05, 0.001),
                         "default": _row(0.095, 0.05, 0.004)},
    }
    found = {(v.check, v.combination): v.passed for v in value.verdicts(table)}
    assert found == {
        ("loss", "losing, all met"): True,
        ("placebo", "losing, all met"): True,
        ("old rule", "losing, all met"): True,
        ("loss", "losing, within the placebo's spread"): True,
        ("placebo", "losing, within the placebo's spread"): False,
        ("old rule", "losing, within the placebo's spread"): False,
        ("winner", "winner, kept"): True,
        ("old rule", "winner, kept"): True,
        ("placebo count", "all"): False,  # 1 of 2, target 2
        ("old rule count", "all"): False,  # 2 of 3, target 3
    }
    table["winner, kept"]["default"] = _row(0.085, 0.05, 0.004)  # keeps 85%
    table["losing, all met"]["default"] = _row(-0.15, 0.12, -0.001)  # removes 25%
    found = {(v.check, v.combination): v.passed for v in value.verdicts(table)}
    assert not found[("winner", "winner, kept")] and not found[("loss", "losing, all met")]


def test_the_guard_verdict_keeps_naives_gain_without_a_freeze() -> None:
    """Issue 12: the default (guarded) run keeps 90% of the naive run's gain over the primary
    and never freezes; where naive gains nothing, guarded must end no lower than naive."""
    def table(naive: float, default: float, freezes: int = 0) -> dict[str, Any]:
        return {"c": {"primary": _row(0.10, 0.05, 0.004), "naive": _row(naive, 0.05, 0.004),
                      "default": _row(default, 0.05, 0.004) | {"freezes": freezes}}}

    def guard(t: dict[str, Any]) -> bool:
        (found,) = [v for v in value.verdicts(t) if v.check == "guard"]
        return found.passed

    assert guard(table(0.20, 0.195))  # keeps 95% of a gain of 0.10
    assert not guard(table(0.20, 0.185))  # 85%
    assert not guard(table(0.20, 0.20, freezes=1))
    assert guard(table(0.08, 0.08)) and not guard(table(0.08, 0.07))  # no gain to keep


def test_the_placebo_is_the_probability_rule_with_an_unreachable_threshold() -> None:
    feedback = value.placebo(0.23456, seed=7)
    assert feedback is not None
    settings = load_settings(feedback)  # the schema takes threshold 1.0
    assert (settings.threshold, settings.min_outcomes, settings.explore_share, settings.seed) == (
        1.0, 0, 0.2346, 7)
    assert value.placebo(SCHEMA["properties"]["explore_share"]["maximum"] + 0.01, 0) is None
    assert value.placebo(math.nan, 0) is None


@pytest.mark.parametrize("name", list(value.VARIANTS))
def test_every_variant_is_a_valid_feedback_section(name: str) -> None:
    settings = load_settings(value.known(value.VARIANTS[name]))
    assert settings.enabled == (name != "primary")
    assert settings.guarded == (name == "default")  # the guard is on by default
    if name == "old rule":
        assert (settings.threshold, settings.scope) == (0.5, "pair")


def test_the_wall_time_ratio_is_the_default_over_the_primary_summed() -> None:
    table = {"slow": {"primary": {"seconds": 40.0}, "default": {"seconds": 44.0}},
             "fast": {"primary": {"seconds": 4.0}, "default": {"seconds": 6.0}}}
    ratios = value.wall_ratios(table)
    assert ratios == pytest.approx({"slow": 1.1, "fast": 1.5, "all": 50 / 44})
    assert value.wall_verdict(ratios) == "PASS"
    table["slow"]["default"]["seconds"] = 48.0
    assert value.wall_verdict(value.wall_ratios(table)) == "FAIL"


def test_the_placebo_spread_is_the_seeds_mean_and_standard_deviation() -> None:
    rows = [{figure: 1.0 for figure in value.FIGURES} | {"profit_mean": m}
            for m in (0.1, 0.2, 0.3)]
    summary = value.spread(rows)
    assert summary["seeds"] == 3 and summary["trades"] == 1.0 and summary["trades_sd"] == 0.0
    assert summary["profit_mean"] == pytest.approx(0.2)
    assert summary["profit_mean_sd"] == pytest.approx(0.1)


def test_a_placebo_takes_its_share_of_signals_at_random(binance_5m: Path, user_data: Path,
                                                        tmp_path: Path) -> None:
    """The placebo is a seeded coin: about its share of the gate's decisions taken, and
    another seed takes other trades."""
    config = {k: v for k, v in json.loads(CONFIG.read_text()).items() if k != "feedback"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    combination = value.Combination(value.STRATEGIES[0], "5m")
    spec = Spec(combination, tmp_path / "config.json", STRATEGIES, binance_5m, user_data,
                "20240201-20240301", verbose=False)
    variants = [("placebo", seed, value.placebo(0.3, seed)) for seed in (0, 1)]
    steps: list[int] = []
    runs = run_variants(spec, variants, 1, steps.append)
    assert steps == [1, 2]
    first, second = (run.row for run in runs)
    assert first["signals"] > 100
    for row in (first, second):
        assert 0.2 < row["take_rate"] < 0.4
        assert row["variant"] == "placebo" and row["runs"] == 1 and row["seconds"] > 0
    assert (first["trades"], first["profit_total"]) != (second["trades"],
                                                        second["profit_total"])
    assert len(runs[0].equity) == first["trades"] + 1  # the start, then each closed trade


def test_value_report_end_to_end_on_two_pairs_at_1h(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    """The three strategies at 1h (Freqtrade's sample with the mixin written beside
    ``create-userdir``'s file) on two months of two pairs: every variant's row, the verdicts,
    the CSV and an offline report.html with one equity plot per combination."""
    source = shared_data("binance-2024")
    datadir = tmp_path / "data"
    datadir.mkdir()
    for pair in ("BTC", "ETH"):
        shutil.copy2(source / f"{pair}_USDT-1h.feather", datadir)
    out = tmp_path / "out"
    assert main(["benchmark", "--value", "--datadir", str(datadir), "--strategy-path",
                 str(STRATEGIES), "--userdir", str(tmp_path), "-i", "1h", "-p", "BTC/USDT",
                 "ETH/USDT", "--timerange", "20240101-20240301", "--seeds", "2", "--repeat",
                 "1", "--jobs", "2", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    combos = [c.label for c in value.combinations("1h")]
    assert list(report["table"]) == combos
    for label in combos:
        rows = report["table"][label]
        assert set(value.VARIANTS) <= set(rows)
        assert rows["primary"]["trades"] > 0 and rows["primary"]["take_rate"] == 1.0
        assert rows["default"]["signals"] > 0
    assert {v["check"] for v in report["verdicts"]} >= {"old rule", "old rule count"}
    assert report["wall_verdict"] in ("PASS", "FAIL")
    assert set(report["wall_ratios"]) == {*combos, "all"}
    assert all(ratio > 0 for ratio in report["wall_ratios"].values())
    with (out / "value.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(report["rows"]) >= 4 * len(combos)
    merged = json.loads((out / "config.json").read_text())
    assert "feedback" not in merged and merged["exchange"]["key"] in ("", "REDACTED")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", html)  # plotly.js inlined: works offline
    for label in combos:
        assert f"Equity: {label}" in html


def test_value_report_without_the_dev_set_skips_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["benchmark", "--value", "--datadir", str(tmp_path / "missing")]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "value report skipped" in printed[0]
