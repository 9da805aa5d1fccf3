"""``report.html``: the comparison's table and five plots on one page that works offline.

The plots answer, in order: what did each variant earn over time (equity curves on one axis,
so the reader sees which ends higher); how much did the gate let through and how sure was
the model (acceptance rate and model probability over time); when was learning stopped (the
guard's state over time); can the model's probability be read as a probability (calibration
against realized wins); and does the shadow replay, the guard's unbiased yardstick, agree
with what the bot made (realized against shadow outcomes). plotly.js is inlined once, so no
network is needed.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from freqtrade_feedback.comparison.plan import VARIANTS
from freqtrade_feedback.comparison.run import Result
from freqtrade_feedback.comparison.table import COLUMNS, IN_SAMPLE, cell
from freqtrade_feedback.guard.states import GuardState
from freqtrade_feedback.lab.report import calibration_curve, rolling_acceptance

TITLES: Final = {
    "equity": "Equity curves",
    "acceptance": "Acceptance rate and model probability over time",
    "guard": "Guard state over time",
    "calibration": "Calibration: model probability against realized wins",
    "shadow": "Realized against shadow outcomes",
}
WINDOW: Final = 20
"""Signals in the rolling acceptance rate: short, because a fold has tens of signals."""
COLORS: Final = {"primary": "#7f7f7f", "feedback": "#d62728", "guarded": "#1f77b4"}
DASHES: Final = ("solid", "dash", "dot", "dashdot", "longdash")
"""Line styles of successive folds on the shared equity axis."""
GATED: Final = tuple(name for name, feedback in VARIANTS.items() if feedback["enabled"])


def write_html(path: Path, results: Sequence[Result], intro: str) -> Path:
    """The page: intro, the table, then one section per plot."""
    figures = [equity(results), acceptance(results), guard(results), calibration(results),
               shadow(results)]
    sections = [fig.to_html(full_html=False, include_plotlyjs=i == 0)
                for i, fig in enumerate(figures)]
    page = _PAGE.format(intro=html.escape(intro), table=table_html(results),
                        sections="\n".join(sections))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def table_html(results: Sequence[Result]) -> str:
    """The rows as an HTML table, formatted as in the terminal."""
    columns = dict(COLUMNS)
    if results and "in_sample_profit_mean" in results[0].row:
        columns.update(IN_SAMPLE)
    head = "".join(f"<th>{html.escape(header)}</th>" for header, _ in columns.values())
    lines = [f"<table><tr>{head}</tr>"]
    for result in results:
        cells = "".join(f"<td>{html.escape(cell(fmt, result.row[key]))}</td>"
                        for key, (_, fmt) in columns.items())
        lines.append(f"<tr>{cells}</tr>")
    return "\n".join([*lines, "</table>"])


def _style(result: Result, **extra: Any) -> dict[str, Any]:
    name = f"{result.task.variant} fold {result.task.fold.index}"
    color = COLORS[result.task.variant]
    return {"name": name, "legendgroup": name, "marker": {"color": color}, **extra}


@dataclass(frozen=True)
class Curve:
    """One equity curve: the wallet after each closed trade (``date, balance``)."""

    name: str
    frame: pd.DataFrame
    color: str
    dash: str = "solid"
    width: float = 2.0
    group: str | None = None
    """Legend group: curves of one group (placebo seeds) show and hide together."""
    legend: bool = True


def equity_figure(curves: Sequence[Curve], title: str, height: int = 420) -> Any:
    """Every curve on one axis: which variant ends higher, and when it got there, is read
    off one scale (a panel per variant, each scaled to itself, hides both)."""
    fig = go.Figure()
    for curve in curves:
        fig.add_scatter(x=curve.frame["date"], y=curve.frame["balance"], mode="lines",
                        line_shape="hv", name=curve.name, legendgroup=curve.group or curve.name,
                        showlegend=curve.legend,
                        line={"color": curve.color, "dash": curve.dash, "width": curve.width})
    fig.update_yaxes(title_text="balance")
    return fig.update_layout(title=title, height=height)


def equity(results: Sequence[Result]) -> Any:
    """Wallet balance after each closed trade: one line per variant and fold, all on one axis
    (a fold's line spans its own range; the dash tells folds apart)."""
    return equity_figure([Curve(f"{r.task.variant} fold {r.task.fold.index}",
                                r.series.equity, COLORS[r.task.variant],
                                dash=DASHES[r.task.fold.index % len(DASHES)])
                          for r in results], TITLES["equity"])


def acceptance(results: Sequence[Result]) -> Any:
    """Rolling share of signals taken, and the model's probability at each decision."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=(f"share taken, last {WINDOW} signals",
                                        "model probability of a win (when asked)"))
    for result in _gated(results):
        frame = result.series.decisions
        taken = rolling_acceptance(frame["take"].to_numpy(dtype=float), window=WINDOW)
        fig.add_scatter(x=frame["date"], y=taken, mode="lines", row=1, col=1, **_style(result))
        asked = frame.dropna(subset=["probability"])
        fig.add_scatter(x=asked["date"], y=asked["probability"], mode="markers", row=2, col=1,
                        showlegend=False, **_style(result))
    fig.update_yaxes(range=[0, 1.02], row=1, col=1)
    fig.update_yaxes(range=[0, 1], row=2, col=1)
    return fig.update_layout(title=TITLES["acceptance"], height=560)


def guard(results: Sequence[Result]) -> Any:
    """The guard's state as a step line, one per fold of the guarded variant."""
    fig = make_subplots(rows=1, cols=1)
    for result in results:
        frame = result.series.guard
        if frame.empty:
            continue
        x = [*frame["date"], result.series.end]
        y = [*frame["state"], frame["state"].iloc[-1]]
        fig.add_scatter(x=x, y=y, mode="lines", line_shape="hv", **_style(result))
    fig.update_yaxes(categoryorder="array", categoryarray=[s.value for s in GuardState])
    return fig.update_layout(title=TITLES["guard"], height=320)


def calibration(results: Sequence[Result]) -> Any:
    """Reliability diagram: mean predicted probability against the realized win rate, in
    equal-mass bins over the taken trades the model was asked about, folds pooled."""
    fig = make_subplots(rows=1, cols=1)
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                    line={"dash": "dot", "color": "black"})
    for variant in GATED:
        picked = [r for r in results if r.task.variant == variant]
        if not picked:
            continue
        outcomes = [r.series.outcomes for r in picked]
        probability = np.concatenate([o["probability"].to_numpy(dtype=float) for o in outcomes])
        win = np.concatenate([o["win"].to_numpy(dtype=bool) for o in outcomes])
        x, y = calibration_curve(probability, win)
        fig.add_scatter(x=x, y=y, mode="lines+markers", name=variant,
                        marker={"color": COLORS[variant]})
    fig.update_xaxes(title_text="model probability of a win", range=[0, 1])
    fig.update_yaxes(title_text="realized win rate", range=[0, 1])
    return fig.update_layout(title=TITLES["calibration"], height=420)


def shadow(results: Sequence[Result]) -> Any:
    """Each taken trade's realized profit ratio against its shadow outcome's; points on the
    diagonal mean the replay the guard trusts reproduces the bot's own trades."""
    fig = make_subplots(rows=1, cols=1)
    points = [(r, r.series.outcomes.dropna(subset=["shadow"])) for r in _gated(results)]
    values = [v for _, frame in points for v in (*frame["shadow"], *frame["realized"])]
    if values:
        low, high = min(values), max(values)
        fig.add_scatter(x=[low, high], y=[low, high], mode="lines", name="realized = shadow",
                        line={"dash": "dot", "color": "black"})
    for result, frame in points:
        fig.add_scatter(x=frame["shadow"], y=frame["realized"], mode="markers",
                        **_style(result))
    fig.update_xaxes(title_text="shadow profit ratio", tickformat=".1%")
    fig.update_yaxes(title_text="realized profit ratio", tickformat=".1%")
    return fig.update_layout(title=TITLES["shadow"], height=420)


def _gated(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if r.task.variant in GATED]


_PAGE: Final = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>freqtrade-feedback compare</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style></head>
<body><h1>Primary alone, naive feedback, guarded feedback</h1>
<p>{intro}</p>
{table}
{sections}
</body></html>
"""
