"""The value report's outputs: the table (terminal and HTML), ``value.csv`` and ``report.html``.

One line per combination and variant; the placebo's seeds are one line too, each figure its
mean ± its seed-to-seed standard deviation (the CSV keeps every seed's row). ``report.html``
works offline (plotly.js inlined): the table, the verdicts, one equity plot per combination
with every variant and placebo seed on one axis, and the mean profit per trade of each
variant beside the placebo's seeds.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from plotly.subplots import make_subplots
from rich import box
from rich.table import Table as RichTable

from freqtrade_feedback.benchmarks.value import PLACEBO, VARIANTS, Table, Verdict
from freqtrade_feedback.benchmarks.value_run import Run
from freqtrade_feedback.comparison.report import Curve, equity_figure

CSV_COLUMNS: Final = (
    "combination", "strategy", "timeframe", "variant", "seed", "trades", "profit_total",
    "profit_total_abs", "profit_mean", "profit_mean_abs", "win_rate", "sharpe", "max_drawdown",
    "take_rate", "signals", "learned", "freezes", "seconds", "runs", "feedback",
)
"""Columns of ``value.csv``, one row per backtest (each placebo seed its own)."""
COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "trades": ("Trades", "{:.0f}"),
    "profit_total": ("Profit %", "{:.2%}"),
    "profit_mean": ("Mean/trade %", "{:.3%}"),
    "profit_mean_abs": ("Mean/trade abs", "{:.3f}"),
    "sharpe": ("Sharpe", "{:.2f}"),
    "max_drawdown": ("Max DD %", "{:.2%}"),
    "take_rate": ("Take %", "{:.0%}"),
}
"""The figures of a line: header and format."""
COLORS: Final = {"primary": "#7f7f7f", "old rule": "#ff7f0e", "naive": "#1f77b4",
                 "default": "#d62728", PLACEBO: "#bcbd22"}
TITLE: Final = "What the gate is worth: the dev set, variant by variant"
CAPTION: Final = (
    "Mean/trade: mean profit per trade, as a ratio and in the stake currency. Sharpe: "
    "Freqtrade's daily wallet figure. Take: share of the gate's decisions taken. Placebo: a "
    "seeded coin taking the default's share of signals, mean ± sd over its seeds."
)


def cells(row: Mapping[str, Any]) -> list[str]:
    """A line's figures; a placebo's as mean ± sd."""
    found = []
    for key, (_, fmt) in COLUMNS.items():
        text = _cell(fmt, row.get(key, math.nan))
        if f"{key}_sd" in row and key != "trades":
            text += f" ± {_cell(fmt, row[f'{key}_sd'])}"
        found.append(text)
    return found


def _cell(fmt: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return fmt.format(value)


def lines(table: Table) -> list[tuple[str, str, list[str]]]:
    """``(combination, variant label, cells)`` in the table's order."""
    found = []
    for label, rows in table.items():
        for variant in [*VARIANTS, PLACEBO]:
            if variant in rows:
                name = variant if variant != PLACEBO else f"placebo ×{rows[variant]['seeds']}"
                found.append((label, name, cells(rows[variant])))
    return found


def render(table: Table) -> RichTable:
    out = RichTable(title=TITLE, box=box.SIMPLE_HEAD, caption=CAPTION, caption_justify="left")
    out.add_column("Strategy", no_wrap=True)
    out.add_column("Variant", no_wrap=True)
    for header, _ in COLUMNS.values():
        out.add_column(header, justify="right", no_wrap=True)
    previous = None
    for label, name, figures in lines(table):
        out.add_row(label if label != previous else "", name, *figures)
        previous = label
    return out


def write_html(path: Path, runs: Sequence[Run], table: Table, verdicts: Sequence[Verdict],
               intro: str) -> Path:
    """The page: intro, table, verdicts, then an equity plot per combination and the mean
    profit per trade beside the placebo's seeds."""
    figures = [_equity(label, [r for r in runs if r.row["combination"] == label])
               for label in table]
    figures.append(_per_trade(runs))
    sections = [fig.to_html(full_html=False, include_plotlyjs=i == 0)
                for i, fig in enumerate(figures)]
    verdict_list = "".join(f"<li>{html.escape(v.line())}</li>" for v in verdicts)
    page = _PAGE.format(title=html.escape(TITLE), intro=html.escape(intro),
                        table=_table_html(table), caption=html.escape(CAPTION),
                        verdicts=verdict_list, sections="\n".join(sections))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>"
                   for h in ("Strategy", "Variant", *(h for h, _ in COLUMNS.values())))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in (label, name, *figs))
                   + "</tr>" for label, name, figs in lines(table))
    return f"<table><tr>{head}</tr>{body}</table>"


def _equity(label: str, runs: Sequence[Run]) -> Any:
    """Every variant of one combination on one axis; the placebo's seeds thin, one legend
    entry for all of them."""
    curves = []
    for run in runs:
        variant = run.row["variant"]
        if variant == PLACEBO:
            first = run.row["seed"] == min(r.row["seed"] for r in runs
                                           if r.row["variant"] == PLACEBO)
            curves.append(Curve(f"placebo seed {run.row['seed']}", run.equity, COLORS[PLACEBO],
                                width=1.0, group=PLACEBO, legend=first))
        else:
            curves.append(Curve(variant, run.equity, COLORS[variant]))
    curves.sort(key=lambda c: c.group != PLACEBO)  # seeds underneath the variants
    return equity_figure(curves, f"Equity: {label}")


def _per_trade(runs: Sequence[Run]) -> Any:
    """Mean profit per trade of every variant by combination, each placebo seed a point: a
    variant above the placebo's cloud picked better trades than a coin at its take rate."""
    fig = make_subplots(rows=1, cols=1)
    for variant in [*VARIANTS, PLACEBO]:
        picked = [r.row for r in runs if r.row["variant"] == variant]
        if picked:
            fig.add_scatter(x=[r["combination"] for r in picked],
                            y=[r["profit_mean"] for r in picked], mode="markers", name=variant,
                            marker={"color": COLORS[variant],
                                    "size": 6 if variant == PLACEBO else 11,
                                    "symbol": "circle-open" if variant == PLACEBO else "diamond"})
    fig.update_yaxes(title_text="mean profit per trade", tickformat=".2%")
    return fig.update_layout(title="Mean profit per trade against the placebo's seeds",
                             height=460)


_PAGE: Final = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>freqtrade-feedback value report</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style></head>
<body><h1>{title}</h1>
<p>{intro}</p>
{table}
<p><small>{caption}</small></p>
<h2>Verdicts</h2>
<ul>{verdicts}</ul>
{sections}
</body></html>
"""
