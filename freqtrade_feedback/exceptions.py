"""The errors freqtrade-feedback raises, grouped by how a caller handles them.

```text
FeedbackError
├── ConfigError(FeedbackError, ValueError)   user must edit the config; the bot stops, CLI exit 2
├── FeatureError(FeedbackError, ValueError)  the strategy does not produce a declared feature
│                                            column; the bot stops at start, CLI exit 2
├── LedgerError(FeedbackError)              the ledger or a checkpoint cannot be read or
│                                            written (read-only, disk full, database gone,
│                                            not a ledger, a newer schema); the caller keeps
│                                            trading or stops by its fail-open/closed policy,
│                                            CLI exit 1
└── InvalidTransition(FeedbackError, RuntimeError)  a guard trigger that is not allowed in
                                             the current state (guard/states.py): a bug
```

The core raises; only the Freqtrade adapter and the CLI catch. Inside trading callbacks the
adapter catches everything, logs once and applies the configured fallback, because Freqtrade
would otherwise take the trade silently.

A bad argument to a function or method (a NaN loss passed to a detector's ``update``, an
unknown policy name) is the caller's bug, not a condition to handle: it raises ``ValueError``
or ``TypeError`` as Python's own functions do, not a ``FeedbackError``. A bad constructor
argument is a setting, so it raises ``ConfigError``, which is a ``ValueError`` too.
"""

from __future__ import annotations


class FeedbackError(Exception):
    """Base of the errors freqtrade-feedback raises for a condition its caller handles (a bad
    setting, a missing feature column, storage, a guard move not allowed); a bad argument
    raises ``ValueError`` or ``TypeError`` instead (see the module docstring)."""


class ConfigError(FeedbackError, ValueError):
    """The ``feedback`` section of the config is invalid. The message names the key and the fix."""


class FeatureError(FeedbackError, ValueError):
    """A feature column the learner needs is missing from the strategy's dataframe."""


class LedgerError(FeedbackError):
    """The ledger cannot be opened, read or written. The message names the database or file
    and the underlying cause on one line, and says the fix when there is one.

    A storage problem, not a market condition: the adapter decides whether to keep trading
    without learning (fail-open) or to stop (fail-closed); the CLI exits 1.
    """


__all__ = ["ConfigError", "FeatureError", "FeedbackError", "LedgerError"]
