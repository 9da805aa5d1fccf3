"""Where a replay stopped, and whose trade database it is: both kept in the database itself.

The position (the last candle the replay fully processed) lives in Freqtrade's
``KeyValueStore`` table of the replay's trade database, not in a file beside it, because:

- it is the same file as the trades it describes, so the two cannot drift apart: deleting or
  swapping the database resets the position with it, and copying it carries the position;
- every write is one SQLite transaction (``KeyValueStore.store_value`` commits), so a crash
  leaves either the old or the new position, never a torn one;
- it works for any SQLAlchemy URL Freqtrade accepts, with no second storage to configure.

The position is written after the candle's last ``process()`` has committed the trades. A
crash between those two commits replays that candle once more on restart, which is what a
live bot restarted mid-candle does too (it sees the same closed candles again).

A replay runs on the trade database the config names (see :mod:`freqtrade_feedback.bot`),
which may be a real bot's. So a new database is marked as a replay's before its bot first
starts, and a database some other bot has used (it holds trades, or Freqtrade's start time)
is refused: simulated trades must never land among a real bot's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from freqtrade.exceptions import OperationalException
from freqtrade.persistence import KeyValueStore, Trade, init_db
from sqlalchemy import select

from freqtrade_feedback.ledger.engine import describe

POSITION_KEY: Final = "freqtrade_feedback_replay_last_candle"
"""KeyValueStore key (under Freqtrade's 50-character limit) of the last processed candle."""
MARK_KEY: Final = "freqtrade_feedback_replay"
"""KeyValueStore key that marks a trade database as a replay's."""


def open_database(db_url: str) -> bool:
    """Open ``db_url`` as Freqtrade's (process-global) database session; ``True`` when a
    replay has used it before, ``False`` when it is new (nothing has used it yet).

    Raises
    ------
    OperationalException
        A bot that is not a replay has used the database: it holds that bot's trades.
    """
    init_db(db_url)
    if any(KeyValueStore.get_value(key) is not None  # type: ignore[arg-type]
           for key in (MARK_KEY, POSITION_KEY)):
        return True
    if (KeyValueStore.get_value("bot_start_time") is not None
            or Trade.session.scalar(select(Trade.id).limit(1)) is not None):
        raise OperationalException(
            f"The trade database {describe(db_url)} belongs to a bot that is not a replay: a "
            f"replay must not add simulated trades to it. Give the replay a database of its "
            f"own: --db-url, or a config with its own db_url (and ledger)."
        )
    return False


def mark_database() -> None:
    """Mark the open database as a replay's (before its bot first starts)."""
    KeyValueStore.store_value(MARK_KEY, "freqtrade-feedback replay")  # type: ignore[arg-type]


def read_position() -> datetime | None:
    """Open time of the last candle a previous replay fully processed on the open database."""
    value = KeyValueStore.get_datetime_value(POSITION_KEY)  # type: ignore[arg-type]
    return value.astimezone(UTC) if value is not None else None


def write_position(candle_open: datetime) -> None:
    """Record ``candle_open`` as fully processed (needs the bot's database session)."""
    # Stored naive in UTC, as Freqtrade stores every datetime; read back as aware UTC.
    KeyValueStore.store_value(
        POSITION_KEY, candle_open.astimezone(UTC).replace(tzinfo=None)  # type: ignore[arg-type]
    )
