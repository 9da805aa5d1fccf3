"""The ledger's tables: SQLAlchemy 2.0 typed ORM rows, one class per kind of event.

Rows are append-only events with a natural unique key (a signal id, an outcome key), so a
replay after a crash inserts nothing twice. Enums are stored as their string values, so the
file stays readable in plain SQL. Times are stored as naive UTC (portable across SQLite and
PostgreSQL) and come back timezone-aware: :class:`UTCDateTime` does both directions.
Table names carry a ``feedback_`` prefix, so a ledger can share a database with other tables.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def require_aware(name: str, value: datetime) -> datetime:
    """``value`` converted to UTC; a naive time is refused, because its zone is a guess.

    >>> require_aware("now", datetime(2024, 1, 1, tzinfo=UTC)).isoformat()
    '2024-01-01T00:00:00+00:00'
    >>> require_aware("now", datetime(2024, 1, 1))
    Traceback (most recent call last):
    ...
    ValueError: The 'now' time must be timezone-aware (UTC). Got datetime.datetime(2024, 1, 1, 0,
    0) instead: build it with tzinfo=UTC.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"The {name!r} time must be timezone-aware (UTC). Got {value!r} instead: "
            f"build it with tzinfo=UTC."
        )
    return value.astimezone(UTC)


def finite_or_none(value: float) -> float | None:
    """A non-finite number is stored as ``NULL``: databases disagree on NaN, and it means
    "no usable value" anyway (an outcome's status says why).

    >>> finite_or_none(0.5), finite_or_none(float("inf"))
    (0.5, None)
    """
    return value if math.isfinite(value) else None


def finite_values(values: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN or infinity (PostgreSQL refuses them): a non-finite value is ``null``.

    >>> finite_values({"a": 1.5, "b": float("nan")})
    {'a': 1.5, 'b': None}
    """
    return {k: finite_or_none(v) for k, v in values.items()}


def nan_for_null(values: dict[str, float | None]) -> dict[str, float]:
    """What :func:`finite_values` stored, read back: ``null`` is NaN again.

    >>> nan_for_null({"a": 1.5, "b": None})
    {'a': 1.5, 'b': nan}
    """
    return {k: float("nan") if v is None else v for k, v in values.items()}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC and returned with ``tzinfo=UTC``."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Metadata of every ledger table."""

    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class MetaRow(Base):
    """Key/value facts about the ledger itself; ``schema_version`` is the one that matters."""

    __tablename__ = "feedback_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class SignalRow(Base):
    """An entry signal that reached the gate, with the features the gate saw."""

    __tablename__ = "feedback_signals"
    signal_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    pair: Mapped[str] = mapped_column(String(64), index=True)
    candle: Mapped[datetime]
    side: Mapped[str] = mapped_column(String(8))
    tag: Mapped[str | None] = mapped_column(String(256))
    features: Mapped[dict[str, Any] | None]


class DecisionRow(Base):
    """The gate's verdict on a signal, with the propensity an unbiased evaluation needs."""

    __tablename__ = "feedback_decisions"
    signal_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    take: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(32))
    probability: Mapped[float | None]
    propensity: Mapped[float]
    decided_at: Mapped[datetime]
    trained_on: Mapped[int]
    expected_profit: Mapped[float | None]
    """The ``expected_profit`` rule's estimate (``None``: another rule, or no sizes yet)."""
    edge_error: Mapped[float | None]
    win_size: Mapped[float | None]
    loss_size: Mapped[float | None]
    execution_cost: Mapped[float | None]
    """Execution cost per unit of stake charged in ``expected_profit`` (0 when none)."""


class OutcomeRow(Base):
    """A realized outcome (a closed trade), recorded whether or not it was learned."""

    __tablename__ = "feedback_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    trade_id: Mapped[int | None] = mapped_column(index=True)
    signal_id: Mapped[str] = mapped_column(String(128), index=True)
    pair: Mapped[str] = mapped_column(String(64))
    profit_ratio: Mapped[float | None]
    win: Mapped[bool]
    weight: Mapped[float]
    status: Mapped[str] = mapped_column(String(32))
    exit_reason: Mapped[str] = mapped_column(String(255))
    """As long as Freqtrade allows (``CUSTOM_TAG_MAX_LENGTH``): a custom exit's text."""
    reason: Mapped[str] = mapped_column(Text)
    closed_at: Mapped[datetime]


class ShadowRow(Base):
    """What a signal would have made under the strategy's exits, taken or not; learned (a
    skipped signal, ``labels: "all"``) when a learning step names its key."""

    __tablename__ = "feedback_shadows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    signal_id: Mapped[str] = mapped_column(String(128), index=True)
    pair: Mapped[str] = mapped_column(String(64))
    profit_ratio: Mapped[float | None]
    win: Mapped[bool]
    taken: Mapped[bool]
    probability: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(32))
    released_at: Mapped[datetime]
    weight: Mapped[float] = mapped_column(default=1.0)


class LearnStepRow(Base):
    """One outcome learned by one learner: at most one per outcome (exactly-once learning).

    ``id`` is the ledger position a checkpoint refers to: steps after a checkpoint's position
    are the ones to replay on top of it.
    """

    __tablename__ = "feedback_learn_steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outcome_key: Mapped[str] = mapped_column(String(160), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    learner_key: Mapped[str] = mapped_column(String(64))
    learned_at: Mapped[datetime]
    n_learned: Mapped[int]


class GuardEventRow(Base):
    """One move of the guard's state machine (a :class:`~freqtrade_feedback.guard.Transition`)."""

    __tablename__ = "feedback_guard_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    values: Mapped[dict[str, Any]]


class CheckpointRow(Base):
    """A model snapshot on disk, vouched for by its size and SHA-256."""

    __tablename__ = "feedback_checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(String(512))
    """File name, relative to the checkpoint folder (the folder can move)."""
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    created_at: Mapped[datetime]
    n_learned: Mapped[int]
    """Learning steps in the ledger when the snapshot was taken."""
    position: Mapped[int]
    """Id of the last learning step the snapshot includes (0: none)."""


__all__ = [
    "Base",
    "CheckpointRow",
    "DecisionRow",
    "GuardEventRow",
    "LearnStepRow",
    "MetaRow",
    "OutcomeRow",
    "ShadowRow",
    "SignalRow",
    "UTCDateTime",
    "finite_or_none",
    "finite_values",
    "nan_for_null",
    "require_aware",
]
