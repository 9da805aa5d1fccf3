"""What the gate is worth on real candles: ``benchmark --value``.

The other measures say what the plugin costs; this one says whether it earns its place. On
the dev set (``../shared/data/binance-2024``: six pairs at 5m, seventeen at 1h,
2024-01-01..09-06) three strategies run as a user would run them:

- ``FeedbackSampleStrategy`` (5m and 1h): the project's sample, which loses there;
- Freqtrade's own ``SampleStrategy`` (``freqtrade create-userdir`` writes it) with the mixin
  added as a user adds it (5m and 1h): loses too;
- ``FeedbackTrendStrategy`` (1h): a trend follower whose primary *wins*; the gate must not
  spoil a strategy that works.

Each combination runs the :data:`VARIANTS` (one line each) and a **placebo**: a gate that
takes the same share of signals as the new default, picked by a seeded coin instead of a
model, over :data:`SEEDS` seeds. Trading less cuts a loser's loss whoever picks the trades;
only a mean profit per trade above the placebo's, beyond its seed-to-seed spread, shows that
the model picks better ones. :func:`verdicts` holds the rows against the targets of issue 11.

This module is the plan and the judgement (pure functions of the rows);
:mod:`~freqtrade_feedback.benchmarks.value_run` runs the backtests and
:mod:`~freqtrade_feedback.benchmarks.value_report` prints and plots them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from freqtrade_feedback.config import SCHEMA
from freqtrade_feedback.exceptions import ConfigError

DEV_SET: Final = Path("../shared/data/binance-2024")
DEV_RANGE: Final = "20240101-20240906"
"""The whole dev set, closed where every pair still has candles, so that every pair's run
ends on the same candle (the last open trades are closed there, all at one time)."""
SEEDS: Final = 10
"""Placebo seeds per combination: enough for a spread that means something."""
WALL_TARGET: Final = 1.15
"""Backtest wall time of the new default over the primary alone, at most."""
LOSS_CUT: Final = 1 / 3
"""Share of a losing primary's loss the new default must remove."""
KEEP: Final = 0.9
"""Share of a winning primary's profit the new default must keep."""
PLACEBO_WINS: Final = 2
"""Losing combinations in which the new default must pick better trades than the placebo."""
OLD_RULE_WINS: Final = 3
"""Combinations in which the new default must end above the old rule."""
GUARD_KEEP: Final = 0.9
"""Share of the naive loop's profit gain over the primary that the default (guarded) loop must
keep in every combination (issue 12); with no gain to keep, it must end no lower than naive."""

PAIRS: Final[dict[str, tuple[str, ...]]] = {
    "5m": ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "LINK/USDT"),
    "1h": ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "AVAX/USDT",
           "LINK/USDT", "LTC/USDT", "TRX/USDT", "MATIC/USDT", "UNI/USDT", "ATOM/USDT",
           "BCH/USDT", "ETC/USDT", "NEAR/USDT", "APT/USDT", "ARB/USDT"),
}
"""The dev set's pairs by timeframe (``-p`` replaces them)."""


@dataclass(frozen=True)
class Strategy:
    """A strategy of the report: its label, Freqtrade class and the timeframes it runs at."""

    label: str
    name: str
    timeframes: tuple[str, ...]
    sample: bool = False
    """Freqtrade's ``SampleStrategy`` with the mixin, written by the report (not the user's)."""


STRATEGIES: Final = (
    Strategy("FeedbackSampleStrategy", "FeedbackSampleStrategy", ("5m", "1h")),
    Strategy("SampleStrategy + mixin", "SampleStrategyFeedback", ("5m", "1h"), sample=True),
    Strategy("FeedbackTrendStrategy", "FeedbackTrendStrategy", ("1h",)),
)


@dataclass(frozen=True)
class Combination:
    """One strategy at one timeframe: a group of rows and one equity plot."""

    strategy: Strategy
    timeframe: str

    @property
    def label(self) -> str:
        return f"{self.strategy.label} {self.timeframe}"


OLD_RULE: Final[dict[str, Any]] = {
    "rule": "probability", "threshold": 0.5, "labels": "realized", "scope": "pair",
    "features": ["ta"], "min_outcomes": 30, "explore_share": 0.05, "guard": {"enabled": False},
}
"""The gate as shipped before issue 11: P(win) >= 0.5, one learner per pair, learning from
the trades it took only, the nine TA features, no guard."""

VARIANTS: Final[dict[str, dict[str, Any]]] = {
    "primary": {"enabled": False},
    "old rule": OLD_RULE,
    "naive": {"guard": {"enabled": False}},
    "default": {},
}
"""Each variant's whole ``feedback`` section, one line each. The config's own section is
dropped: ``default`` is the package's defaults as they are when the report runs, whatever a
config says."""
PLACEBO: Final = "placebo"
DEFAULT: Final = "default"
NAIVE: Final = "naive"
PRIMARY: Final = "primary"
OLD: Final = "old rule"


def combinations(timeframe: str | None = None, strategy: str | None = None) -> list[Combination]:
    """The report's combinations, or those at ``timeframe`` / of ``strategy`` (its label or
    class name); an error naming the option when none is left."""
    found = [Combination(s, tf) for s in STRATEGIES for tf in s.timeframes
             if timeframe in (None, tf) and strategy in (None, s.label, s.name)]
    if not found:
        names = ", ".join(s.name for s in STRATEGIES)
        raise ConfigError(f"No value-report combination for --timeframe {timeframe!r} and "
                          f"--strategy {strategy!r}: the report runs {names} at 5m and 1h "
                          "(the trend strategy at 1h only).")
    return found


def known(feedback: Mapping[str, Any]) -> dict[str, Any]:
    """``feedback`` without the keys the installed config schema does not have: a key that
    arrived with issue 11 (``rule``, ``labels``, ``features``) is left out on an older
    version, where its older default is the same old behaviour."""
    properties = SCHEMA["properties"]
    return {key: value for key, value in feedback.items() if key in properties}


def placebo(take_rate: float, seed: int) -> dict[str, Any] | None:
    """A gate that takes a seeded random ``take_rate`` of the signals and nothing else: the
    probability rule with an unreachable threshold takes only its exploration share. ``None``
    when the rate is beyond what ``explore_share`` allows."""
    if not math.isfinite(take_rate) or take_rate > SCHEMA["properties"]["explore_share"]["maximum"]:
        return None
    return known({"rule": "probability", "threshold": 1.0, "min_outcomes": 0,
                  "explore_share": round(take_rate, 4), "seed": seed})


FIGURES: Final = ("trades", "profit_total", "profit_mean", "profit_mean_abs", "sharpe",
                  "max_drawdown", "take_rate")
"""The figures of a row that the placebo's seeds are summarised over."""


def spread(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and seed-to-seed standard deviation of each of :data:`FIGURES` over the placebo's
    rows (``<figure>`` and ``<figure>_sd``; NaN where undefined)."""
    summary: dict[str, Any] = {"seeds": len(rows)}
    for figure in FIGURES:
        values = [float(r[figure]) for r in rows if math.isfinite(float(r[figure]))]
        summary[figure] = statistics.fmean(values) if values else math.nan
        summary[f"{figure}_sd"] = statistics.stdev(values) if len(values) > 1 else math.nan
    return summary


@dataclass(frozen=True)
class Verdict:
    """One line of the report's judgement: what was held against what, and whether it held."""

    check: str
    combination: str
    text: str
    passed: bool

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.combination}: {self.text}"


Table = Mapping[str, Mapping[str, Mapping[str, Any]]]
"""Rows by combination label, then by variant (the placebo's entry is its :func:`spread`)."""


def verdicts(table: Table) -> list[Verdict]:
    """The targets of issue 11, combination by combination, then the counts over them:
    a losing primary (total profit below 0) must see the new default's max drawdown lower and
    at least :data:`LOSS_CUT` of its loss removed, and a mean profit per trade above the
    placebo's mean plus its spread in at least :data:`PLACEBO_WINS` losing combinations; a
    winning primary keeps :data:`KEEP` of its profit with a drawdown no worse; and the new
    default ends above the old rule in at least :data:`OLD_RULE_WINS` combinations. Since
    issue 12 the default runs the guard: against the naive loop (the guard off) it must keep
    :data:`GUARD_KEEP` of naive's gain, with no freeze."""
    found: list[Verdict] = []
    beats_placebo = beats_old = losing = 0
    for label, rows in table.items():
        primary, default = rows[PRIMARY], rows[DEFAULT]
        if primary["profit_total"] < 0:
            losing += 1
            found.append(_loss_cut(label, primary, default))
            check = _per_trade(label, default, rows.get(PLACEBO))
            beats_placebo += check.passed
            found.append(check)
        else:
            found.append(_kept(label, primary, default))
        if OLD in rows:
            check = _old_rule(label, rows[OLD], default)
            beats_old += check.passed
            found.append(check)
        if NAIVE in rows:
            found.append(_guard_keeps(label, primary, rows[NAIVE], default))
    if losing:
        found.append(Verdict("placebo count", "all", f"picks better trades than the placebo "
                             f"in {beats_placebo} of {losing} losing combinations (target >= "
                             f"{PLACEBO_WINS})", beats_placebo >= PLACEBO_WINS))
    found.append(Verdict("old rule count", "all", f"ends above the old rule in {beats_old} of "
                         f"{len(table)} combinations (target >= {OLD_RULE_WINS})",
                         beats_old >= OLD_RULE_WINS))
    return found


def _loss_cut(label: str, primary: Mapping[str, Any], default: Mapping[str, Any]) -> Verdict:
    removed = (default["profit_total"] - primary["profit_total"]) / -primary["profit_total"]
    lower_dd = default["max_drawdown"] < primary["max_drawdown"]
    return Verdict("loss", label, f"default max DD {default['max_drawdown']:.2%} vs primary "
                   f"{primary['max_drawdown']:.2%}; loss removed {removed:.0%} (target >= "
                   f"{LOSS_CUT:.0%})", lower_dd and removed >= LOSS_CUT)


def _per_trade(label: str, default: Mapping[str, Any],
               placebo_rows: Mapping[str, Any] | None) -> Verdict:
    if placebo_rows is None or not placebo_rows.get("seeds"):
        why = (f"the default's take rate {default['take_rate']:.0%} is beyond explore_share's "
               "maximum" if math.isfinite(default["take_rate"])
               else "the default's run recorded no gate decision")
        return Verdict("placebo", label, f"no placebo: {why}", False)
    mean, sd = placebo_rows["profit_mean"], placebo_rows["profit_mean_sd"]
    bar = mean + (sd if math.isfinite(sd) else 0.0)
    return Verdict("placebo", label, f"default mean per trade {default['profit_mean']:.3%} vs "
                   f"placebo {mean:.3%} ± {sd:.3%} ({placebo_rows['seeds']} seeds, take rate "
                   f"{placebo_rows['take_rate']:.0%})", default["profit_mean"] > bar)


def _kept(label: str, primary: Mapping[str, Any], default: Mapping[str, Any]) -> Verdict:
    kept = (default["profit_total"] / primary["profit_total"] if primary["profit_total"] > 0
            else math.nan)
    no_worse = default["max_drawdown"] <= primary["max_drawdown"]
    return Verdict("winner", label, f"default keeps {kept:.0%} of primary's profit (target >= "
                   f"{KEEP:.0%}); max DD {default['max_drawdown']:.2%} vs primary "
                   f"{primary['max_drawdown']:.2%}", kept >= KEEP and no_worse)


def _guard_keeps(label: str, primary: Mapping[str, Any], naive: Mapping[str, Any],
                 default: Mapping[str, Any]) -> Verdict:
    """The guard costs nothing where nothing is wrong: no freeze on the dev set, and at least
    :data:`GUARD_KEEP` of the naive loop's gain over the primary kept."""
    gain = naive["profit_total"] - primary["profit_total"]
    freezes = int(default.get("freezes") or 0)
    if gain > 0:
        kept = (default["profit_total"] - primary["profit_total"]) / gain
        text, met = (f"guarded keeps {kept:.0%} of naive's gain over primary (target >= "
                     f"{GUARD_KEEP:.0%})"), kept >= GUARD_KEEP
    else:
        text = (f"naive gains nothing over primary ({gain:+.2%}): guarded "
                f"{default['profit_total']:.2%} vs naive {naive['profit_total']:.2%}")
        met = default["profit_total"] >= naive["profit_total"]
    return Verdict("guard", label, f"{text}; {freezes} freeze(s) (target 0)",
                   met and freezes == 0)


def _old_rule(label: str, old: Mapping[str, Any], default: Mapping[str, Any]) -> Verdict:
    return Verdict("old rule", label, f"default total {default['profit_total']:.2%} vs old "
                   f"rule {old['profit_total']:.2%}",
                   default["profit_total"] > old["profit_total"])


def wall_ratios(table: Table) -> dict[str, float]:
    """Each combination's wall time of the new default over the primary's (each the fastest
    of its alternating runs), and under ``"all"`` the ratio of their sums: the total a user
    waits for, where the short 1h runs weigh as little as they cost."""
    pairs = {label: (rows[PRIMARY]["seconds"], rows[DEFAULT]["seconds"])
             for label, rows in table.items()}
    ratios = {label: d / p for label, (p, d) in pairs.items()}
    ratios["all"] = sum(d for _, d in pairs.values()) / sum(p for p, _ in pairs.values())
    return ratios


def wall_verdict(ratios: Mapping[str, float]) -> str:
    """``"PASS"`` when the total ratio is within :data:`WALL_TARGET`."""
    return "PASS" if ratios["all"] <= WALL_TARGET else "FAIL"
