"""JSON Schema of the ``"feedback"`` section of a Freqtrade config.

Every key has a description and a default, and unknown keys are refused
(``additionalProperties: false``): Freqtrade's own schema accepts a typo like ``"stop_los"``
silently, and a silently ignored gate setting is a gate that does not do what its user thinks.
The defaults are written once, in the settings dataclasses (``config/settings.py``): each
property's ``"default"`` is read from them, so an empty section and a loop built in Python
agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from freqtrade_feedback.config.settings import FEATURE_SETS, FeedbackSettings
from freqtrade_feedback.learner import LEARNERS

_GUARD: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "description": "The guard: shadow outcomes, a holdout, champion and challenger, and "
    "detectors that freeze learning when the learner starts fitting its own actions.",
    "properties": {
        "enabled": {
            "type": "boolean",
            "description": "Run the guard (on by default). Off: the learner gates and "
            "learns directly (no champion, holdout or freezing).",
        },
        "holdout_share": {
            "type": "number",
            "minimum": 0,
            "maximum": 0.5,
            "description": "Share of signals decided by a seeded coin flip instead of the "
            "model, taken at holdout_stake: a randomised dose of our own impact for the "
            "own-impact detector. Off by default (shadow outcomes are the unbiased "
            "yardstick; 5% cost 4% of the bias lab's stationary profit).",
        },
        "holdout_stake": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "Stake factor of holdout trades.",
        },
        "frozen_policy": {
            "type": "string",
            "enum": ["champion", "primary"],
            "description": "Who decides while the guard is frozen: the last champion "
            "snapshot, or the primary strategy alone (every signal taken).",
        },
        "alpha": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 0.2,
            "description": "Error level of the sequential tests (promotion, rollback, "
            "execution gap); they stay valid however often they are checked.",
        },
        "suspect_dwell": {
            "type": "integer",
            "minimum": 1,
            "description": "Quiet outcomes needed to clear a suspicion (hysteresis).",
        },
        "cooldown": {
            "type": "integer",
            "minimum": 1,
            "description": "Outcomes observed while frozen before probation starts.",
        },
        "probation": {
            "type": "integer",
            "minimum": 1,
            "description": "Outcomes without an alarm needed to pass probation and learn again.",
        },
        "shadow_max_candles": {
            "type": "integer",
            "minimum": 1,
            "description": "Time limit of a shadow trade, in candles (beside the strategy's "
            "exits: ROI table, stoploss, exit signals). Shadows run whenever the gate is on; "
            "keep it above the strategy's longest trades.",
        },
    },
}

_FEEDBACK: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {
            "type": "boolean",
            "description": "Switch the plugin on or off. Off: the primary strategy trades alone "
            "and nothing is recorded or learned.",
        },
        "learner": {
            "type": "string",
            "enum": list(LEARNERS),
            "description": "Online model that scores entry signals: 'logistic' (StandardScaler + "
            "LogisticRegression), 'hoeffding' (Hoeffding adaptive tree) or 'arf' (adaptive "
            "random forest; ignores sample weights, about 50 times slower).",
        },
        "learner_params": {
            "type": "object",
            "description": "Keyword arguments of the chosen learner (see the docs for each "
            "learner's keys), e.g. {\"l2\": 0.001, \"lr\": 0.05} for 'logistic'.",
        },
        "rule": {
            "type": "string",
            "enum": ["expected_profit", "probability"],
            "description": "How the gate decides. 'expected_profit': take a signal when its "
            "expected net profit, P(win) x the mean win + (1 - P(win)) x the mean loss (both "
            "learned from outcomes), is at least min_edge, or within skip_confidence standard "
            "errors of it. 'probability': take it when P(win) is at least threshold.",
        },
        "min_edge": {
            "type": "number",
            "minimum": -0.1,
            "maximum": 0.1,
            "description": "Expected net profit ratio per trade a signal must reach under the "
            "'expected_profit' rule (0.001 = 0.1%).",
        },
        "skip_confidence": {
            "type": "number",
            "minimum": 0,
            "maximum": 5,
            "description": "Standard errors by which a signal's expected profit must fall short "
            "of min_edge before it is skipped ('expected_profit' rule). The sizes of wins and "
            "losses are estimated from a limited number of outcomes; 0 skips on the point "
            "estimate, which costs a strategy that lives on rare large wins its best trades.",
        },
        "threshold": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "Under the 'probability' rule, a signal is taken when the model's "
            "probability of a win is at least this value.",
        },
        "min_outcomes": {
            "type": "integer",
            "minimum": 0,
            "description": "Cold start: every signal is taken until the learner has learned this "
            "many outcomes (per pair when scope is 'pair').",
        },
        "min_profit": {
            "type": "number",
            "minimum": -1,
            "maximum": 1,
            "description": "A closed trade counts as a win when its profit ratio net of fees is "
            "above this value (0.002 = 0.2%).",
        },
        "explore_share": {
            "type": "number",
            "minimum": 0,
            "maximum": 0.5,
            "description": "Share of the signals the model would skip that are taken anyway, "
            "decided by a seeded coin flip, with the propensity recorded. Keeps a learner "
            "that only learns from what it takes from starving itself.",
        },
        "labels": {
            "type": "string",
            "enum": ["all", "realized"],
            "description": "What the learner learns from. 'all': every signal, a taken one from "
            "its trade's realized outcome, a skipped one from its shadow outcome (what it would "
            "have made under the strategy's exits). 'realized': only the trades the gate took "
            "(selective labels: the learner never sees what it skips).",
        },
        "scope": {
            "type": "string",
            "enum": ["pair", "global"],
            "description": "'global': one learner shared by all pairs (learns from every pair's "
            "outcomes; with the 'pair' feature set it also tells pairs apart). 'pair': one learner "
            "per pair. Either way an outcome reaches the gate from the candle after the one in "
            "which it closed.",
        },
        "sample_weight": {
            "type": "string",
            "enum": ["uniform", "profit"],
            "description": "'uniform': every outcome weighs 1. 'profit': an outcome weighs "
            "its absolute profit ratio relative to 1%, clipped to [0.1, 10].",
        },
        "stake_scaling": {
            "type": "boolean",
            "description": "Scale the stake with the model's confidence (probability divided by "
            "threshold, clipped to [stake_factor_min, stake_factor_max]).",
        },
        "stake_factor_min": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "Smallest stake factor when stake_scaling is on; exploration "
            "trades always use it.",
        },
        "stake_factor_max": {
            "type": "number",
            "minimum": 1,
            "maximum": 10,
            "description": "Largest stake factor when stake_scaling is on.",
        },
        "fallback": {
            "type": "string",
            "enum": ["take", "skip"],
            "description": "What a signal gets when the plugin cannot decide (bad feature "
            "values, an internal error): 'take' lets the primary strategy trade alone "
            "(fail-open), 'skip' makes no new entry (fail-closed).",
        },
        "features": {
            "type": "array",
            "items": {"type": "string", "enum": list(FEATURE_SETS)},
            "uniqueItems": True,
            "description": "Feature sets the plugin adds after the strategy's "
            "populate_indicators: 'market' (the market pair's 1-day and 7-day return and 1-day "
            "volatility, from its 1h candles), 'pair' (the pair as a categorical input), "
            "'time' (hour of day and weekend), 'ta' (nine TA-Lib indicators of the pair). "
            "Columns of your own whose names start with 'fb_' are features too.",
        },
        "market_pair": {
            "type": ["string", "null"],
            "minLength": 3,
            "description": "The pair whose candles describe the market for the 'market' "
            "features. null: BTC quoted in the stake currency (BTC/USDT; BTC/USDT:USDT in "
            "futures).",
        },
        "feature_columns": {
            "type": ["array", "null"],
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
            "minItems": 1,
            "description": "Dataframe columns the learner reads. null: every column whose name "
            "starts with 'fb_'.",
        },
        "guard": _GUARD,
        "ledger_url": {
            "type": ["string", "null"],
            "minLength": 1,
            "description": "SQLAlchemy URL of the ledger that records every signal, decision, "
            "outcome, learning step, guard event and checkpoint in dry-run and live. null: a "
            "SQLite file user_data/feedback/<strategy>/ledger.sqlite. Several bots may share "
            "one PostgreSQL database, e.g. 'postgresql+psycopg://user:pw@host/feedback'.",
        },
        "checkpoint_every": {
            "type": "integer",
            "minimum": 1,
            "description": "Learned outcomes between two checkpoints of the whole loop in "
            "dry-run and live. Outcomes learned after the last checkpoint are learned again "
            "from the ledger at restart, so a smaller value only makes restarts faster.",
        },
        "checkpoints_keep": {
            "type": "integer",
            "minimum": 1,
            "description": "Checkpoint files kept; older ones are deleted. A corrupted latest "
            "checkpoint falls back to the one before it.",
        },
        "seed": {
            "type": "integer",
            "minimum": 0,
            "description": "Seed of the exploration coin flips and of randomised learners.",
        },
    },
}


def _json(value: Any) -> Any:
    """A settings value as JSON would write it: a nested settings block as the empty object
    that gives its own defaults, a mapping as a dict, a tuple as a list."""
    if dataclasses.is_dataclass(value):
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    return list(value) if isinstance(value, tuple) else value


def _with_defaults(schema: Mapping[str, Any], defaults: object) -> dict[str, Any]:
    """``schema`` with each property's ``"default"`` read from the settings ``defaults``
    (nested blocks too).

    >>> _with_defaults({"properties": {"seed": {"type": "integer"}}}, FeedbackSettings())
    {'properties': {'seed': {'type': 'integer', 'default': 0}}}
    """
    properties = {}
    for name, prop in schema["properties"].items():
        value = getattr(defaults, name)
        if dataclasses.is_dataclass(value):
            prop = _with_defaults(prop, value)
        properties[name] = {**prop, "default": _json(value)}
    return {**schema, "properties": properties}


SCHEMA: Final[dict[str, Any]] = _with_defaults(_FEEDBACK, FeedbackSettings())
"""The schema with its defaults: what the config is validated against and the docs show."""
