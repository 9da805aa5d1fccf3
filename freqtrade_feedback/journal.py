"""The loop made durable for dry-run and live: the ledger first, then the loop, learning once.

A bot runs for weeks and restarts, crashes or is killed in between. The loop owns all learned
state in memory; the journal wraps it so that every event is also recorded in the ledger, and
so that a restart rebuilds the same loop: the newest checkpoint the ledger vouches for, plus the
learning steps recorded after it, learned again in order.

**Exactly once.** A realized outcome is keyed by its trade and exit order. The outcome and its
learning step commit in one ledger transaction, after the loop learned in memory; every
``checkpoint_every`` steps, ``maintain`` (between the bot's iterations) writes a checkpoint
that records the position of the last step it includes. A crash before the commit leaves no
trace in the ledger, so the trade is reported again (Freqtrade's own database still has it:
reconciliation) and learned then; a crash after it leaves the step in the ledger, so the
restart learns it again from there, and a second report of the same key is ignored. Either
way each outcome is learned once by the learner that survives.

**The ledger gone for a while** (a database server restarted, a full disk): every event
raises ``LedgerError`` (the adapter then applies its fallback and says so once), the loop
goes back to what the ledger holds, and a closed trade or shadow outcome the ledger refused
is kept in memory and delivered again by :meth:`Journal.maintain` (every iteration of the
bot) until the ledger takes it: learning resumes when the ledger is back, without waiting
for a restart, and each outcome is still learned once.

What a restart does not rebuild: the guard's detectors and champion are restored as of the last
checkpoint (its learning steps rebuild the learners, not the detectors' evidence), and pending
shadow outcomes live in the adapter's shadow book. ``checkpoint_every=1`` makes both exact.
A checkpoint written in another format (:data:`CHECKPOINT_FORMAT`, e.g. by an older release)
is never unpickled: the restart learns every step the ledger holds, and says so in one line.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.exceptions import FeedbackError, LedgerError
from freqtrade_feedback.guard.states import Transition, Trigger
from freqtrade_feedback.labels import RealizedOutcome, ShadowRecord
from freqtrade_feedback.ledger import CheckpointStore, Ledger, realized_key, shadow_key
from freqtrade_feedback.ledger.engine import ledger_url, sqlite_file, strategy_folder
from freqtrade_feedback.loop import Decision, FeedbackLoop, Signal, trade_signal_id
from freqtrade_feedback.shadow.feed import ShadowFeed

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
"""Folder of the checkpoint files, inside the journal's folder."""
CHECKPOINT_FORMAT = 5
"""Format version of what a checkpoint pickles: a :class:`Snapshot` (the loop, its learners,
supervisor, guard and detectors, the shadow feed). Attribute names, private ones included,
are that format: bump this whenever a class in the snapshot adds, renames or drops one. A
checkpoint of another version is never unpickled; the ledger's learning steps rebuild the
learners instead (see ``CheckpointStore``)."""
RETENTION = timedelta(days=30)
"""Settled signals older than this leave the loop's memory (and its checkpoints) before each
checkpoint; the ledger keeps them. Long enough for any shadow outcome to have arrived."""


@dataclass(frozen=True)
class ClosedTrade:
    """A trade closed in Freqtrade's database, as reconciliation needs it.

    ``signal_id`` is ``None`` for a trade that carries no signal id: opened before the plugin
    was installed, or by hand. Its outcome is recorded, never learned.
    """

    trade_id: int
    exit_order_id: str
    pair: str
    profit_ratio: float
    closed_at: datetime
    exit_reason: str = ""
    signal_id: str | None = None


def _checkpoint_home(url: str, user_data_dir: str | Path, strategy_name: str) -> Path:
    """Beside a SQLite ledger file, else the strategy's folder under ``user_data/feedback``."""
    file = sqlite_file(url)
    return file.parent if file is not None else strategy_folder(user_data_dir, strategy_name)


@dataclass
class Snapshot:
    """What a checkpoint holds: the loop, and the live shadow book's pending signals (the
    shadow outcomes not released yet), so that neither is lost across a restart."""

    loop: FeedbackLoop
    shadows: ShadowFeed | None = None


class Journal:
    """A :class:`FeedbackLoop` whose every event is recorded in a ledger, restartable.

    Parameters
    ----------
    settings
        The loop's settings; a restored loop gets them unless its learners do not fit them
        (another model, scope, seed or guard), in which case it starts fresh, with a warning.
    ledger
        Where events, learning steps and checkpoints are recorded.
    folder
        Folder of the checkpoint files (created owner-only when first written).
    checkpoint_every
        Learning steps between two checkpoints (``settings.checkpoint_every`` by default).
    shadows
        The live shadow feed whose pending signals the checkpoints keep; after a restart
        ``shadows`` is the restored one (its candles come back with the next analysis).

    Examples
    --------
    >>> import tempfile
    >>> from datetime import UTC, datetime, timedelta
    >>> folder = tempfile.mkdtemp()
    >>> settings = FeedbackSettings(min_outcomes=1)
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> journal = Journal(settings, Ledger(f"sqlite:///{folder}/ledger.sqlite"), folder)
    >>> signal = Signal("BTC/USDT", t0, features={"rsi": 0.3})
    >>> journal.on_signal(signal, now=t0).take
    True
    >>> t1 = t0 + timedelta(hours=1)
    >>> closed = dict(trade_id=1, exit_order_id="x1", profit_ratio=0.01, now=t1)
    >>> journal.on_trade_closed(signal.signal_id, **closed).learned
    True
    >>> journal.on_trade_closed(signal.signal_id, **closed) is None  # reported twice
    True

    A restart (here, a second journal on the same folder) learns nothing twice:

    >>> again = Journal(settings, Ledger(f"sqlite:///{folder}/ledger.sqlite"), folder)
    >>> again.loop.learner_for("BTC/USDT").n_learned, again.ledger.counts()["learned"]
    (1, 1)
    """

    def __init__(
        self,
        settings: FeedbackSettings,
        ledger: Ledger,
        folder: str | Path,
        checkpoint_every: int | None = None,
        shadows: ShadowFeed | None = None,
    ) -> None:
        self.ledger = ledger
        self.store = CheckpointStore(Path(folder) / CHECKPOINTS, ledger,
                                     keep=settings.checkpoints_keep, version=CHECKPOINT_FORMAT)
        self.checkpoint_every = checkpoint_every or settings.checkpoint_every
        self.loop = FeedbackLoop(settings)
        self.shadows = shadows
        self._since_checkpoint = 0
        self._last_transition: Transition | None = None
        self._unrecorded: dict[str, tuple[str, dict[str, Any]]] = {}
        """Reports the ledger refused, by key: the event and its arguments, to deliver again."""
        self._stale = False
        """The loop may hold what the ledger refused and could not be rebuilt yet."""
        self.ledger_error: LedgerError | None = None
        """The ledger's last refusal, until a write commits again (``None``: all is well)."""
        self.restore()

    @property
    def settings(self) -> FeedbackSettings:
        """The loop's settings (the journal's are the loop's; see ``FeedbackLoop.reconfigure``)."""
        return self.loop.settings

    @classmethod
    def open(cls, settings: FeedbackSettings, user_data_dir: str | Path,
             strategy_name: str, shadows: ShadowFeed | None = None) -> Journal:
        """The journal of a strategy in dry-run or live: the ledger in
        ``<user_data_dir>/feedback/<strategy_name>/ledger.sqlite`` unless
        ``settings.ledger_url`` names another database; checkpoints in a ``checkpoints``
        folder beside a SQLite ledger file, else in that strategy folder."""
        url = ledger_url(settings.ledger_url, user_data_dir, strategy_name)
        return cls(settings, Ledger(url), _checkpoint_home(url, user_data_dir, strategy_name),
                   shadows=shadows)

    # -- restart ---------------------------------------------------------------------------

    def restore(self) -> int:
        """Rebuild the loop from the ledger: newest valid checkpoint, then the learning steps
        recorded after it. Returns how many steps were learned again."""
        settings = self.settings
        restored = self.store.load_latest()
        loop, position = FeedbackLoop(settings), 0
        state = restored.state if restored is not None else None
        if isinstance(state, Snapshot):
            if state.loop.reconfigure(settings):
                loop, position = state.loop, restored.checkpoint.position  # type: ignore[union-attr]
                if state.shadows is not None and self.shadows is not None:
                    self.shadows = state.shadows
            else:
                logger.warning(
                    "The checkpoint %s was made with another learner, scope, seed or guard "
                    "setting: a fresh learner learns again every outcome the ledger holds.",
                    restored.checkpoint.path)  # type: ignore[union-attr]
        steps = [s for s in self.ledger.learn_steps(after=position)
                 if s.features is not None and s.profit_ratio is not None
                 and s.scope == settings.scope]
        for step in steps:
            loop.relearn(step.learner_key, step.pair, step.features,  # type: ignore[arg-type]
                         profit_ratio=step.profit_ratio, win=step.win, weight=step.weight)  # type: ignore[arg-type]
        self.loop = loop
        self._since_checkpoint = len(steps)
        history = self._transitions()
        self._last_transition = history[-1] if history else None
        if restored is not None or steps:
            logger.info("Feedback loop restored from %s: %d learned outcomes replayed from the "
                        "ledger %s.", restored.checkpoint.path if restored else "no checkpoint",
                        len(steps), self.ledger.where)
        return len(steps)

    # -- events ----------------------------------------------------------------------------

    def on_signal(self, signal: Signal, *, now: datetime) -> Decision:
        """Decide on a signal and record both; a signal decided before a restart keeps the
        decision the ledger recorded for it."""
        with self._recording():
            known = self.loop.decision(signal.signal_id)
            if known is not None:
                return known
            recorded = self.ledger.signal(signal.signal_id)
            if recorded is not None:
                self.loop.adopt(*recorded)
                return recorded[1]
            decision = self.loop.on_signal(signal, now=now)
            with self._committing():  # the caller's fallback decides; ours is forgotten
                self.ledger.record_signal(signal)
                self.ledger.record_decision(decision)
                self._record_transitions()
        return decision

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
        """Record a closed trade and learn from it, once: ``None`` if its key was recorded
        before (a replayed callback, or a trade reconciled already). The key is the trade and
        its closing order: both are required here. A report the ledger refuses is delivered
        again by :meth:`maintain`."""
        if trade_id is None or exit_order_id is None:
            raise ValueError("The journal keys a closed trade by its trade_id and "
                             f"exit_order_id. Got {trade_id!r} and {exit_order_id!r}.")
        key = realized_key(trade_id, exit_order_id)
        report = {"signal_id": signal_id, "profit_ratio": profit_ratio, "now": now,
                  "exit_reason": exit_reason, "pair": pair, "trade_id": trade_id,
                  "exit_order_id": exit_order_id}
        with self._recording(key, ("on_trade_closed", report)):
            if self.ledger.has_outcome(key):
                return None
            if self.loop.decision(signal_id) is None:
                recorded = self.ledger.signal(signal_id)
                if recorded is not None:
                    self.loop.adopt(*recorded)
            with self._committing():
                outcome = self.loop.on_trade_closed(
                    signal_id, profit_ratio=profit_ratio, now=now, exit_reason=exit_reason,
                    trade_id=trade_id, pair=pair)
                self.ledger.record_outcome(outcome, key=key)
                if outcome.learned:
                    self._mark_learned(key, outcome.pair, now)
                self._record_transitions()
        return outcome

    def _mark_learned(self, key: str, pair: str, now: datetime) -> None:
        learner_key = self.loop.learner_key(pair)
        n = self.loop.learner_for(pair).n_learned
        self.ledger.mark_learned(key, scope=self.settings.scope, learner_key=learner_key,
                                 now=now, n_learned=n)
        self._since_checkpoint += 1

    @property
    def checkpoint_due(self) -> bool:
        """``checkpoint_every`` outcomes were learned since the last checkpoint."""
        return self._since_checkpoint >= self.checkpoint_every

    def maintain(self, *, now: datetime) -> bool:
        """Write the checkpoint when one is due; whether it wrote one.

        Called between the bot's iterations (``bot_loop_start``), never inside an order
        callback: pickling the loop takes milliseconds, and a checkpoint only shortens the
        replay at the next start, so it can wait for a quiet moment. First, the reports the
        ledger refused are delivered again (:meth:`deliver`).
        """
        self.deliver()
        if not self.checkpoint_due:
            return False
        self.loop.forget_settled(before=now - RETENTION)
        self.checkpoint(now=now)
        return True

    @property
    def unrecorded(self) -> int:
        """Closed trades and shadow outcomes the ledger refused, waiting to be delivered."""
        return len(self._unrecorded)

    def deliver(self) -> int:
        """Deliver again, oldest first, the reports the ledger refused (it was gone); how many
        it took. Raises ``LedgerError`` at the first it still refuses (the rest wait)."""
        pending = list(self._unrecorded.values())
        for event, report in pending:
            getattr(self, event)(**report)  # taken: it leaves the queue
        if pending:
            logger.info("The ledger %s is back: it recorded the %d closed trades and shadow "
                        "outcomes it had refused, learned once each where learnable.",
                        self.ledger.where, len(pending))
        return len(pending)

    @contextlib.contextmanager
    def _recording(self, key: str | None = None,
                   report: tuple[str, dict[str, Any]] | None = None) -> Iterator[None]:
        """One event's ledger work. A refusal is remembered (``ledger_error``) and raised, and
        the event's ``report`` kept under ``key`` to deliver again; once taken, it is dropped.
        A loop left stale by an earlier refusal is rebuilt from the ledger first."""
        try:
            if self._stale:
                self._rebuild()
                self._stale = False
            yield
        except LedgerError as error:
            self.ledger_error = error
            if key is not None and report is not None:
                self._unrecorded[key] = report
            raise
        except BaseException:  # refused for another reason: delivering it again cannot help
            if key is not None:
                self._unrecorded.pop(key, None)
            raise
        if key is not None:
            self._unrecorded.pop(key, None)

    @contextlib.contextmanager
    def _committing(self) -> Iterator[None]:
        """A ledger transaction for what the loop just did in memory: committed, the ledger
        works again; refused, the loop goes back to what the ledger holds."""
        try:
            with self.ledger.transaction():
                yield
        except LedgerError:
            self._rewind()
            raise
        self.ledger_error = None

    def _rewind(self) -> None:
        """The ledger refused an outcome the loop had learned in memory: go back to what the
        ledger knows, so the outcome is learned once, when it is reported again. A ledger
        that cannot be read either leaves the loop stale: it is rebuilt before the next event."""
        try:
            self._rebuild()
        except LedgerError:
            self._stale = True

    def _rebuild(self) -> None:
        """:meth:`restore`, keeping the live shadow book: it is ahead of any checkpoint's."""
        shadows = self.shadows
        self.restore()
        self.shadows = shadows

    def on_shadow(self, signal_id: str, *, profit_ratio: float, now: datetime,
                  pair: str | None = None) -> ShadowRecord | None:
        """Record a signal's shadow outcome (the guard observes it; a skipped signal is learned
        from it with ``labels: "all"``, once); one recorded before a restart (released again by
        a restored book) is not observed twice. ``None`` then."""
        key = shadow_key(signal_id)
        report = {"signal_id": signal_id, "profit_ratio": profit_ratio, "now": now, "pair": pair}
        with self._recording(key, ("on_shadow", report)):
            if self.ledger.has_shadow(key):
                return None
            with self._committing():
                record = self.loop.on_shadow(signal_id, profit_ratio=profit_ratio, now=now,
                                             pair=pair)
                self.ledger.record_shadow(record, key=key)
                if record.learned:
                    self._mark_learned(key, record.pair, now)
                self._record_transitions()
        return record

    def reconcile(self, trades: Iterable[ClosedTrade]) -> int:
        """Record the closed trades the ledger has not seen (closed while the bot was down, or
        before the plugin was installed): learned once when their signal was recorded, else
        recorded as not learned with the reason. Returns how many were new.

        Trades with a recorded outcome are skipped on one query, not one query each: a bot
        reconciles its whole closed history at every start."""
        known = self.ledger.reconciled_trade_ids()
        new = 0
        for trade in trades:
            if trade.trade_id in known:
                continue
            signal_id = trade.signal_id or trade_signal_id(trade.pair, trade.trade_id)
            outcome = self.on_trade_closed(
                signal_id, trade_id=trade.trade_id, exit_order_id=trade.exit_order_id,
                profit_ratio=trade.profit_ratio, now=trade.closed_at,
                exit_reason=trade.exit_reason, pair=trade.pair)
            new += outcome is not None
        return new

    def checkpoint(self, *, now: datetime) -> None:
        """Save the whole loop now (at shutdown, or before an operator changes it)."""
        with self._recording(), self.ledger.transaction():
            self.store.save(Snapshot(self.loop, self.shadows), now=now)
        self.ledger_error = None
        self._since_checkpoint = 0

    def fire(self, trigger: Trigger | str, *, now: datetime, reason: str) -> Transition:
        """An operator's move of the guard (``manual_freeze``, ``manual_unfreeze``): recorded
        and checkpointed at once, so a restart keeps it. Raises ``FeedbackError`` without a
        guard, ``InvalidTransition`` where the state table does not allow the move."""
        supervisor = self.loop.supervisor
        if supervisor is None:
            raise FeedbackError("The guard is off (feedback.enabled or feedback.guard.enabled "
                                "is false): there is nothing to freeze or unfreeze.")
        transition = supervisor.fire(Trigger(trigger), now=now, reason=reason)
        with self.ledger.transaction():
            self._record_transitions()
            self.store.save(Snapshot(self.loop, self.shadows), now=now)
        self._since_checkpoint = 0
        return transition

    # -- guard events ----------------------------------------------------------------------

    def _transitions(self) -> tuple[Transition, ...]:
        supervisor = self.loop.supervisor
        return () if supervisor is None else supervisor.transitions

    def _record_transitions(self) -> None:
        """Record the guard's moves since the last recorded one (inside the caller's unit)."""
        history = self._transitions()
        if not history or history[-1] is self._last_transition:
            return
        start = 0
        for i in range(len(history) - 1, -1, -1):
            if history[i] is self._last_transition:
                start = i + 1
                break
        for transition in history[start:]:
            self.ledger.record_transition(transition)
        self._last_transition = history[-1]


__all__ = ["CHECKPOINTS", "CHECKPOINT_FORMAT", "ClosedTrade", "Journal", "Snapshot"]
