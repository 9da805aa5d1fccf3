"""freqtrade-feedback: a river learner, fed by a Freqtrade bot's own closed trades, that
decides which of the strategy's entry signals to take.

The core (loop, learner, labels, features, config, lab) never imports Freqtrade. The adapter
classes ``FeedbackMixin`` and ``FeedbackStrategy`` do, so they are loaded on first access:
``from freqtrade_feedback import FeedbackMixin`` works in a strategy file, and
``import freqtrade_feedback`` stays free of Freqtrade in the lab and in tests.
"""

from __future__ import annotations

from typing import Any

from freqtrade_feedback.config import FeedbackSettings, load_settings
from freqtrade_feedback.exceptions import ConfigError, FeatureError, FeedbackError
from freqtrade_feedback.labels import LearnStatus, RealizedOutcome
from freqtrade_feedback.learner import OnlineLearner
from freqtrade_feedback.loop import Decision, DecisionReason, FeedbackLoop, Signal

__version__ = "0.1.0"

_ADAPTER = ("FeedbackMixin", "FeedbackStrategy")


def __getattr__(name: str) -> Any:
    if name in _ADAPTER:
        from freqtrade_feedback import strategy

        return getattr(strategy, name)
    raise AttributeError(f"module 'freqtrade_feedback' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "Decision",
    "DecisionReason",
    "FeatureError",
    "FeedbackError",
    "FeedbackLoop",
    "FeedbackMixin",
    "FeedbackSettings",
    "FeedbackStrategy",
    "LearnStatus",
    "OnlineLearner",
    "RealizedOutcome",
    "Signal",
    "load_settings",
]
