"""What the bias lab reports: one CSV row per scenario and seed, a verdict per scenario, plots.

**Targets** (from the issue that asked for the lab), checked per scenario over its seeds:

- biased scenarios: the guard froze after the onset in at least 95% of seeds, the median
  delay from the onset to that freeze is at most 100 trades, and the guarded policy's mean
  profit is at least the naive one's;
- ``stationary``: false freezes in at most 5% of seeds, and the guarded mean profit at least
  95% of the naive one (``guarded >= naive - 0.05 * |naive|``, which also reads right when
  the naive profit is negative);
- ``regime_flip``: the guarded mean profit at least 90% of the naive one, and clearly above
  the static one: guarded beats static in at least 90% of seeds.

Profits are in units of one base stake (see ``lab.run``).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from freqtrade_feedback.lab.policies import POLICIES
from freqtrade_feedback.lab.run import GUARD_STATES, LabResult

CSV_COLUMNS: Final = (
    "scenario",
    "seed",
    "biased",
    "frozen",
    "first_freeze_trade",
    "onset_trade",
    "false_freeze",
    "detect_trade",
    "detection_delay",
    "freezes",
    "profit_static",
    "profit_selective",
    "profit_naive",
    "profit_guarded",
    "trades_static",
    "trades_selective",
    "trades_naive",
    "trades_guarded",
)
"""Columns of ``lab.csv``; the guard's figures come from the guarded policy's run."""

FREEZE_RATE: Final = 0.95
MAX_MEDIAN_DELAY: Final = 100
MAX_FALSE_FREEZES: Final = 0.05
STATIONARY_SHARE: Final = 0.95
REGIME_FLIP_SHARE: Final = 0.90
BEATS_STATIC: Final = 0.90


def lab_row(results: Mapping[str, LabResult]) -> dict[str, Any]:
    """The CSV row of one scenario and seed, from its runs by policy name.

    Flags are 0/1; a freeze that never happened, a missing policy or an onset that does not
    exist is ``None`` (an empty CSV cell).
    """
    first = next(iter(results.values()))
    guarded = results.get("guarded")
    row: dict[str, Any] = {
        "scenario": first.scenario,
        "seed": first.seed,
        "biased": int(first.biased),
        "onset_trade": first.onset_trade,
        "frozen": None if guarded is None else int(guarded.frozen),
        "first_freeze_trade": None if guarded is None else guarded.first_freeze_trade,
        "false_freeze": None if guarded is None else int(guarded.false_freeze),
        "detect_trade": None if guarded is None else guarded.detect_trade,
        "detection_delay": None if guarded is None else guarded.detection_delay,
        "freezes": None if guarded is None else len(guarded.freezes),
    }
    for policy in POLICIES:
        result = results.get(policy)
        row[f"profit_{policy}"] = None if result is None else round(result.profit, 6)
        row[f"trades_{policy}"] = None if result is None else result.trades
    return row


@dataclasses.dataclass(frozen=True)
class Check:
    """One target: whether it was met, and the figures that say so."""

    name: str
    passed: bool
    detail: str


@dataclasses.dataclass(frozen=True)
class ScenarioSummary:
    """A scenario's figures over its seeds, and its targets."""

    scenario: str
    seeds: int
    biased: bool
    freeze_rate: float
    """Share of seeds in which the guard froze after the onset (at all, without an onset)."""
    median_delay: float
    """Median trades from the onset to the first freeze after it, over the seeds that froze."""
    false_freeze_rate: float
    profit: Mapping[str, float]
    """Mean profit by policy."""
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seeds": self.seeds,
            "biased": self.biased,
            "freeze_rate": self.freeze_rate,
            "median_delay": None if math.isnan(self.median_delay) else self.median_delay,
            "false_freeze_rate": self.false_freeze_rate,
            **{f"profit_{policy}": value for policy, value in self.profit.items()},
            "verdict": self.verdict,
            "checks": [check.__dict__ for check in self.checks],
        }


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def summarize(rows: Sequence[Mapping[str, Any]]) -> list[ScenarioSummary]:
    """One summary per scenario, in the order the scenarios first appear in ``rows``."""
    by_scenario: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_scenario.setdefault(row["scenario"], []).append(row)
    return [_summary(name, group) for name, group in by_scenario.items()]


def _summary(name: str, rows: Sequence[Mapping[str, Any]]) -> ScenarioSummary:
    delays = [r["detection_delay"] for r in rows if r.get("detection_delay") is not None]
    profits = {
        policy: _mean(
            [r[f"profit_{policy}"] for r in rows if r.get(f"profit_{policy}") is not None]
        )
        for policy in POLICIES
    }
    partial = ScenarioSummary(
        scenario=name,
        seeds=len(rows),
        biased=bool(rows[0]["biased"]),
        freeze_rate=_mean([r["frozen"] or 0 for r in rows]),
        median_delay=statistics.median(delays) if delays else math.nan,
        false_freeze_rate=_mean([r["false_freeze"] or 0 for r in rows]),
        profit=profits,
        checks=(),
    )
    return dataclasses.replace(partial, checks=tuple(_targets(partial, rows)))


def _at_least(name: str, value: float, floor: float, fmt: str = "{:.2f}") -> Check:
    ok = not math.isnan(value) and value >= floor
    return Check(name, ok, f"{fmt.format(value)} >= {fmt.format(floor)}")


def _targets(s: ScenarioSummary, rows: Sequence[Mapping[str, Any]]) -> list[Check]:
    guarded, naive, static = (s.profit[p] for p in ("guarded", "naive", "static"))
    if s.biased:
        delay_ok = not math.isnan(s.median_delay) and s.median_delay <= MAX_MEDIAN_DELAY
        return [
            _at_least("freeze rate", s.freeze_rate, FREEZE_RATE, "{:.0%}"),
            Check("median delay", delay_ok, f"{s.median_delay:g} <= {MAX_MEDIAN_DELAY} trades"),
            _at_least("guarded >= naive", guarded, naive),
        ]
    if s.scenario == "stationary":
        return [
            Check(
                "false freezes",
                s.false_freeze_rate <= MAX_FALSE_FREEZES,
                f"{s.false_freeze_rate:.0%} <= {MAX_FALSE_FREEZES:.0%}",
            ),
            _at_least("guarded >= 95% naive", guarded, naive - (1 - STATIONARY_SHARE) * abs(naive)),
        ]
    if s.scenario == "regime_flip":
        beats = _mean(
            [float(r["profit_guarded"] > r["profit_static"]) for r in rows if _has_profits(r)]
        )
        return [
            _at_least(
                "guarded >= 90% naive", guarded, naive - (1 - REGIME_FLIP_SHARE) * abs(naive)
            ),
            Check(
                "guarded > static",
                beats >= BEATS_STATIC and guarded > static,
                f"in {beats:.0%} of seeds (>= {BEATS_STATIC:.0%})",
            ),
        ]
    return []


def _has_profits(row: Mapping[str, Any]) -> bool:
    return row.get("profit_guarded") is not None and row.get("profit_static") is not None


# -- the HTML report -------------------------------------------------------------------------

ROLLING: Final = 100
"""Signals in the rolling acceptance rate."""
BINS: Final = 10
"""Equal-mass bins of the calibration curve."""
COLORS: Final = {"static": "#7f7f7f", "selective": "#ff7f0e", "naive": "#d62728",
                  "guarded": "#1f77b4"}


def rolling_acceptance(take: np.ndarray[Any, Any], window: int = ROLLING) -> np.ndarray[Any, Any]:
    """Share of taken signals over the last ``window`` signals (fewer at the start).

    >>> rolling_acceptance(np.array([1, 0, 1, 1]), window=2).tolist()
    [1.0, 0.5, 0.5, 1.0]
    """
    sums = np.cumsum(np.asarray(take, dtype=float))
    lagged = np.concatenate([np.zeros(window), sums[:-window]])[: len(sums)]
    counts = np.minimum(np.arange(1, len(sums) + 1), window)
    return np.asarray((sums - lagged) / counts)


def calibration_curve(
    probability: np.ndarray[Any, Any], win: np.ndarray[Any, Any], bins: int = BINS
) -> tuple[list[float], list[float]]:
    """Mean predicted probability and observed win rate in ``bins`` equal-mass bins.

    NaN probabilities (the model was not asked) are left out.

    >>> p = np.array([0.1, 0.2, 0.8, 0.9])
    >>> calibration_curve(p, np.array([False, False, True, True]), bins=2)
    ([0.15..., 0.85...], [0.0, 1.0])
    """
    keep = np.isfinite(probability)
    p, y = probability[keep], np.asarray(win, dtype=float)[keep]
    if len(p) == 0:
        return [], []
    order = np.argsort(p, kind="stable")
    chunks = [c for c in np.array_split(order, min(bins, len(p))) if len(c)]
    return [float(p[c].mean()) for c in chunks], [float(y[c].mean()) for c in chunks]


def scenario_figure(results: Mapping[str, LabResult], markers: Mapping[str, int]) -> Any:
    """Four panels for one seed of a scenario: guard state, rolling acceptance, calibration of
    the models on shadow outcomes after the onset, and cumulative booked profit.

    ``markers`` are vertical lines to draw (label to trade), e.g. the onset.
    """
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=(
            "guard state (guarded policy)",
            f"acceptance rate (last {ROLLING} signals)",
            "calibration on shadow outcomes, after the onset",
            "cumulative booked profit (base stakes)",
        ),
    )
    for policy, result in results.items():
        _add_series(fig, policy, result)
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line={"dash": "dot", "color": "black"},
        name="perfect calibration",
        showlegend=False,
        row=2,
        col=1,
    )
    for label, trade in markers.items():
        for row, col in ((1, 1), (1, 2), (2, 2)):
            fig.add_vline(x=trade, line_dash="dash", line_color="black", row=row, col=col)
        fig.add_annotation(
            x=trade,
            y=1.0,
            yref="y2 domain",
            xref="x2",
            text=label,
            showarrow=False,
            yanchor="bottom",
        )
    fig.update_yaxes(categoryorder="array", categoryarray=list(GUARD_STATES), row=1, col=1)
    fig.update_xaxes(title_text="trade (signal)", row=1, col=1)
    fig.update_xaxes(title_text="trade (signal)", row=1, col=2)
    fig.update_xaxes(title_text="predicted win probability", range=[0, 1], row=2, col=1)
    fig.update_yaxes(title_text="shadow win rate", range=[0, 1], row=2, col=1)
    fig.update_xaxes(title_text="trade (signal)", row=2, col=2)
    fig.update_layout(height=720, margin={"t": 60, "b": 40})
    return fig


def _add_series(fig: Any, policy: str, result: LabResult) -> None:
    color = COLORS.get(policy, "black")
    steps = np.arange(result.n)
    style = {"legendgroup": policy, "line": {"color": color}}
    if policy == "guarded":
        fig.add_scatter(
            x=steps,
            y=list(result.guard_state),
            mode="lines",
            name=policy,
            line_shape="hv",
            showlegend=False,
            row=1,
            col=1,
            **style,
        )
    fig.add_scatter(
        x=steps, y=rolling_acceptance(result.take), mode="lines", name=policy, row=1, col=2, **style
    )
    if policy != "static":
        start = result.onset_trade or 0
        x, y = calibration_curve(result.probability[start:], result.shadow[start:] > 0)
        fig.add_scatter(
            x=x, y=y, mode="lines+markers", name=policy, showlegend=False, row=2, col=1, **style
        )
    fig.add_scatter(
        x=steps,
        y=np.cumsum(result.booked),
        mode="lines",
        name=policy,
        showlegend=False,
        row=2,
        col=2,
        **style,
    )


def summary_html(summaries: Sequence[ScenarioSummary]) -> str:
    """The summary table as an HTML fragment."""
    head = (
        "scenario",
        "seeds",
        "biased",
        "freeze rate",
        "median delay",
        "false freezes",
        *(f"profit {p}" for p in POLICIES),
        "verdict",
        "targets",
    )
    lines = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for s in summaries:
        targets = "; ".join(
            f"{'ok' if c.passed else 'MISSED'} {c.name}: {c.detail}" for c in s.checks
        )
        cells = (
            s.scenario,
            s.seeds,
            "yes" if s.biased else "no",
            f"{s.freeze_rate:.0%}",
            "-" if math.isnan(s.median_delay) else f"{s.median_delay:g}",
            f"{s.false_freeze_rate:.0%}",
            *(f"{s.profit[p]:+.2f}" for p in POLICIES),
            s.verdict if s.checks else "-",
            targets or "-",
        )
        lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join([*lines, "</table>"])


_PAGE: Final = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>freqtrade-feedback bias lab</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style></head>
<body><h1>Bias lab</h1>
<p>{intro}</p>
{table}
{sections}
</body></html>
"""


def write_html(
    path: Path,
    summaries: Sequence[ScenarioSummary],
    figures: Mapping[str, tuple[str, Any]],
    intro: str = "",
) -> Path:
    """One self-contained HTML file: the summary table, then one figure per scenario.

    ``figures`` maps a scenario to a caption and its figure; plotly.js is inlined once, so
    the page works offline.
    """
    sections = []
    for i, (name, (caption, fig)) in enumerate(figures.items()):
        body = fig.to_html(full_html=False, include_plotlyjs=i == 0)
        sections.append(f"<h2>{name}</h2><p>{caption}</p>\n{body}")
    html = _PAGE.format(intro=intro, table=summary_html(summaries), sections="\n".join(sections))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
