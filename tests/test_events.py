"""One protocol of events: the loop in memory and the journal answer them alike (the
journal's ledger on SQLite and on PostgreSQL)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.events import FeedbackEvents
from freqtrade_feedback.journal import Journal
from freqtrade_feedback.ledger import Ledger
from freqtrade_feedback.loop import FeedbackLoop, Signal

T0 = datetime(2024, 1, 1, tzinfo=UTC)
EVENTS = ("on_signal", "on_trade_closed", "on_shadow")


@pytest.mark.parametrize("keeper", [FeedbackLoop, Journal])
@pytest.mark.parametrize("event", EVENTS)
def test_loop_and_journal_take_each_event_with_the_protocols_signature(keeper, event):
    """Same parameters, defaults and annotations as the protocol; the answer is the
    protocol's type, or (the loop, which never answers ``None``) that type without ``None``."""
    ours = inspect.signature(getattr(keeper, event))
    protocol = inspect.signature(getattr(FeedbackEvents, event))
    assert ours.parameters == protocol.parameters
    answer = protocol.return_annotation
    assert ours.return_annotation == (answer if keeper is Journal else
                                      answer.removesuffix(" | None"))


def _tell(events: FeedbackEvents, n: int) -> list[bool]:
    """The calls the adapter makes, on whichever keeps the loop; what was decided."""
    taken = []
    for i in range(n):
        now = T0 + timedelta(minutes=5 * i)
        signal = Signal("BTC/USDT", now, features={"x": float(i % 3 - 1)})
        decision = events.on_signal(signal, now=now)
        taken.append(decision.take)
        events.on_shadow(signal.signal_id, profit_ratio=0.01 * (i % 3 - 1), now=now,
                         pair="BTC/USDT")
        if decision.take:
            events.on_trade_closed(signal.signal_id, profit_ratio=0.01 * (i % 3 - 1), now=now,
                                   exit_reason="roi", pair="BTC/USDT", trade_id=i,
                                   exit_order_id=f"x{i}")
    return taken


def test_the_same_calls_to_a_loop_and_to_a_journal_decide_and_learn_the_same(tmp_path: Path,
                                                                             ledger_url: str):
    settings = FeedbackSettings(min_outcomes=5)
    loop = FeedbackLoop(settings)
    journal = Journal(settings, Ledger(ledger_url), tmp_path)
    assert _tell(loop, 60) == _tell(journal, 60)
    assert loop.n_learned == journal.loop.n_learned == journal.ledger.counts()["learned"] > 0
    assert loop.decisions == journal.loop.decisions


def test_a_repeated_report_gives_the_first_record_in_memory_and_none_from_the_ledger(
    tmp_path: Path, ledger_url: str,
):
    settings = FeedbackSettings(min_outcomes=0)
    journal = Journal(settings, Ledger(ledger_url), tmp_path)
    for events in (FeedbackLoop(settings), journal):
        signal = Signal("BTC/USDT", T0, features={"x": 1.0})
        events.on_signal(signal, now=T0)
        closed = dict(profit_ratio=0.01, now=T0, trade_id=1, exit_order_id="x")
        first = events.on_trade_closed(signal.signal_id, **closed)  # type: ignore[arg-type]
        again = events.on_trade_closed(signal.signal_id, **closed)  # type: ignore[arg-type]
        assert first is not None and first.learned
        assert again is (first if isinstance(events, FeedbackLoop) else None)


def test_the_journal_needs_the_trade_and_its_closing_order(tmp_path: Path):
    journal = Journal(FeedbackSettings(), Ledger(f"sqlite:///{tmp_path}/ledger.sqlite"),
                      tmp_path)
    with pytest.raises(ValueError, match="trade_id and exit_order_id"):
        journal.on_trade_closed("BTC/USDT|trade:1", profit_ratio=0.0, now=T0, trade_id=1)
