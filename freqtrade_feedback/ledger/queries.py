"""The ledger's read queries, as functions of a session (the ``Ledger`` methods wrap them).

Kept apart from the writes so that each stays short, and so that a read inside a transaction
(a write's existence check) and a read from an operator command run the same SQL.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from freqtrade_feedback.ledger.records import Checkpoint, LearnStep
from freqtrade_feedback.ledger.tables import (
    CheckpointRow,
    DecisionRow,
    GuardEventRow,
    LearnStepRow,
    OutcomeRow,
    ShadowRow,
    SignalRow,
)


def has_key(session: Session, model: type[OutcomeRow] | type[ShadowRow], key: str) -> bool:
    return session.scalar(select(model.id).where(model.key == key)) is not None


def is_learned(session: Session, key: str) -> bool:
    stmt = select(LearnStepRow.id).where(LearnStepRow.outcome_key == key)
    return session.scalar(stmt) is not None


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def counts(session: Session) -> dict[str, int]:
    """Rows per kind: ``learned`` counts every learning step, ``shadows_learned`` those of
    shadow outcomes (skipped signals), ``not_learned`` the realized outcomes without one."""
    outcomes, learned = _count(session, OutcomeRow), _count(session, LearnStepRow)
    shadows_learned = session.scalar(
        select(func.count()).select_from(LearnStepRow)
        .join(ShadowRow, ShadowRow.key == LearnStepRow.outcome_key)) or 0
    return {
        "signals": _count(session, SignalRow),
        "decisions": _count(session, DecisionRow),
        "outcomes": outcomes,
        "learned": learned,
        "shadows_learned": shadows_learned,
        "not_learned": outcomes - (learned - shadows_learned),
        "shadows": _count(session, ShadowRow),
        "guard_events": _count(session, GuardEventRow),
        "checkpoints": _count(session, CheckpointRow),
    }


def not_learned_by_status(session: Session) -> dict[str, int]:
    learned = select(LearnStepRow.outcome_key)
    stmt = (
        select(OutcomeRow.status, func.count())
        .where(OutcomeRow.key.not_in(learned))
        .group_by(OutcomeRow.status)
        .order_by(OutcomeRow.status)
    )
    return {status: n for status, n in session.execute(stmt)}


def learn_steps(session: Session, after: int) -> list[LearnStep]:
    """The learning steps after position ``after``, realized and shadow ones, in order."""
    steps = []
    for outcome_table in (OutcomeRow, ShadowRow):
        stmt = (
            select(LearnStepRow, outcome_table, SignalRow.features)
            .join(outcome_table, outcome_table.key == LearnStepRow.outcome_key)
            .outerjoin(SignalRow, SignalRow.signal_id == outcome_table.signal_id)
            .where(LearnStepRow.id > after)
        )
        steps += [
            LearnStep(
                position=step.id, outcome_key=step.outcome_key, scope=step.scope,
                learner_key=step.learner_key, learned_at=step.learned_at,
                n_learned=step.n_learned, signal_id=outcome.signal_id, pair=outcome.pair,
                features=features, profit_ratio=outcome.profit_ratio, win=outcome.win,
                weight=outcome.weight,
            )
            for step, outcome, features in session.execute(stmt)
        ]
    return sorted(steps, key=lambda step: step.position)


def checkpoint(row: CheckpointRow) -> Checkpoint:
    return Checkpoint(
        id=row.id, path=row.path, sha256=row.sha256, size=row.size,
        created_at=row.created_at, n_learned=row.n_learned, position=row.position,
    )


__all__ = [
    "checkpoint",
    "counts",
    "has_key",
    "is_learned",
    "learn_steps",
    "not_learned_by_status",
]
