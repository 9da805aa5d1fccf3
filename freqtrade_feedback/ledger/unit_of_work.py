"""One commit for several ledger writes: the unit of work behind ``Ledger.transaction()``.

Exactly-once learning needs "outcome recorded", "outcome learned" and "checkpoint taken" to
be committed together or not at all. Every ledger write runs inside a unit of work: its own
when called alone, or the caller's when called inside ``with ledger.transaction():``. The
active session is kept per thread, so an operator command reading from another thread never
joins (or sees) the bot's uncommitted writes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from freqtrade_feedback.ledger.engine import storage_errors


class UnitOfWork:
    """Sessions of one engine; nested transactions join the outermost one.

    Parameters
    ----------
    engine
        The ledger's engine.
    where
        What error messages call the ledger (``"the ledger <file or URL>"``).

    Examples
    --------
    >>> from sqlalchemy import text
    >>> from freqtrade_feedback.ledger.engine import make_engine
    >>> uow = UnitOfWork(make_engine("sqlite://"), "the ledger in memory")
    >>> with uow.write("create") as session:
    ...     _ = session.execute(text("CREATE TABLE t (x INTEGER)"))
    >>> with uow.transaction():
    ...     with uow.write("insert") as session:
    ...         _ = session.execute(text("INSERT INTO t VALUES (1)"))
    ...     uow.after_commit(lambda: print("committed"))
    committed
    """

    def __init__(self, engine: Engine, where: str) -> None:
        self.engine = engine
        self.where = where
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._local = threading.local()

    @property
    def active(self) -> Session | None:
        """This thread's open session, if a transaction is under way."""
        return getattr(self._local, "session", None)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit everything written inside the block at once, or nothing if it raises."""
        if self.active is not None:
            yield
            return
        session = self._sessions()
        self._local.session, self._local.after = session, []
        try:
            with storage_errors(self.where, "begin a transaction"):
                session.begin()
            yield
            with storage_errors(self.where, "commit"):
                session.commit()
            callbacks = self._local.after
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            self._local.session = self._local.after = None
        for callback in callbacks:
            callback()

    @contextlib.contextmanager
    def write(self, action: str) -> Iterator[Session]:
        """The session to write with; a storage failure becomes a ``LedgerError`` on ``action``."""
        with storage_errors(self.where, action), self.transaction():
            yield self.active  # type: ignore[misc]

    @contextlib.contextmanager
    def read(self, action: str) -> Iterator[Session]:
        """A session that sees this thread's uncommitted writes too; never commits."""
        active = self.active
        with storage_errors(self.where, action):
            if active is not None:
                yield active
                return
            with self._sessions() as session:
                yield session

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the outermost transaction commits (now, outside of one).

        For side effects outside the database that must not happen if the commit does not,
        such as deleting the files of pruned checkpoints.
        """
        if self.active is None:
            callback()
        else:
            self._local.after.append(callback)


__all__ = ["UnitOfWork"]
