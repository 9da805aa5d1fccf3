"""Typed, frozen settings of the feedback loop: what the rest of the code reads instead of dicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from freqtrade_feedback.typing import Fallback, Labels, Rule, Scope

FEATURE_SETS = ("market", "pair", "time", "ta")
"""The feature sets the plugin can add (``features``): the market's state (the market pair's
returns and volatility), the pair itself (a categorical input), the time of day and week, and
nine generic TA-Lib indicators of the pair."""


@dataclass(frozen=True)
class GuardSettings:
    """The ``"guard"`` block of the ``"feedback"`` section, validated."""

    enabled: bool = True
    holdout_share: float = 0.0
    holdout_stake: float = 0.5
    frozen_policy: str = "champion"
    alpha: float = 0.01
    suspect_dwell: int = 20
    cooldown: int = 50
    probation: int = 50
    shadow_max_candles: int = 8640


@dataclass(frozen=True)
class FeedbackSettings:
    """The ``"feedback"`` section of a Freqtrade config, validated.

    Defaults equal the schema's (a contract test checks it), so a loop built in Python behaves
    like one configured by an empty section.

    Examples
    --------
    >>> FeedbackSettings(threshold=0.55).threshold
    0.55
    """

    enabled: bool = True
    learner: str = "logistic"
    learner_params: Mapping[str, Any] = field(default_factory=dict)
    rule: Rule = "expected_profit"
    min_edge: float = 0.0
    skip_confidence: float = 1.0
    threshold: float = 0.5
    min_outcomes: int = 30
    min_profit: float = 0.0
    explore_share: float = 0.05
    labels: Labels = "all"
    scope: Scope = "global"
    sample_weight: str = "uniform"
    stake_scaling: bool = False
    stake_factor_min: float = 0.5
    stake_factor_max: float = 1.5
    fallback: Fallback = "take"
    features: tuple[str, ...] = ("market",)
    market_pair: str | None = None
    feature_columns: tuple[str, ...] | None = None
    guard: GuardSettings = field(default_factory=GuardSettings)
    ledger_url: str | None = None
    checkpoint_every: int = 50
    checkpoints_keep: int = 3
    seed: int = 0

    @property
    def guarded(self) -> bool:
        """Whether a guard runs: the feedback loop is on and so is its guard (the guard is on
        by default, and means nothing for a strategy whose gate is off).

        >>> FeedbackSettings().guarded, FeedbackSettings(enabled=False).guarded
        (True, False)
        """
        return self.enabled and self.guard.enabled
