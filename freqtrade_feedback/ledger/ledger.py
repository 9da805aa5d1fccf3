"""The ledger: the durable, append-only record of what the gate saw, decided and learned.

The ledger is the source of truth; the learner in memory is a cache that a checkpoint and a
replay of the learning steps after it rebuild. Each write is idempotent on its natural key
(signal id, outcome key), so the same event reported twice, or replayed after a crash, is
recorded once and never raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import URL, Engine, exc, func, select
from sqlalchemy.orm import Session

from freqtrade_feedback.edge import Edge
from freqtrade_feedback.exceptions import LedgerError
from freqtrade_feedback.guard.states import GuardState, Transition, Trigger
from freqtrade_feedback.ledger import queries
from freqtrade_feedback.ledger.engine import (
    POSTGRES_EXTRA,
    describe,
    make_engine,
    storage_errors,
)
from freqtrade_feedback.ledger.export import export_tables
from freqtrade_feedback.ledger.records import Checkpoint, LearnStep
from freqtrade_feedback.ledger.schema import prepare
from freqtrade_feedback.ledger.tables import (
    Base,
    CheckpointRow,
    DecisionRow,
    GuardEventRow,
    LearnStepRow,
    OutcomeRow,
    ShadowRow,
    SignalRow,
    finite_or_none,
    finite_values,
    nan_for_null,
    require_aware,
)
from freqtrade_feedback.ledger.unit_of_work import UnitOfWork
from freqtrade_feedback.loop import Decision, DecisionReason, Signal

if TYPE_CHECKING:
    from freqtrade_feedback.labels import RealizedOutcome, ShadowRecord


def _edge_columns(edge: Edge | None) -> dict[str, float | None]:
    """A decision's expected profit as the decisions table stores it (NULL without one)."""
    if edge is None:
        return {"expected_profit": None, "edge_error": None, "win_size": None, "loss_size": None,
                "execution_cost": None}
    return {"expected_profit": finite_or_none(edge.value), "edge_error": finite_or_none(edge.error),
            "win_size": finite_or_none(edge.win_size), "loss_size": finite_or_none(edge.loss_size),
            "execution_cost": finite_or_none(edge.cost)}


def _edge(row: DecisionRow) -> Edge | None:
    """The expected profit a recorded decision weighed, or ``None``."""
    if row.expected_profit is None:
        return None
    return Edge(row.expected_profit, row.edge_error or 0.0, row.win_size or 0.0,
                row.loss_size or 0.0, row.execution_cost or 0.0)


def _insert_once(session: Session, row: Base, exists: Callable[[], bool]) -> bool:
    """Insert ``row`` unless its key is taken; ``False`` when it was.

    The check comes first (the usual replay path costs no exception); the savepoint catches
    the race where another writer inserted the key in between.
    """
    if exists():
        return False
    try:
        with session.begin_nested():
            session.add(row)
    except exc.IntegrityError:
        if exists():
            return False
        raise
    return True


def _engine(url: str | URL) -> Engine:
    """The engine, or a ``LedgerError`` that says what is wrong with the URL (never echoed
    whole when it does not parse: it may hold a password)."""
    try:
        return make_engine(url)
    except exc.ArgumentError as error:
        raise LedgerError(
            f"The 'ledger_url' setting is not a valid SQLAlchemy URL ({error}). Expected e.g. "
            f"sqlite:////path/to/ledger.sqlite or postgresql+psycopg://user:password@host/db."
        ) from error
    except ImportError as error:
        fix = POSTGRES_EXTRA if error.name == "psycopg" else f"pip install {error.name}"
        raise LedgerError(
            f"The ledger {describe(url)} needs a database driver that is not installed "
            f"({error}): install it in the bot's environment ({fix})."
        ) from error


class Ledger:
    """Signals, decisions, outcomes, learning steps, guard events and checkpoints, on disk.

    Parameters
    ----------
    url
        Any SQLAlchemy URL. ``sqlite://`` (the default) is in memory, for backtests and
        tests; live, :func:`~freqtrade_feedback.ledger.default_url` gives the strategy's file.

    Raises
    ------
    LedgerError
        The database cannot be opened or written, is not a ledger, or has a newer schema.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from freqtrade_feedback.labels import LearnStatus, RealizedOutcome
    >>> from freqtrade_feedback.ledger import realized_key
    >>> ledger = Ledger()
    >>> t = datetime(2024, 1, 1, tzinfo=UTC)
    >>> outcome = RealizedOutcome("BTC/USDT|long|2024-01-01T00:00Z", "BTC/USDT", 0.01, True,
    ...                           1.0, t, "roi", LearnStatus.LEARNED, trade_id=1)
    >>> key = realized_key(1, "exit-1")
    >>> with ledger.transaction():
    ...     ledger.record_outcome(outcome, key=key)
    ...     ledger.mark_learned(key, scope="pair", learner_key="BTC/USDT", now=t, n_learned=1)
    True
    True
    >>> ledger.record_outcome(outcome, key=key)  # reported again: recorded once
    False
    >>> ledger.counts()["outcomes"], ledger.learned_keys()
    (1, {'trade:1:exit-1'})
    """

    def __init__(self, url: str | URL = "sqlite://") -> None:
        self.url = url
        engine = _engine(url)
        self.where = describe(url)
        self._uow = UnitOfWork(engine, f"the ledger {self.where}")
        try:
            prepare(engine, self.where)
        except BaseException:
            engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"Ledger({self.where!r})"

    def close(self) -> None:
        """Close every connection (the file can then be moved or deleted)."""
        self._uow.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- units of work ---------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one commit: all of them are recorded, or none if the block raises.

        Nested blocks join the outermost one. Use it for "outcome recorded, learned and
        checkpointed", so a crash in between cannot leave an outcome learned twice or never.
        """
        with self._uow.transaction():
            yield

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current transaction commits (at once outside of one)."""
        self._uow.after_commit(callback)

    # -- writes ------------------------------------------------------------------------------

    def record_signal(self, signal: Signal) -> bool:
        """Record a signal that reached the gate; ``False`` if its id was recorded before."""
        row = SignalRow(
            signal_id=signal.signal_id, pair=signal.pair,
            candle=require_aware("candle", signal.candle), side=signal.side, tag=signal.tag,
            features=None if signal.features is None else finite_values(signal.features),
        )
        with self._uow.write("record a signal") as s:
            return _insert_once(s, row, lambda: s.get(SignalRow, signal.signal_id) is not None)

    def record_decision(self, decision: Decision) -> bool:
        """Record the gate's decision on a signal; ``False`` if one was recorded before."""
        row = DecisionRow(
            signal_id=decision.signal_id, take=decision.take, reason=decision.reason.value,
            probability=decision.probability, propensity=decision.propensity,
            decided_at=require_aware("decided_at", decision.decided_at),
            trained_on=decision.trained_on,
            **_edge_columns(decision.edge),
        )
        with self._uow.write("record a decision") as s:
            return _insert_once(s, row, lambda: s.get(DecisionRow, decision.signal_id) is not None)

    def record_outcome(self, outcome: RealizedOutcome, *, key: str, reason: str = "") -> bool:
        """Record a realized outcome under ``key`` (see :func:`realized_key`), learned or not.

        ``outcome.status`` says whether it is to be learned and, if not, why; ``reason`` adds
        free text (the detector that froze the guard, say). ``False`` when ``key`` was
        recorded before: the first record stays unchanged.
        """
        row = OutcomeRow(
            key=key, trade_id=outcome.trade_id, signal_id=outcome.signal_id, pair=outcome.pair,
            profit_ratio=finite_or_none(outcome.profit_ratio), win=outcome.win,
            weight=outcome.weight, status=outcome.status.value, exit_reason=outcome.exit_reason,
            reason=reason, closed_at=require_aware("closed_at", outcome.closed_at),
        )
        with self._uow.write(f"record the outcome {key!r}") as s:
            return _insert_once(s, row, lambda: queries.has_key(s, OutcomeRow, key))

    def record_shadow(self, shadow: ShadowRecord, *, key: str, status: str = "recorded") -> bool:
        """Record a shadow outcome under ``key`` (see :func:`shadow_key`).

        ``status`` says what the guard did with it (``"observed"``, or why not). ``False``
        when ``key`` was recorded before.
        """
        row = ShadowRow(
            key=key, signal_id=shadow.signal_id, pair=shadow.pair,
            profit_ratio=finite_or_none(shadow.profit_ratio), win=shadow.win,
            taken=shadow.taken, probability=shadow.probability, status=status,
            released_at=require_aware("observed_at", shadow.observed_at), weight=shadow.weight,
        )
        with self._uow.write(f"record the shadow {key!r}") as s:
            return _insert_once(s, row, lambda: queries.has_key(s, ShadowRow, key))

    def mark_learned(
        self, key: str, *, scope: str, learner_key: str, now: datetime, n_learned: int
    ) -> bool:
        """Record that the learner ``(scope, learner_key)`` learned the outcome ``key``.

        ``n_learned`` is that learner's count after learning it. ``False`` if ``key`` was
        learned before: the caller must then not learn it again. The outcome must have been
        recorded first (in the same transaction is fine).
        """
        row = LearnStepRow(
            outcome_key=key, scope=scope, learner_key=learner_key,
            learned_at=require_aware("now", now), n_learned=n_learned,
        )
        with self._uow.write(f"mark the outcome {key!r} learned") as s:
            if not (queries.has_key(s, OutcomeRow, key) or queries.has_key(s, ShadowRow, key)):
                raise LedgerError(
                    f"Cannot mark the outcome {key!r} learned in the ledger {self.where}: it "
                    f"was never recorded. Call record_outcome first, in the same transaction."
                )
            return _insert_once(s, row, lambda: queries.is_learned(s, key))

    def record_transition(self, transition: Transition) -> None:
        """Append one move of the guard (an event log: the same move twice is two events)."""
        row = GuardEventRow(
            at=require_aware("at", transition.at), source=transition.source.value,
            target=transition.target.value, trigger=transition.trigger.value,
            reason=transition.reason, values=finite_values(dict(transition.values)),
        )
        with self._uow.write("record a guard event") as s:
            s.add(row)

    def add_checkpoint(self, path: str, *, sha256: str, size: int, now: datetime) -> Checkpoint:
        """Vouch for a snapshot file; it includes every learning step recorded so far.

        :class:`~freqtrade_feedback.ledger.CheckpointStore` calls this; call it inside the
        transaction that recorded the last learned outcome.
        """
        with self._uow.write("record a checkpoint") as s:
            position = s.scalar(select(func.coalesce(func.max(LearnStepRow.id), 0)))
            n_learned = s.scalar(select(func.count()).select_from(LearnStepRow))
            row = CheckpointRow(
                path=path, sha256=sha256, size=size, created_at=require_aware("now", now),
                n_learned=n_learned, position=position,
            )
            s.add(row)
            s.flush()
            return queries.checkpoint(row)

    def delete_checkpoints(self, ids: list[int]) -> None:
        """Forget checkpoints (their files are the caller's to delete, after the commit)."""
        with self._uow.write("prune checkpoints") as s:
            s.execute(CheckpointRow.__table__.delete().where(CheckpointRow.id.in_(ids)))

    # -- reads -------------------------------------------------------------------------------

    def has_outcome(self, key: str) -> bool:
        """Whether a realized outcome was recorded under ``key``."""
        with self._uow.read("read an outcome") as s:
            return queries.has_key(s, OutcomeRow, key)

    def has_shadow(self, key: str) -> bool:
        """Whether a shadow outcome was recorded under ``key`` (see :func:`shadow_key`)."""
        with self._uow.read("read a shadow outcome") as s:
            return queries.has_key(s, ShadowRow, key)

    def is_learned(self, key: str) -> bool:
        """Whether the outcome ``key`` was learned (a learning step exists)."""
        with self._uow.read("read a learning step") as s:
            return queries.is_learned(s, key)

    def counts(self) -> dict[str, int]:
        """Rows per kind, for the operator's status command and the startup log."""
        with self._uow.read("count rows") as s:
            return queries.counts(s)

    def not_learned_by_status(self) -> dict[str, int]:
        """Outcomes without a learning step, per status (``learned`` there means pending)."""
        with self._uow.read("count outcomes") as s:
            return queries.not_learned_by_status(s)

    def learned_keys(self) -> set[str]:
        """Keys of every learned outcome."""
        with self._uow.read("read learning steps") as s:
            return set(s.scalars(select(LearnStepRow.outcome_key)))

    def reconciled_trade_ids(self) -> set[int]:
        """Trade ids with at least one recorded outcome: a restart reconciles only the rest."""
        with self._uow.read("read outcomes") as s:
            stmt = select(OutcomeRow.trade_id).where(OutcomeRow.trade_id.is_not(None)).distinct()
            return set(s.scalars(stmt))

    def signal(self, signal_id: str) -> tuple[Signal, Decision] | None:
        """A recorded signal and the gate's decision on it; ``None`` unless both were recorded.

        After a restart, what lets a trade opened before it be learned when it closes: the
        loop restored from an older checkpoint may never have seen its signal.
        """
        with self._uow.read("read a signal") as s:
            row, decided = s.get(SignalRow, signal_id), s.get(DecisionRow, signal_id)
            if row is None or decided is None:
                return None
            features = None if row.features is None else nan_for_null(row.features)
            signal = Signal(row.pair, row.candle, side=row.side, tag=row.tag,  # type: ignore[arg-type]
                            features=features)
            decision = Decision(decided.signal_id, decided.take, DecisionReason(decided.reason),
                                decided.probability, decided.propensity, decided.decided_at,
                                decided.trained_on, _edge(decided))
        return signal, decision

    def learn_steps(self, *, after: int = 0) -> list[LearnStep]:
        """Learning steps after ledger position ``after``, in order: what to replay on top of
        a checkpoint taken at that position."""
        with self._uow.read("read learning steps") as s:
            return queries.learn_steps(s, after)

    def guard_events(self, last: int = 10) -> list[Transition]:
        """The ``last`` guard events, oldest first."""
        with self._uow.read("read guard events") as s:
            stmt = select(GuardEventRow).order_by(GuardEventRow.id.desc()).limit(last)
            rows = list(s.scalars(stmt))[::-1]
        return [
            Transition(GuardState(r.source), GuardState(r.target), Trigger(r.trigger), r.at,
                       r.reason, nan_for_null(r.values))
            for r in rows
        ]

    def guard_state(self) -> GuardState | None:
        """The state the last guard event led to; ``None`` before any event."""
        with self._uow.read("read guard events") as s:
            stmt = select(GuardEventRow.target).order_by(GuardEventRow.id.desc()).limit(1)
            target = s.scalar(stmt)
        return None if target is None else GuardState(target)

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint the ledger vouches for, newest first."""
        with self._uow.read("read checkpoints") as s:
            rows = s.scalars(select(CheckpointRow).order_by(CheckpointRow.id.desc()))
            return [queries.checkpoint(r) for r in rows]

    def export(self, path: str | Path, format: Literal["csv", "parquet"] = "csv") -> list[Path]:
        """Write each table to ``path/<table>.<format>`` (folder created); the files written.

        >>> import tempfile
        >>> paths = Ledger().export(tempfile.mkdtemp(), format="parquet")
        >>> sorted(p.name for p in paths)[:2]
        ['feedback_checkpoints.parquet', 'feedback_decisions.parquet']
        """
        engine = self._uow.engine
        with storage_errors(f"the ledger {self.where}", f"export to {path}"), engine.connect() as c:
            return export_tables(c, Path(path), format)


__all__ = ["Ledger"]
