"""The events a feedback loop answers, whoever keeps it: one protocol for memory and ledger.

The glue (the Freqtrade adapter, the lab, the benchmarks) tells the loop three things: a
signal reached the gate, a trade closed, a shadow outcome arrived. In backtests the
:class:`~freqtrade_feedback.loop.FeedbackLoop` answers them in memory; in dry-run and live a
:class:`~freqtrade_feedback.journal.Journal` records each in the ledger first. Both take the
same arguments and give the same kinds of answers, so a caller holds a ``FeedbackEvents`` and
never asks which one it is.

A trade's ``trade_id`` and ``exit_order_id`` are the journal's key of its outcome (a trade
that closes in parts is one outcome per closing order); the loop records the trade id and has
no use for the order. An answer of ``None`` means "a repeat: nothing was recorded or learned
again": the journal gives it for a report its ledger already holds. The loop, which keeps the
first record in memory, gives that record back instead, so its methods promise the record
itself (a narrower return type, which the protocol accepts): code that holds a loop reads the
record without a ``None`` check, code that holds ``FeedbackEvents`` makes none either way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from freqtrade_feedback.labels import RealizedOutcome, ShadowRecord
from freqtrade_feedback.loop import Decision, Signal


class FeedbackEvents(Protocol):
    """What happens to a signal, told to whoever keeps the loop."""

    def on_signal(self, signal: Signal, *, now: datetime) -> Decision:
        """The gate's decision on a signal; the same decision when asked again."""
        ...

    def on_trade_closed(
        self,
        signal_id: str,
        *,
        profit_ratio: float,
        now: datetime,
        exit_reason: str = "",
        pair: str | None = None,
        trade_id: int | None = None,
        exit_order_id: str | None = None,
    ) -> RealizedOutcome | None:
        """A trade of the signal closed with ``profit_ratio`` (net of fees)."""
        ...

    def on_shadow(
        self, signal_id: str, *, profit_ratio: float, now: datetime, pair: str | None = None
    ) -> ShadowRecord | None:
        """The signal's shadow outcome: what it would have made, taken or not."""
        ...


__all__ = ["FeedbackEvents"]
