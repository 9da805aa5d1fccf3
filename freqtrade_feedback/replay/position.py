"""Where a replay stopped: the last candle it fully processed, kept in the bot's own database.

The position lives in Freqtrade's ``KeyValueStore`` table of the replay's trade database,
not in a file beside it, because:

- it is the same file as the trades it describes, so the two cannot drift apart: deleting or
  swapping the database resets the position with it, and copying it carries the position;
- every write is one SQLite transaction (``KeyValueStore.store_value`` commits), so a crash
  leaves either the old or the new position, never a torn one;
- it works for any SQLAlchemy URL Freqtrade accepts, with no second storage to configure.

The position is written after the candle's last ``process()`` has committed the trades. A
crash between those two commits replays that candle once more on restart, which is what a
live bot restarted mid-candle does too (it sees the same closed candles again).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from freqtrade.persistence import KeyValueStore, init_db

POSITION_KEY: Final = "freqtrade_feedback_replay_last_candle"
"""KeyValueStore key (under Freqtrade's 50-character limit) of the last processed candle."""


def read_position(db_url: str) -> datetime | None:
    """Open time of the last candle a previous replay fully processed on ``db_url``, if any.

    Initialises Freqtrade's (process-global) database session on ``db_url``; the bot
    initialises it again when it starts, on the same URL.
    """
    init_db(db_url)
    value = KeyValueStore.get_datetime_value(POSITION_KEY)  # type: ignore[arg-type]
    return value.astimezone(UTC) if value is not None else None


def write_position(candle_open: datetime) -> None:
    """Record ``candle_open`` as fully processed (needs the bot's database session)."""
    # Stored naive in UTC, as Freqtrade stores every datetime; read back as aware UTC.
    KeyValueStore.store_value(
        POSITION_KEY, candle_open.astimezone(UTC).replace(tzinfo=None)  # type: ignore[arg-type]
    )
