"""Connecting to the ledger's database, and turning storage failures into one-line errors.

Any SQLAlchemy URL works; the default is one SQLite file per strategy. On PostgreSQL each
strategy's ledger is a schema of its own, named after the strategy (:func:`ledger_url`), so
the bots of several strategies share one database without seeing each other's rows; a bare
``postgresql://`` URL (Freqtrade's ``db_url`` style) runs on psycopg 3, the driver of the
``postgres`` extra. SQLite files run in
WAL mode with ``synchronous=NORMAL``: readers (an operator command) never block the bot's
writes, and a commit survives a crash of the process (only a power cut may lose the last
commits, never corrupt the file). pysqlite's own transaction handling is switched off and
``BEGIN`` is emitted explicitly, as SQLAlchemy's documentation recommends, so that DDL is
transactional (a failed migration leaves nothing) and savepoints work.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from sqlalchemy import URL, Engine, create_engine, event, exc, make_url
from sqlalchemy.pool import StaticPool

from freqtrade_feedback.exceptions import LedgerError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
LEDGER_FILE = "ledger.sqlite"
"""The default ledger's file name inside the strategy's folder."""
POSTGRES_EXTRA = "pip install 'freqtrade-feedback[postgres]'"
"""What installs the PostgreSQL driver (psycopg 3) a ``postgresql://`` ledger needs."""


def strategy_folder(user_data_dir: str | Path, strategy_name: str) -> Path:
    """``<user_data_dir>/feedback/<strategy_name>``, created owner-only when missing.

    One folder per strategy, next to Freqtrade's own data, so two strategies never mix their
    outcomes or checkpoints. Characters that are not safe in a file name become ``_``.

    >>> import tempfile
    >>> strategy_folder(tempfile.mkdtemp(), "My Strategy").name
    'My_Strategy'
    """
    folder = strategy_path(user_data_dir, strategy_name)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def strategy_path(user_data_dir: str | Path, strategy_name: str) -> Path:
    """Where :func:`strategy_folder` is, without creating it (for commands that only read).

    >>> strategy_path("user_data", "My Strategy").as_posix()
    'user_data/feedback/My_Strategy'
    """
    return Path(user_data_dir) / "feedback" / (_UNSAFE.sub("_", strategy_name) or "_")


def ledger_url(configured: str | None, user_data_dir: str | Path, strategy_name: str, *,
               create: bool = True) -> str:
    """The ledger of a strategy's bot: ``configured`` (the ``feedback.ledger_url`` setting)
    when set, else the strategy's own SQLite file ``<user_data_dir>/feedback/<strategy>/``
    ``ledger.sqlite``, its folder created unless ``create`` is false (a command that only
    reads must not create it). A PostgreSQL URL is the strategy's schema in that database
    (:func:`in_schema`), unless the URL chooses a ``search_path`` itself.

    The one rule for where the ledger is: the bot writes there, every command reads there.

    >>> ledger_url(None, "user_data", "My Strategy", create=False).endswith(
    ...     "/user_data/feedback/My_Strategy/ledger.sqlite")
    True
    >>> ledger_url("postgresql://bot@db/feedback", "user_data", "S")
    'postgresql://bot@db/feedback?options=-csearch_path%3D%22S%22'
    >>> ledger_url("sqlite:////data/shared.sqlite", "user_data", "S")
    'sqlite:////data/shared.sqlite'
    """
    if configured:
        return in_schema(configured, schema_name(strategy_name))
    folder = (strategy_folder if create else strategy_path)(user_data_dir, strategy_name)
    return f"sqlite:///{(folder / LEDGER_FILE).resolve()}"


def schema_name(strategy_name: str) -> str:
    """The PostgreSQL schema of a strategy's ledger: its name as :func:`strategy_path` spells
    the folder (case kept, unsafe characters as ``_``).

    >>> schema_name("My Strategy"), schema_name("SampleStrategy")
    ('My_Strategy', 'SampleStrategy')
    """
    return _UNSAFE.sub("_", strategy_name) or "_"


def in_schema(url: str, schema: str) -> str:
    """``url`` with PostgreSQL's ``search_path`` set to ``schema`` (libpq's ``options``
    parameter, so the URL stays one any PostgreSQL client reads): every table the ledger
    creates or reads is then in that schema. Other databases, and a URL whose ``options``
    already set a ``search_path``, are returned unchanged.

    Why a schema rather than a column: one ledger keeps one layout whatever the backend,
    every unique key stays the natural one (a signal id is per strategy), and a schema is
    what PostgreSQL grants, backs up (``pg_dump --schema``) and drops as one piece.

    >>> in_schema("postgresql+psycopg://bot@db/ft?options=-cstatement_timeout%3D5000", "S")
    'postgresql+psycopg://bot@db/ft?options=-cstatement_timeout%3D5000+-csearch_path%3D%22S%22'
    >>> in_schema("postgresql://bot@db/ft?options=-csearch_path%3Dmine", "S")
    'postgresql://bot@db/ft?options=-csearch_path%3Dmine'
    """
    try:
        parsed = make_url(url)
    except exc.ArgumentError:  # Ledger() says what is wrong with it
        return url
    if parsed.get_backend_name() != "postgresql":
        return url
    given = parsed.query.get("options", "")
    options = " ".join(given) if isinstance(given, tuple) else given
    if "search_path" in options:
        return url
    options = f'{options} -csearch_path="{schema}"'.strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def default_url(user_data_dir: str | Path, strategy_name: str) -> str:
    """The SQLite file ``<user_data_dir>/feedback/<strategy_name>/ledger.sqlite``, folder created.

    >>> import tempfile
    >>> url = default_url(tempfile.mkdtemp(), "My Strategy")
    >>> url.startswith("sqlite:///"), url.endswith("/feedback/My_Strategy/ledger.sqlite")
    (True, True)
    """
    return ledger_url(None, user_data_dir, strategy_name)


def sqlite_file(url: str | URL) -> Path | None:
    """The absolute file of an SQLite URL; ``None`` for another database or one in memory.

    >>> sqlite_file("sqlite:////data/ledger.sqlite"), sqlite_file("sqlite://")
    (PosixPath('/data/ledger.sqlite'), None)
    >>> sqlite_file("sqlite:///file:/data/ledger.sqlite?mode=ro&uri=true")
    PosixPath('/data/ledger.sqlite')
    >>> sqlite_file("postgresql://bot@db/feedback") is None
    True
    """
    parsed = make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or name in ("", ":memory:"):
        return None
    return Path(name.removeprefix("file:")).resolve()


def describe(url: str | URL) -> str:
    """What a message calls the ledger: the file of an SQLite URL, else the URL, no password
    (its query readable: the schema a PostgreSQL ledger is in shows as ``search_path="S"``).

    >>> describe("sqlite:////data/ledger.sqlite"), describe("sqlite://")
    ('/data/ledger.sqlite', 'sqlite:// (in memory)')
    >>> describe("postgresql://bot:secret@db/feedback")
    'postgresql://bot:***@db/feedback'
    >>> describe("postgresql://bot:secret@db/ft?options=-csearch_path%3D%22S%22")
    'postgresql://bot:***@db/ft?options=-csearch_path="S"'
    """
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        name = url.database or ""
        if name in ("", ":memory:"):
            return "sqlite:// (in memory)"
        return name.removeprefix("file:")
    shown = url.render_as_string(hide_password=True)
    base, query = shown.partition("?")[::2]
    return f"{base}?{unquote_plus(query)}" if query else base


def with_driver(url: URL) -> URL:
    """A bare ``postgresql://`` URL on psycopg 3, the ``postgres`` extra's driver (SQLAlchemy
    2.0 would pick psycopg2, which we neither test nor install); other URLs as they are.
    Freqtrade's own ``db_url`` examples use the same driver, so its URL style pastes here.

    >>> with_driver(make_url("postgresql://bot@db/ft")).drivername
    'postgresql+psycopg'
    >>> with_driver(make_url("postgresql+psycopg2://bot@db/ft")).drivername
    'postgresql+psycopg2'
    """
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


def _is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _sqlite_setup(engine: Engine, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN below
        if not memory:
            cursor = dbapi_connection.cursor()
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def make_engine(url: str | URL) -> Engine:
    """An engine for ``url``; an in-memory SQLite database is one connection shared by all.

    >>> make_engine("sqlite://").url.get_backend_name()
    'sqlite'
    """
    url = with_driver(make_url(url))
    if url.get_backend_name() != "sqlite":
        # a connection the server dropped (a restart) is replaced at its next use
        return create_engine(url, pool_pre_ping=True)
    memory = _is_sqlite_memory(url)
    if memory:
        engine = create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = create_engine(url)
    _sqlite_setup(engine, memory)
    return engine


def cause(error: BaseException) -> str:
    """The driver's own message on one line, without SQLAlchemy's SQL echo and help link.

    >>> cause(OSError(28, "No space left on device"))
    'OSError: [Errno 28] No space left on device'
    """
    inner = error.orig if isinstance(error, exc.DBAPIError) and error.orig else error
    text = " ".join(str(inner).split())
    return f"{type(inner).__name__}: {text}"


@contextlib.contextmanager
def storage_errors(where: str, action: str) -> Iterator[None]:
    """Re-raise a database or file-system failure as :class:`LedgerError` naming ``where``
    (``"the ledger <file>"``, ``"the checkpoint folder <folder>"``).

    The caller applies its fail-open or fail-closed policy to one exception type, instead of
    catching every driver's and the operating system's.

    >>> with storage_errors("the ledger /data/ledger.sqlite", "record an outcome"):
    ...     raise OSError(30, "Read-only file system")
    Traceback (most recent call last):
    ...
    freqtrade_feedback.exceptions.LedgerError: Could not record an outcome in the ledger
    /data/ledger.sqlite: OSError: [Errno 30] Read-only file system
    """
    try:
        yield
    except (exc.SQLAlchemyError, OSError) as error:
        raise LedgerError(
            f"Could not {action} in {where}: {cause(error)}"
        ) from error


__all__ = [
    "LEDGER_FILE", "POSTGRES_EXTRA", "cause", "default_url", "describe", "in_schema",
    "ledger_url", "make_engine", "schema_name", "sqlite_file", "storage_errors",
    "strategy_folder", "strategy_path", "with_driver",
]
