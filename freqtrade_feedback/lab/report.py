"""The bias lab's HTML report: the verdict table with its intervals, and plots of one seed.

Rows are ``lab.rows``, the verdict and its targets ``lab.verdict``; this module draws them.
Profits are in units of one base stake (see ``lab.run``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from freqtrade_feedback.lab.policies import GUARDED, POLICIES
from freqtrade_feedback.lab.run import GUARD_STATES, LabResult
from freqtrade_feedback.lab.verdict import VERDICT_SEEDS, ScenarioSummary

# -- the HTML report -------------------------------------------------------------------------

ROLLING: Final = 100
"""Signals in the rolling acceptance rate."""
BINS: Final = 10
"""Equal-mass bins of the calibration curve."""
COLORS: Final = {"static": "#7f7f7f", "selective": "#ff7f0e", "naive": "#d62728",
                  "guarded": "#1f77b4", "guarded_selective": "#9467bd"}


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
            "guard state (guarded policies)",
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
    if policy in GUARDED:
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
    """The verdict table as an HTML fragment: every rate and mean with its 95% interval."""
    head = (
        "scenario",
        "seeds",
        "biased",
        *(f"{label} {policy}" for policy in GUARDED
          for label in ("frozen", "median delay", "false freezes")),
        "collapse ratio",
        *(f"profit {p}" for p in POLICIES),
        "verdict",
        "targets",
    )
    lines = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for s in summaries:
        targets = "; ".join(
            f"{'ok' if c.passed else 'MISSED'} {c.name}: {c.detail}" for c in s.checks
        )
        verdict = s.verdict if s.seeds >= VERDICT_SEEDS or not s.checks else f"{s.verdict}*"
        cells = (
            s.scenario,
            s.seeds,
            "yes" if s.biased else "no",
            *(cell for policy in GUARDED for cell in (
                s.guard[policy].frozen.percent(),
                s.guard[policy].median_delay.bracket(),
                s.guard[policy].false_freezes.percent(),
            )),
            s.collapse_ratio.bracket("{:.3f}"),
            *(s.profit[p].plus_minus() for p in POLICIES),
            verdict,
            targets or "-",
        )
        lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    note = (
        f"<p>Rates: share of seeds [Wilson 95% interval, %]; delays: median [95% interval], "
        f"trades; profits: mean ± half the 95% t interval, base stakes. Targets are judged "
        f"on the point estimate. * fewer than {VERDICT_SEEDS} seeds: a quick look, not the "
        f"verdict.</p>"
    )
    return "\n".join([*lines, "</table>", note])


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
