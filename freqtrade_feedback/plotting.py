"""What ``freqtrade plot-dataframe`` and FreqUI show of the feedback loop.

Two columns on the analyzed frame, in a subplot ``feedback`` of the strategy's plot config.
Neither starts with the feature prefix ``fb_``: a column that did would become a learner
feature, and the learner would read its own output.

``feedback_probability``
    The probability of a win that the pair's *current* decider (the champion when the guard
    is on) gives each row's features. It is computed again at every analysis, so it shows how
    today's model scores the past, not what an earlier model decided then (the ledger has
    that). NaN where the features are not finite.
``feedback_guard``
    The guard's state now, as a number: see :data:`GUARD_CODES`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np

from freqtrade_feedback.features import FeatureTable
from freqtrade_feedback.learner import OnlineLearner

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


def probabilities(learner: OnlineLearner, table: FeatureTable) -> np.ndarray:
    """The learner's probability of a win for each row of ``table`` (NaN where a feature is
    not finite). One ``predict_proba_one`` per row: river's online models score one dict at
    a time, and at about 10 us a row a live frame of a thousand candles costs 10 ms."""
    finite = np.isfinite(table.values).all(axis=1)
    out = np.full(len(finite), np.nan)
    columns = table.columns
    for index in np.flatnonzero(finite):
        features = dict(zip(columns, table.values[index].tolist(), strict=True))
        out[index] = learner.predict_proba_one(features)[True]
    return out
