"""The ledger: the durable record of signals, decisions, outcomes, learning and checkpoints.

One concept per module: ``tables`` (the ORM rows), ``engine`` (connecting, SQLite settings,
one-line storage errors), ``schema`` (versions and migrations), ``unit_of_work`` (one commit
for several writes), ``queries`` (reads), ``export`` (CSV and Parquet), ``ledger`` (the
``Ledger`` API) and ``checkpoint_store`` (model snapshots the ledger vouches for).

>>> from freqtrade_feedback import ledger
>>> with ledger.Ledger("sqlite://") as store:
...     store.counts()["outcomes"]
0
"""

from __future__ import annotations

from freqtrade_feedback.ledger.checkpoint_store import CheckpointStore, Restored
from freqtrade_feedback.ledger.engine import default_url, strategy_folder
from freqtrade_feedback.ledger.ledger import Ledger
from freqtrade_feedback.ledger.records import Checkpoint, LearnStep, realized_key, shadow_key
from freqtrade_feedback.ledger.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Checkpoint",
    "CheckpointStore",
    "LearnStep",
    "Ledger",
    "Restored",
    "default_url",
    "realized_key",
    "shadow_key",
    "strategy_folder",
]
