"""The comparison as a rich table: one line per variant and fold, so folds read down a column."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from rich import box
from rich.table import Table

COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "variant": ("Variant", "{}"),
    "fold": ("Fold", "{:d}"),
    "trades": ("Trades", "{:d}"),
    "profit_total": ("Profit %", "{:.2%}"),
    "profit_mean": ("Mean %", "{:.3%}"),
    "sharpe": ("Sharpe", "{:.2f}"),
    "sortino": ("Sortino", "{:.2f}"),
    "calmar": ("Calmar", "{:.2f}"),
    "max_drawdown": ("Max DD %", "{:.2%}"),
    "win_rate": ("Win %", "{:.1%}"),
    "frozen_share": ("Frozen %", "{:.1%}"),
    "learned": ("Learned", "{:d}"),
}
IN_SAMPLE: Final[dict[str, tuple[str, str]]] = {
    "in_sample_profit_total": ("IS profit %", "{:.2%}"),
    "in_sample_profit_mean": ("IS mean %", "{:.3%}"),
}
"""Shown after a hyperopt: the best epoch's own figures, to set against the row's."""


def render(rows: Sequence[Mapping[str, Any]], title: str) -> Table:
    """One line per row of the CSV; the in-sample columns only when there was a hyperopt."""
    columns = dict(COLUMNS)
    if rows and "in_sample_profit_mean" in rows[0]:
        columns.update(IN_SAMPLE)
    table = Table(title=title, box=box.SIMPLE_HEAD, caption=_caption(rows), caption_justify="left")
    for key, (header, _) in columns.items():
        table.add_column(header, justify="left" if key == "variant" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*(cell(fmt, row[key]) for key, (_, fmt) in columns.items()))
    return table


def _caption(rows: Sequence[Mapping[str, Any]]) -> str:
    text = ("Mean: profit per trade. Sharpe, Sortino, Calmar: Freqtrade's daily wallet-balance "
            "figures. Frozen: share of the range's time the guard was frozen.")
    if rows and "in_sample_profit_mean" in rows[0]:
        text += (" Rows are out of sample (the fold's evaluation range); IS: the hyperopt's "
                 "best epoch on its own in-sample range, where the optimiser picked it.")
    return text


def cell(fmt: str, value: Any) -> str:
    """A figure, or "-" where it does not apply (NaN: no guard, no shadows, no epoch)."""
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return fmt.format(value)
