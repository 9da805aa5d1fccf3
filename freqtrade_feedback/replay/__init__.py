"""Drive Freqtrade's real dry-run bot through historic candles, offline and resumable
(Freqtrade glue: imports ``freqtrade``).

- ``market``: the exchange's network methods served from a candle folder at simulated time.
- ``position``: where a replay stopped, in the bot's own database.
- ``run``: ``run_replay()``, the driver.
"""

from __future__ import annotations

from freqtrade_feedback.replay.run import ReplayResult, run_replay

__all__ = ["ReplayResult", "run_replay"]
