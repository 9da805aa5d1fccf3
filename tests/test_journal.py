"""The journal: every event in the ledger, exactly-once learning across restarts and crashes,
with the ledger on SQLite and on PostgreSQL (``ledger_url``: each test that takes it runs on
both; the reference learners stay on SQLite, so the two backends are compared too)."""

from __future__ import annotations

import logging
import random
import signal as signals
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from postgres import backend, read_only

from freqtrade_feedback import journal as journal_module
from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.exceptions import FeedbackError, LedgerError
from freqtrade_feedback.journal import (
    CHECKPOINT_FORMAT,
    CHECKPOINTS,
    RETENTION,
    ClosedTrade,
    Journal,
)
from freqtrade_feedback.labels import LearnStatus
from freqtrade_feedback.ledger import Ledger
from freqtrade_feedback.loop import Signal
from freqtrade_feedback.shadow import Barriers
from freqtrade_feedback.shadow.feed import ShadowFeed

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PROBES = [{"a": a / 3, "b": -a / 5} for a in range(-3, 4)]


def _stream(n: int, seed: int = 0) -> list[tuple[Signal, float, int]]:
    """Signals on two pairs, each with the profit its trade makes and the step it closes at."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        pair = ("BTC/USDT", "ETH/USDT")[i % 2]
        a, b = rng.gauss(0, 1), rng.gauss(0, 1)
        profit = 0.01 * (a - 0.5 * b + rng.gauss(0, 1))
        signal = Signal(pair, T0 + timedelta(minutes=5 * i), features={"a": a, "b": b})
        out.append((signal, profit, i + rng.randint(1, 6)))
    return out


def drive(journal: Journal, stream: list[tuple[Signal, float, int]], stop: int | None = None,
          tick: Callable[[int], None] | None = None) -> None:
    """Deliver the stream from its start, as a bot re-reporting everything after a restart
    would; ``stop`` ends it after that many signals, with trades still open (a crash);
    ``tick`` is told each signal's index before it is delivered."""
    closing: dict[int, list[tuple[int, Signal, float]]] = {}
    for i, (signal, profit, closes) in enumerate(stream):
        if i == stop:
            return
        if tick is not None:
            tick(i)
        journal.maintain(now=signal.candle)  # as the adapter does in bot_loop_start
        for trade_id, closed, p in closing.pop(i, []):
            journal.on_trade_closed(closed.signal_id, trade_id=trade_id, exit_order_id="x",
                                    profit_ratio=p, now=signal.candle, pair=closed.pair)
        if journal.on_signal(signal, now=signal.candle).take:
            closing.setdefault(closes, []).append((i, signal, profit))
    end = stream[-1][0].candle + timedelta(hours=1)
    for step in sorted(closing):
        for trade_id, closed, p in closing[step]:
            journal.on_trade_closed(closed.signal_id, trade_id=trade_id, exit_order_id="x",
                                    profit_ratio=p, now=end, pair=closed.pair)


def _settings(**overrides: object) -> FeedbackSettings:
    params: dict[str, object] = {"min_outcomes": 5, "checkpoint_every": 7}
    params.update(overrides)
    return FeedbackSettings(**params)  # type: ignore[arg-type]


def _journal(folder: Path, settings: FeedbackSettings | None = None,
             url: str | None = None) -> Journal:
    """A journal with its checkpoints in ``folder`` and its ledger at ``url`` (by default an
    SQLite file in ``folder``)."""
    return Journal(settings or _settings(), Ledger(url or f"sqlite:///{folder}/ledger.sqlite"),
                   folder)


def _fingerprint(journal: Journal) -> list[tuple[str, int, list[float]]]:
    """Each learner's count and its probabilities on fixed probes: equal only if equal (one
    learner per pair, or one for both with the global scope)."""
    loop = journal.loop
    keys = {loop.learner_key(pair): pair for pair in ("BTC/USDT", "ETH/USDT")}
    return [
        (key, loop.learner_for(pair).n_learned,
         [loop.learner_for(pair).predict_proba_one({**x, "pair": pair})[True] for x in PROBES])
        for key, pair in keys.items()
    ]


@pytest.fixture(scope="module")
def stream() -> list[tuple[Signal, float, int]]:
    return _stream(160)


@pytest.fixture(scope="module")
def uninterrupted(stream, tmp_path_factory) -> Journal:
    journal = _journal(tmp_path_factory.mktemp("uninterrupted"))
    drive(journal, stream)
    return journal


@pytest.fixture
def driven(ledger_url, stream, tmp_path) -> Journal:
    """The stream delivered once, without interruption, to a journal on ``ledger_url``."""
    journal = _journal(tmp_path, url=ledger_url)
    drive(journal, stream)
    return journal


def test_every_event_is_recorded_and_each_outcome_learned_once(driven, uninterrupted, stream):
    counts = driven.ledger.counts()
    taken = sum(d.take for d in driven.loop.decisions)
    assert counts["signals"] == counts["decisions"] == len(stream)
    assert counts["outcomes"] == taken > 0
    assert counts["learned"] == driven.loop.n_learned == taken
    assert len(driven.ledger.learned_keys()) == taken
    assert 0 < counts["checkpoints"] <= driven.settings.checkpoints_keep
    assert _fingerprint(driven) == _fingerprint(uninterrupted)  # whatever the backend


def test_a_second_report_of_a_trade_is_ignored(driven, stream):
    before = _fingerprint(driven)
    signal = stream[0][0]
    again = driven.on_trade_closed(signal.signal_id, trade_id=0, exit_order_id="x",
                                   profit_ratio=-0.05, now=T0, pair=signal.pair)
    assert again is None
    assert _fingerprint(driven) == before


def test_restarts_at_every_point_rebuild_the_same_learner(uninterrupted, stream, tmp_path,
                                                          ledger_url):
    """Stop after k signals (no final checkpoint: as a crash), restart, deliver everything
    again: the learner ends exactly as the uninterrupted one, and nothing is learned twice."""
    for k in (1, 9, 23, 50, 77, 101, 140):
        drive(_journal(tmp_path, url=ledger_url), stream, stop=k)
    journal = _journal(tmp_path, url=ledger_url)
    drive(journal, stream)
    assert _fingerprint(journal) == _fingerprint(uninterrupted)
    assert journal.ledger.counts()["learned"] == uninterrupted.ledger.counts()["learned"]


def test_a_corrupted_checkpoint_falls_back_and_replays_more(uninterrupted, stream, tmp_path,
                                                           caplog, ledger_url):
    drive(_journal(tmp_path, url=ledger_url), stream)
    checkpoint = _journal(tmp_path, url=ledger_url).ledger.checkpoints()[0]
    newest = tmp_path / CHECKPOINTS / checkpoint.path
    newest.write_bytes(newest.read_bytes()[:-10])
    restarted = _journal(tmp_path, url=ledger_url)
    assert "Skipping the checkpoint" in caplog.text and newest.name in caplog.text
    assert _fingerprint(restarted) == _fingerprint(uninterrupted)


def test_checkpoints_of_another_format_are_left_unread_and_the_ledger_is_learned_again(
        uninterrupted, stream, tmp_path, caplog, monkeypatch, ledger_url):
    """A release with another checkpoint format (here: written under a bumped version) never
    unpickles the old files: one warning line, then every learned outcome from the ledger."""
    monkeypatch.setattr(journal_module, "CHECKPOINT_FORMAT", CHECKPOINT_FORMAT + 1)
    drive(_journal(tmp_path, url=ledger_url), stream)
    monkeypatch.undo()
    caplog.set_level(logging.INFO, "freqtrade_feedback")
    restarted = _journal(tmp_path, url=ledger_url)
    [warning] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert f"checkpoint format {CHECKPOINT_FORMAT + 1}," in warning
    learned = uninterrupted.ledger.counts()["learned"]
    assert f"from no checkpoint: {learned} learned outcomes replayed" in caplog.text
    assert _fingerprint(restarted) == _fingerprint(uninterrupted)


def test_a_trade_open_across_a_restart_is_learned_when_it_closes(tmp_path, ledger_url):
    settings = _settings(min_outcomes=0)
    first = _journal(tmp_path, settings, ledger_url)
    signal = Signal("BTC/USDT", T0, features={"a": 1.0, "b": 0.0})
    assert first.on_signal(signal, now=T0).take
    restarted = _journal(tmp_path, settings, ledger_url)  # any checkpoint predates the signal
    assert restarted.loop.decision(signal.signal_id) is None
    outcome = restarted.on_trade_closed(signal.signal_id, trade_id=7, exit_order_id="e",
                                        profit_ratio=0.02, now=T0 + timedelta(hours=2))
    assert outcome is not None and outcome.status is LearnStatus.LEARNED
    assert restarted.loop.learner_for("BTC/USDT").n_learned == 1


def test_reconcile_learns_known_signals_once_and_records_unknown_ones(tmp_path, ledger_url):
    journal = _journal(tmp_path, _settings(min_outcomes=0), ledger_url)
    signal = Signal("ETH/USDT", T0, features={"a": 0.5, "b": 0.5})
    journal.on_signal(signal, now=T0)
    later = T0 + timedelta(hours=3)
    trades = [
        ClosedTrade(1, "e1", "ETH/USDT", 0.01, later, "roi", signal.signal_id),
        ClosedTrade(2, "e2", "ETH/USDT", -0.01, later, "stop_loss", None),
    ]
    assert journal.reconcile(trades) == 2
    assert journal.reconcile(trades) == 0
    assert journal.ledger.counts()["learned"] == 1
    assert journal.ledger.not_learned_by_status() == {"unknown_signal": 1}
    assert journal.ledger.reconciled_trade_ids() == {1, 2}


def test_a_ledger_that_cannot_be_written_learns_nothing_in_memory(tmp_path, ledger_url):
    journal = _journal(tmp_path, _settings(min_outcomes=0), ledger_url)
    signal = Signal("BTC/USDT", T0, features={"a": 1.0, "b": 0.0})
    journal.on_signal(signal, now=T0)
    journal.ledger.close()
    journal.ledger = Ledger(read_only(ledger_url))
    with pytest.raises(LedgerError):
        journal.on_trade_closed(signal.signal_id, trade_id=1, exit_order_id="e",
                                profit_ratio=0.01, now=T0 + timedelta(hours=1))
    assert journal.loop.n_learned == 0


def test_outcomes_the_ledger_refused_are_learned_once_when_it_takes_writes_again(
        tmp_path, ledger_url):
    """The ledger gone for a while (here: refusing writes): the closed trade and the shadow
    outcome it refused wait in the journal, ``maintain`` delivers them again (refused: they
    keep waiting), and once it takes writes they are recorded and learned, once each."""
    settings = _settings(min_outcomes=0, labels="all")
    journal = _journal(tmp_path, settings, ledger_url)
    taken, other = (Signal("BTC/USDT", T0 + timedelta(minutes=5 * i),
                           features={"a": 1.0 - i, "b": 0.0}) for i in range(2))
    journal.on_signal(taken, now=taken.candle)
    journal.on_signal(other, now=other.candle)
    writable, journal.ledger = journal.ledger, Ledger(read_only(ledger_url))
    later = T0 + timedelta(hours=1)
    closed = dict(trade_id=1, exit_order_id="e", profit_ratio=0.01, now=later, pair="BTC/USDT")
    with pytest.raises(LedgerError):
        journal.on_trade_closed(taken.signal_id, **closed)
    with pytest.raises(LedgerError):
        journal.on_shadow(other.signal_id, profit_ratio=-0.01, now=later, pair="BTC/USDT")
    assert journal.unrecorded == 2 and journal.ledger_error is not None
    learner = journal.loop.learner_for("BTC/USDT")
    assert learner.n_learned == 0  # back to what the ledger holds
    with pytest.raises(LedgerError):
        journal.maintain(now=later)
    assert journal.unrecorded == 2
    journal.ledger = writable  # the ledger is back
    journal.maintain(now=later + timedelta(minutes=5))
    assert journal.unrecorded == 0 and journal.ledger_error is None
    counts, learned = journal.ledger.counts(), journal.loop.learner_for("BTC/USDT").n_learned
    assert (counts["outcomes"], counts["shadows"]) == (1, 1)
    assert counts["learned"] == learned >= 1
    assert journal.on_trade_closed(taken.signal_id, **closed) is None  # reconciled later: once
    restarted = _journal(tmp_path, settings, ledger_url)
    assert _fingerprint(restarted) == _fingerprint(journal)


def test_a_loop_the_ledger_cannot_rebuild_is_rebuilt_before_the_next_event(
        tmp_path, ledger_url, monkeypatch):
    """Refused mid-write, then unreadable too: the loop, which had learned the outcome in
    memory, is stale until the ledger can be read. The next event (here the checkpoint at
    shutdown) rebuilds it first: a checkpoint of the stale loop, plus the learning step
    delivered later, would have learned the outcome twice."""
    settings = _settings(min_outcomes=0)
    journal = _journal(tmp_path, settings, ledger_url)
    signal = Signal("BTC/USDT", T0, features={"a": 1.0, "b": 0.0})
    journal.on_signal(signal, now=T0)
    writable, journal.ledger = journal.ledger, Ledger(read_only(ledger_url))

    def unreadable() -> None:
        raise LedgerError("the ledger cannot be read")

    monkeypatch.setattr(journal.store, "load_latest", unreadable)
    later = T0 + timedelta(hours=1)
    with pytest.raises(LedgerError):
        journal.on_trade_closed(signal.signal_id, trade_id=1, exit_order_id="e",
                                profit_ratio=0.01, now=later)
    assert journal.loop.learner_for("BTC/USDT").n_learned == 1  # not in the ledger: stale
    monkeypatch.undo()
    journal.ledger = writable
    journal.checkpoint(now=later)
    assert journal.loop.learner_for("BTC/USDT").n_learned == 0
    journal.maintain(now=later)  # the refused outcome delivered
    restarted = _journal(tmp_path, settings, ledger_url)
    learned = restarted.loop.learner_for("BTC/USDT").n_learned
    assert learned == journal.ledger.counts()["learned"] == 1
    assert _fingerprint(restarted) == _fingerprint(journal)


def test_a_new_threshold_keeps_the_learner_and_a_new_learner_relearns_the_ledger(
        uninterrupted, stream, tmp_path, caplog, ledger_url):
    drive(_journal(tmp_path, url=ledger_url), stream)
    stricter = _journal(tmp_path, _settings(threshold=0.7), ledger_url)
    assert stricter.loop.settings.threshold == 0.7
    assert _fingerprint(stricter) == _fingerprint(uninterrupted)
    tree = _journal(tmp_path, _settings(learner="hoeffding"), ledger_url)
    assert "learns again every outcome" in caplog.text
    learned = uninterrupted.ledger.counts()["learned"]
    assert sum(n for _, n, _ in _fingerprint(tree)) == learned


def test_open_puts_ledger_and_checkpoints_under_user_data(tmp_path):
    journal = Journal.open(_settings(checkpoint_every=1, min_outcomes=0), tmp_path, "My Strat")
    drive(journal, _stream(6))
    folder = tmp_path / "feedback" / "My_Strat"
    assert (folder / "ledger.sqlite").is_file()
    assert list((folder / CHECKPOINTS).glob("checkpoint-*.pkl"))
    elsewhere = f"sqlite:///{tmp_path}/shared.sqlite"
    shared = Journal.open(_settings(ledger_url=elsewhere), tmp_path, "Other")
    assert shared.ledger.where.endswith("shared.sqlite")


def test_pending_shadow_outcomes_survive_a_restart_and_are_observed_once(tmp_path, ledger_url):
    barriers = Barriers({0: 0.01}, -0.02, max_candles=12, fee=0.001, timeframe_minutes=5)
    settings = _settings(guard=GuardSettings(enabled=True), min_outcomes=0)
    first = Journal(settings, Ledger(ledger_url), tmp_path,
                    shadows=ShadowFeed(barriers, ahead=False))
    signal = Signal("BTC/USDT", T0, features={"a": 1.0, "b": 0.0})
    first.on_signal(signal, now=T0 + timedelta(minutes=5))
    first.shadows.add(signal.signal_id, "BTC/USDT", T0)  # type: ignore[union-attr]
    first.checkpoint(now=T0 + timedelta(minutes=5))
    restarted = Journal(settings, Ledger(ledger_url), tmp_path,
                        shadows=ShadowFeed(barriers, ahead=False))
    assert restarted.shadows is not None and restarted.shadows.waiting == 1
    ms = np.array([int((T0 + timedelta(minutes=5 * i)).timestamp() * 1000) for i in range(3)])
    candles = (ms, np.array([100.0, 100.0, 100.0]), np.array([100.2, 100.2, 103.0]),
               np.array([99.8, 99.8, 99.9]), np.array([100.0, 100.0, 102.5]))  # ROI on #2
    restarted.shadows.set_candles("BTC/USDT", candles)
    released = restarted.shadows.release(now=T0 + timedelta(minutes=15))
    assert [o.signal_id for o in released] == [signal.signal_id]
    record = restarted.on_shadow(signal.signal_id, profit_ratio=released[0].profit_ratio,
                                 now=T0 + timedelta(minutes=15), pair="BTC/USDT")
    assert record is not None and record.win
    assert restarted.on_shadow(signal.signal_id, profit_ratio=0.0, now=T0, pair="BTC/USDT") is None
    assert restarted.ledger.counts()["shadows"] == 1


def test_guard_transitions_are_recorded(tmp_path, ledger_url):
    settings = _settings(guard=GuardSettings(enabled=True), min_outcomes=1)
    journal = _journal(tmp_path, settings, ledger_url)
    drive(journal, _stream(60, seed=3))
    journal.fire("manual_freeze", now=T0, reason="operator")
    signal = Signal("BTC/USDT", T0 + timedelta(days=2), features={"a": 0.0, "b": 0.0})
    journal.on_signal(signal, now=signal.candle)
    events = journal.ledger.guard_events(last=100)
    assert events and events[-1].reason == "operator"
    assert journal.ledger.guard_state().value == "frozen"  # type: ignore[union-attr]
    assert _journal(tmp_path, settings, ledger_url).loop.guard_state == "frozen"  # at once
    (tmp_path / "feedback").mkdir()
    with pytest.raises(FeedbackError, match="guard is off"):
        _journal(tmp_path / "feedback", _settings(guard=GuardSettings(enabled=False))).fire(
            "manual_unfreeze", now=T0, reason="operator")


def test_guard_settings_changed_across_a_restart_take_effect(tmp_path, ledger_url):
    """A restart with another guard cooldown: the guard restored from the checkpoint follows
    the new setting (it kept the checkpoint's and stayed frozen for 50 outcomes)."""
    journal = _journal(tmp_path, _settings(guard=GuardSettings(enabled=True, cooldown=50)),
                       ledger_url)
    journal.fire("manual_freeze", now=T0, reason="operator")  # checkpointed at once
    shorter = _settings(guard=GuardSettings(enabled=True, cooldown=2))
    restarted = _journal(tmp_path, shorter, ledger_url)
    supervisor = restarted.loop.supervisor
    assert supervisor is not None and restarted.loop.guard_state == "frozen"
    assert "cooldown=2," in supervisor.short_desc()
    for i in range(2):
        signal = Signal("BTC/USDT", T0 + timedelta(minutes=5 * i), features={"a": 1.0, "b": i})
        assert restarted.on_signal(signal, now=signal.candle).take
        restarted.on_trade_closed(signal.signal_id, trade_id=i, exit_order_id="x",
                                  profit_ratio=0.01, now=signal.candle + timedelta(hours=1))
    assert restarted.loop.guard_state == "probation"


KILLS = {"sqlite": 20, "postgresql": 10}
"""SIGKILLs per backend. Each pays a process start (about two seconds): the PostgreSQL run,
whose commits take the same path through the same transactions, kills half as often to keep
the suite's time."""

_DRIVER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_journal import _journal, _stream, drive
stream = _stream(480)
journal = _journal(Path(sys.argv[1]), url=sys.argv[2])
drive(journal, stream, tick=lambda i: print(i, flush=True))
"""


def test_sigkill_at_twenty_random_points_learns_each_outcome_once(tmp_path, ledger_url):
    """The real thing: a process killed with SIGKILL mid-work, 20 times (10 on PostgreSQL,
    where the server sees the connection die mid-transaction: :data:`KILLS`), then run to
    the end.

    Each run starts over from the first signal (a restarted bot is told everything again),
    and the driver reports each signal's index: each kill lands a few milliseconds after
    its chosen signal, at points spread over the stream, while a decision, an outcome or a
    checkpoint is being written. A kill counts as mid-stream if the ledger moved since the
    previous one and the stream was not finished: at least half the kills must be.
    """
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(_DRIVER.format(tests=str(Path(__file__).parent))))
    folder = tmp_path / "killed"
    folder.mkdir()
    (tmp_path / "uninterrupted").mkdir()
    uninterrupted = _journal(tmp_path / "uninterrupted")
    drive(uninterrupted, _stream(480))
    rng = random.Random(11)
    kills = KILLS[backend(ledger_url)]
    points = sorted(rng.sample(range(5, 475), kills))
    progress = [0]
    for point in points:
        process = subprocess.Popen([sys.executable, str(script), str(folder), ledger_url],
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        for line in process.stdout:  # the signal index the driver is about to deliver
            if int(line) >= point:
                break
        time.sleep(rng.uniform(0.0, 0.01))  # somewhere inside the next few events
        process.send_signal(signals.SIGKILL)
        process.wait()
        with Ledger(ledger_url) as ledger:
            progress.append(ledger.counts()["outcomes"])
    subprocess.run([sys.executable, str(script), str(folder), ledger_url], check=True,
                   stdout=subprocess.DEVNULL)
    journal = _journal(folder, url=ledger_url)
    total = uninterrupted.ledger.counts()["outcomes"]
    moved = sum(a < b < total for a, b in zip(progress, progress[1:], strict=False))
    assert moved >= kills // 2, f"outcomes recorded after each kill: {progress[1:]} of {total}"
    assert _fingerprint(journal) == _fingerprint(uninterrupted)
    counts = journal.ledger.counts()
    assert counts["learned"] == uninterrupted.ledger.counts()["learned"]
    assert counts["outcomes"] == total


def test_settled_signals_leave_memory_before_a_checkpoint_but_open_trades_stay(tmp_path,
                                                                              ledger_url):
    """A weeks-long bot: signals older than the retention leave the loop (the ledger keeps
    them), an open trade's signal stays and is learned when it closes, learners are kept."""
    settings = _settings(min_outcomes=0, checkpoint_every=1,
                         guard=GuardSettings(enabled=True))
    journal = _journal(tmp_path, settings, ledger_url)
    stream = _stream(40)
    drive(journal, stream)
    opened = Signal("BTC/USDT", T0 - timedelta(days=1), features={"a": 1.0, "b": 0.0})
    assert journal.on_signal(opened, now=opened.candle).take
    late = T0 + RETENTION + timedelta(days=2)
    fresh = Signal("ETH/USDT", late, features={"a": 0.0, "b": 1.0})
    assert journal.on_signal(fresh, now=late).take
    journal.on_trade_closed(fresh.signal_id, trade_id=999, exit_order_id="y",
                            profit_ratio=0.01, now=late)  # a checkpoint is due now
    learned = journal.loop.learner_for("BTC/USDT").n_learned
    assert journal.maintain(now=late)
    assert [d.signal_id for d in journal.loop.decisions] == [opened.signal_id, fresh.signal_id]
    assert [o.signal_id for o in journal.loop.outcomes] == [fresh.signal_id]
    assert journal.loop.learner_for("BTC/USDT").n_learned == learned
    assert journal.ledger.counts()["signals"] == len(stream) + 2  # the ledger forgets nothing
    restarted = _journal(tmp_path, settings, ledger_url)
    outcome = restarted.on_trade_closed(opened.signal_id, trade_id=1000, exit_order_id="z",
                                        profit_ratio=0.02, now=late)
    assert outcome is not None and outcome.learned
