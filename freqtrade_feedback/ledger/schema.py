"""The ledger's schema version: create a new ledger, migrate an old one, refuse the rest.

A ledger records its ``schema_version`` in the ``feedback_meta`` table. Opening one:

- an empty database gets every table and the current version;
- the current version is used as is (a read-only copy opens too);
- an older version is migrated one version at a time by the functions in :data:`MIGRATIONS`,
  inside the same transaction as the version stamp, so a failed migration leaves the file as
  it was;
- a newer version is refused (this code would misread it), as is a database that is not a
  ledger (a Freqtrade ``tradesv3.sqlite``, a text file): refusing is cheaper than a ledger
  silently written into someone else's tables.

On PostgreSQL the ledger is the schema its URL's ``search_path`` names first (a strategy's
own, see :func:`~freqtrade_feedback.ledger.engine.ledger_url`); a missing one is created
with the tables, so the role needs ``CREATE`` on the database, or the schema made for it.

Each migration is a small function of a connection, registered under the version it starts
from (plain, reviewed SQL; freqtrade's 482 lines of string migrations show why there is one
function per step and a test per function).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Final

from sqlalchemy import Connection, Engine, exc, inspect, select, text

from freqtrade_feedback.exceptions import LedgerError
from freqtrade_feedback.ledger.engine import describe, make_engine, sqlite_file, storage_errors
from freqtrade_feedback.ledger.tables import Base, MetaRow

logger = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 4
"""The version this code reads and writes."""

V2_COLUMNS: Final = {
    "feedback_decisions": {"expected_profit": "FLOAT", "edge_error": "FLOAT",
                           "win_size": "FLOAT", "loss_size": "FLOAT"},
    "feedback_shadows": {"weight": "FLOAT NOT NULL DEFAULT 1.0"},
}
"""Version 2: the expected-profit rule's estimate on each decision, and the weight of a shadow
outcome (a skipped signal is learned from it)."""
V3_COLUMNS: Final = {"feedback_decisions": {"execution_cost": "FLOAT"}}
"""Version 3: the execution cost the gate charged in a decision's expected profit (the guard
froze on evidence of our own impact)."""
V4_WIDER: Final = {"feedback_outcomes": {"exit_reason": "VARCHAR(255)"}}
"""Version 4: an exit reason as long as Freqtrade allows (255 characters, a custom exit's
text; it was 64, which SQLite never enforced and PostgreSQL refused)."""


def _adding(added: dict[str, dict[str, str]]) -> Callable[[Connection], None]:
    """A migration that adds the columns of ``added`` that are missing (plain ``ALTER TABLE``:
    SQLite and PostgreSQL both add a nullable or defaulted column in place)."""

    def migrate(conn: Connection) -> None:
        for table, columns in added.items():
            present = {c["name"] for c in inspect(conn).get_columns(table)}
            for name, kind in columns.items():
                if name not in present:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))

    return migrate


def _widening(wider: dict[str, dict[str, str]]) -> Callable[[Connection], None]:
    """A migration that widens the columns of ``wider`` where lengths are enforced: SQLite
    ignores a ``VARCHAR``'s length (and cannot alter a column), so there it changes nothing."""

    def migrate(conn: Connection) -> None:
        if conn.dialect.name == "sqlite":
            return
        for table, columns in wider.items():
            for name, kind in columns.items():
                conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {name} TYPE {kind}"))

    return migrate


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _adding(V2_COLUMNS),
    2: _adding(V3_COLUMNS),
    3: _widening(V4_WIDER),
}
"""``from_version -> migrate(connection)``: brings a ledger from that version to the next.

A test may register a fake step (``monkeypatch.setitem``).
"""

_VERSION_KEY: Final = "schema_version"
_FIX: Final = "Point 'ledger_url' at a new file or an empty database, or move this one aside."


def _not_a_ledger(where: str, why: str) -> LedgerError:
    return LedgerError(f"{where} is not a freqtrade-feedback ledger: {why}. {_FIX}")


def _first_in_path(search_path: str) -> str | None:
    """The first schema a ``search_path`` setting names (``"$user"`` skipped), unquoted as
    PostgreSQL reads it: a quoted name as written, a bare one in lower case.

    >>> _first_in_path('"My.Strat", public'), _first_in_path('"$user", Feedback')
    ('My.Strat', 'feedback')
    >>> _first_in_path('"$user"') is None
    True
    """
    for quoted, bare in re.findall(r'\s*(?:"((?:[^"]|"")*)"|([^,\s]+))\s*,?', search_path):
        name = quoted.replace('""', '"') if quoted else bare.lower()
        if name != "$user":
            return name
    return None


def _create_schema(conn: Connection) -> None:
    """PostgreSQL: create the schema the connection's ``search_path`` names first when none
    of its schemas exists (a strategy's first start), so the tables land in it."""
    if conn.dialect.name != "postgresql":
        return
    if conn.execute(text("SELECT current_schema()")).scalar() is not None:
        return
    name = _first_in_path(conn.execute(text("SHOW search_path")).scalar() or "")
    if name is not None:
        quoted = conn.dialect.identifier_preparer.quote_identifier(name)
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))


def ledger_exists(url: str) -> bool:
    """Whether ``url`` holds a ledger, without creating one: an SQLite file that exists, or a
    database whose search path shows the ``feedback_meta`` table (on PostgreSQL, a strategy's
    schema that its bot made). Commands that only read must not make an empty ledger where
    the bot never ran."""
    path = sqlite_file(url)
    if path is not None:
        return path.is_file()
    engine = make_engine(url)
    try:
        with storage_errors(describe(url), "look for the ledger"), engine.connect() as conn:
            return inspect(conn).has_table(MetaRow.__tablename__)
    finally:
        engine.dispose()


def _stored_version(conn: Connection, where: str) -> int | None:
    """The file's schema version; ``None`` for an empty database (a new ledger)."""
    tables = set(inspect(conn).get_table_names())
    if not tables:
        return None
    if MetaRow.__tablename__ not in tables:
        shown = ", ".join(sorted(tables)[:5])
        raise _not_a_ledger(where, f"it has other tables ({shown}) and no feedback_meta table")
    value = conn.execute(select(MetaRow.value).where(MetaRow.key == _VERSION_KEY)).scalar()
    if value is None or not value.isdigit():
        raise _not_a_ledger(where, f"its feedback_meta table has no valid schema_version "
                                   f"(found {value!r})")
    return int(value)


def _migrate(conn: Connection, where: str, version: int) -> None:
    for step in range(version, SCHEMA_VERSION):
        migrate = MIGRATIONS.get(step)
        if migrate is None:
            raise LedgerError(
                f"The ledger {where} has schema version {version}, and no migration from "
                f"version {step} to {step + 1} exists. Move the file aside to start a new ledger."
            )
        logger.info("Migrating the ledger %s from schema version %d to %d.", where, step, step + 1)
        migrate(conn)


def _stamp(conn: Connection) -> None:
    conn.execute(MetaRow.__table__.delete().where(MetaRow.key == _VERSION_KEY))
    conn.execute(MetaRow.__table__.insert().values(key=_VERSION_KEY, value=str(SCHEMA_VERSION)))


def prepare(engine: Engine, where: str) -> int | None:
    """Create, migrate or accept the ledger behind ``engine``; the version it had before.

    ``None`` means the database was empty and is now a new ledger. Raises
    :class:`LedgerError` naming ``where`` for a newer version or a database that is not a
    ledger, and for any storage failure on the way.
    """
    with storage_errors(f"the ledger {where}", "open the schema"):
        try:
            with engine.begin() as conn:
                return _upgrade(conn, where)
        except exc.DatabaseError as error:
            if type(error) is not exc.DatabaseError or engine.dialect.name != "sqlite":
                raise  # locked, read-only, constraint, a server's own error...
            # only the base class is SQLite's "file is not a database"
            raise _not_a_ledger(where, f"it is not a database ({error.orig})") from error


def _upgrade(conn: Connection, where: str) -> int | None:
    """Create, migrate or accept, inside the caller's transaction; the version found."""
    _create_schema(conn)
    version = _stored_version(conn, where)
    if version is not None and version > SCHEMA_VERSION:
        raise LedgerError(
            f"The ledger {where} has schema version {version}, and this freqtrade-feedback "
            f"supports version {SCHEMA_VERSION} at most: a newer release wrote it. Upgrade "
            f"freqtrade-feedback (pip install -U freqtrade-feedback), or move the file aside "
            f"to start a new ledger."
        )
    if version is not None and version < SCHEMA_VERSION:
        _migrate(conn, where, version)
    if version != SCHEMA_VERSION:
        Base.metadata.create_all(conn)
        _stamp(conn)
    return version


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "ledger_exists", "prepare"]
