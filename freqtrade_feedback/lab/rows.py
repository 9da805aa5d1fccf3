"""The bias lab's CSV rows: one per scenario and seed, the figures of every policy's run.

The guard's figures come from each guarded policy's run: ``frozen``, ``false_freeze``,
``detection_delay`` ... for ``guarded`` (the default loop), the same names ending in
``_guarded_selective`` for the guarded loop of realized labels.

**The collapse ratio** (``SelectionCollapse`` only, where ``Scenario.collapse_window`` is
set): over the window's signals, the share of breakout signals the selective policy took,
divided by the share a *reference* took, a learner that learns every signal's shadow outcome
with nothing selected. In that scenario a trade's realized outcome is its shadow outcome, so
the naive policy (``labels: "all"``: a taken signal learned from its trade, a skipped one
from its shadow) is exactly that reference, with the same gate and exploration. Below
``COLLAPSE_BELOW`` the scenario is a collapse: the selective learner rejects the region
that pays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from freqtrade_feedback.lab.policies import GUARDED, POLICIES
from freqtrade_feedback.lab.run import LabResult

COLLAPSE_BELOW: Final = 0.25
"""Collapse ratio under which a run counts as collapsed: a quarter of the reference."""
REFERENCE: Final = "naive"
"""The policy that serves as the collapse's shadow-trained reference (see above)."""

GUARD_FIGURES: Final = (
    "frozen",
    "first_freeze_trade",
    "false_freeze",
    "detect_trade",
    "detection_delay",
    "freezes",
)
"""The guard's figures of a run, one column each per guarded policy."""


def column(figure: str, policy: str) -> str:
    """The column of a guard figure of ``policy``: bare for ``guarded``, suffixed otherwise.

    >>> column("frozen", "guarded"), column("frozen", "guarded_selective")
    ('frozen', 'frozen_guarded_selective')
    """
    return figure if policy == "guarded" else f"{figure}_{policy}"


CSV_COLUMNS: Final = (
    "scenario",
    "seed",
    "biased",
    "onset_trade",
    *(column(figure, policy) for policy in GUARDED for figure in GUARD_FIGURES),
    "collapse_ratio",
    "collapse_ratio_guarded_selective",
    *(f"profit_{policy}" for policy in POLICIES),
    *(f"trades_{policy}" for policy in POLICIES),
)
"""Columns of ``lab.csv``."""


def breakout_acceptance(result: LabResult, window: tuple[int, int]) -> float:
    """Share of the breakout signals in ``[start, stop)`` that the run took (NaN: none).

    >>> import numpy as np
    >>> from dataclasses import replace
    >>> from freqtrade_feedback import lab
    >>> run = lab.run_scenario(lab.Stationary(n=120, seed=0), "static", 0)
    >>> run = replace(run, take=np.arange(120) % 2 == 0, breakout=np.arange(120) % 4 < 2)
    >>> breakout_acceptance(run, (0, 100))
    0.5
    """
    start, stop = window
    breakout = result.breakout[start:stop]
    if not breakout.any():
        return math.nan
    return float(result.take[start:stop][breakout].mean())


def collapse_ratio(result: LabResult, reference: LabResult, window: tuple[int, int]) -> float:
    """``result``'s breakout acceptance over the reference's, in ``window`` (NaN: undefined)."""
    theirs = breakout_acceptance(reference, window)
    if not theirs > 0:
        return math.nan
    return breakout_acceptance(result, window) / theirs


def lab_row(
    results: Mapping[str, LabResult], collapse_window: tuple[int, int] | None = None
) -> dict[str, Any]:
    """The CSV row of one scenario and seed, from its runs by policy name.

    Flags are 0/1; a freeze that never happened, a missing policy, an onset that does not
    exist or a collapse ratio not measured is ``None`` (an empty CSV cell).
    """
    first = next(iter(results.values()))
    row: dict[str, Any] = {
        "scenario": first.scenario,
        "seed": first.seed,
        "biased": int(first.biased),
        "onset_trade": first.onset_trade,
    }
    for policy in GUARDED:
        row.update(_guard_figures(policy, results.get(policy)))
    reference = results.get(REFERENCE)
    for name, policy in (("collapse_ratio", "selective"),
                         ("collapse_ratio_guarded_selective", "guarded_selective")):
        run = results.get(policy)
        ratio = (
            None
            if collapse_window is None or run is None or reference is None
            else collapse_ratio(run, reference, collapse_window)
        )
        row[name] = None if ratio is None or math.isnan(ratio) else round(ratio, 4)
    for policy in POLICIES:
        result = results.get(policy)
        row[f"profit_{policy}"] = None if result is None else round(result.profit, 6)
        row[f"trades_{policy}"] = None if result is None else result.trades
    return row


def _guard_figures(policy: str, result: LabResult | None) -> dict[str, Any]:
    figures: dict[str, Any] = dict.fromkeys(GUARD_FIGURES)
    if result is not None:
        figures.update(
            frozen=int(result.frozen),
            first_freeze_trade=result.first_freeze_trade,
            false_freeze=int(result.false_freeze),
            detect_trade=result.detect_trade,
            detection_delay=result.detection_delay,
            freezes=len(result.freezes),
        )
    return {column(figure, policy): value for figure, value in figures.items()}
