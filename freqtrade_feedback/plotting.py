"""What ``freqtrade plot-dataframe`` and FreqUI show of the feedback loop.

Two columns on the analyzed frame, in a subplot ``feedback`` of the strategy's plot config.
Neither starts with the feature prefix ``fb_``: a column that did would become a learner
feature, and the learner would read its own output.

``feedback_probability``
    The probability of a win that the pair's *current* decider (the champion while the guard
    is frozen or on probation, else the learner) gives each row's features. It is computed
    again at every analysis, so it shows how today's model scores the past, not what an
    earlier model decided then (the ledger has that). NaN where the features are not finite.
``feedback_guard``
    The guard's state now, as a number: see :data:`GUARD_CODES`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from freqtrade_feedback.features import FeatureTable
from freqtrade_feedback.learner import OnlineLearner
from freqtrade_feedback.typing import Features, ModelInput

PROBABILITY_COLUMN = "feedback_probability"
GUARD_COLUMN = "feedback_guard"
SUBPLOT = "feedback"
GUARD_CODES: dict[str, int] = {"off": -1, "learning": 0, "probation": 1, "suspect": 2,
                               "frozen": 3}
"""Guard state -> plotted number: higher is more alarmed; ``off`` (no guard) is -1."""


def with_feedback_subplot(plot_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The strategy's plot config plus the ``feedback`` subplot (a copy; an existing
    ``feedback`` subplot of the strategy's own is kept as it is).

    Examples
    --------
    >>> config = with_feedback_subplot({"subplots": {"RSI": {"rsi": {}}}})
    >>> sorted(config["subplots"]), sorted(config["subplots"]["feedback"])
    (['RSI', 'feedback'], ['feedback_guard', 'feedback_probability'])
    """
    merged = copy.deepcopy(dict(plot_config or {}))
    merged.setdefault("main_plot", {})
    merged.setdefault("subplots", {}).setdefault(SUBPLOT, {
        PROBABILITY_COLUMN: {"color": "#1f77b4"},
        GUARD_COLUMN: {"color": "#d62728", "type": "line"},
    })
    return merged


def probabilities(learner: OnlineLearner, table: FeatureTable, rows: np.ndarray | None = None,
                  to_input: Callable[[Features], ModelInput] = dict) -> np.ndarray:
    """The learner's probability of a win for each row of ``table`` (or only ``rows``, a
    boolean mask; the others NaN), NaN where a feature is not finite. ``to_input`` turns a
    row's features into what the learner reads (the loop's ``model_input``: the pair beside
    them). One ``predict_proba_one`` per row: river's online models score one dict at a time
    (about 6 us a row with the default learner)."""
    finite = np.isfinite(table.values).all(axis=1)
    if rows is not None:
        finite &= rows
    out = np.full(len(finite), np.nan)
    columns = table.columns
    for index in np.flatnonzero(finite):
        features = dict(zip(columns, table.values[index].tolist(), strict=True))
        out[index] = learner.predict_proba_one(to_input(features))[True]
    return out


class ProbabilityCache:
    """Per pair, the rows scored at the last analysis and the model state they were scored
    with. Live, every new candle re-analyses a frame of about a thousand rows per pair;
    while the model has not learned since, only the new rows are scored, and the whole frame
    again only after it learned (once per closed trade). A row keeps the probability of its
    first scoring while the model is unchanged."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[OnlineLearner, object, np.ndarray, np.ndarray]] = {}

    def probabilities(self, pair: str, learner: OnlineLearner, table: FeatureTable,
                      to_input: Callable[[Features], ModelInput] = dict) -> np.ndarray:
        state = learner.state
        dates = table.dates_ms
        known = np.zeros(len(dates), dtype=bool)
        reused = np.full(len(dates), np.nan)
        last = self._last.get(pair)
        if last is not None and last[0] is learner and last[1] is state and len(last[2]):
            index = np.minimum(np.searchsorted(last[2], dates), len(last[2]) - 1)
            known = last[2][index] == dates
            reused[known] = last[3][index[known]]
        out = np.where(known, reused, probabilities(learner, table, ~known, to_input))
        self._last[pair] = (learner, state, dates.copy(), out)
        return out
