"""Run Freqtrade's own commands without the network (Freqtrade glue: imports ``freqtrade``).

Freqtrade loads the exchange's market list over the network before it will even backtest.
This subpackage supplies that list from disk instead: a snapshot saved while online
(``<user_data_dir>/markets/<exchange>.json``), or, failing that, markets derived from the
candle files in the data folder with conservative precision. :func:`install` patches only the
two ``Exchange`` methods that need the network at startup; everything else is real Freqtrade.

- ``markets``: derive, save, load and fetch market lists.
- ``patch``: ``install()`` / ``uninstall()``.
"""

from __future__ import annotations

from freqtrade_feedback.offline.markets import (
    derive_markets,
    fetch_markets,
    load_snapshot,
    save_snapshot,
    snapshot_path,
)
from freqtrade_feedback.offline.patch import install, is_installed, offline_markets, uninstall

__all__ = [
    "derive_markets",
    "fetch_markets",
    "install",
    "is_installed",
    "load_snapshot",
    "offline_markets",
    "save_snapshot",
    "snapshot_path",
    "uninstall",
]
