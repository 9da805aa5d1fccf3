"""The errors freqtrade-feedback raises, grouped by how a caller handles them.

```text
FeedbackError
├── ConfigError(FeedbackError, ValueError)   user must edit the config; the bot stops, CLI exit 2
├── FeatureError(FeedbackError, ValueError)  the strategy does not produce a declared feature
│                                            column; the bot stops at start, CLI exit 2
└── InvalidTransition(FeedbackError, RuntimeError)  a guard trigger that is not allowed in
                                             the current state (guard/states.py): a bug
```

The core raises; only the Freqtrade adapter and the CLI catch. Inside trading callbacks the
adapter catches everything, logs once and applies the configured fallback, because Freqtrade
would otherwise take the trade silently.
"""

from __future__ import annotations


class FeedbackError(Exception):
    """Base of every error raised by freqtrade-feedback."""


class ConfigError(FeedbackError, ValueError):
    """The ``feedback`` section of the config is invalid. The message names the key and the fix."""


class FeatureError(FeedbackError, ValueError):
    """A feature column the learner needs is missing from the strategy's dataframe."""


__all__ = ["ConfigError", "FeatureError", "FeedbackError"]
