"""The ledger on a real SQLite file and on a real PostgreSQL server (``ledger_url``, both
backends): idempotent writes, atomic units of work, schema versions and migrations, refusals
that name the file or URL, storage failures as LedgerError, reads, export, UTC times."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from postgres import read_only
from sqlalchemy import Connection, create_engine, text

from freqtrade_feedback.edge import Edge
from freqtrade_feedback.exceptions import LedgerError
from freqtrade_feedback.guard.states import GuardState, Transition, Trigger
from freqtrade_feedback.labels import LearnStatus, RealizedOutcome, ShadowRecord
from freqtrade_feedback.ledger import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Ledger,
    default_url,
    realized_key,
    shadow_key,
)
from freqtrade_feedback.ledger.engine import POSTGRES_EXTRA, describe
from freqtrade_feedback.ledger.schema import V2_COLUMNS, V3_COLUMNS
from freqtrade_feedback.loop import Decision, DecisionReason, Signal

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PAIR = "BTC/USDT"


def _signal(i: int) -> Signal:
    return Signal(PAIR, T0 + timedelta(minutes=5 * i), features={"x": float(i), "y": 0.5})


def _outcome(i: int, status: LearnStatus = LearnStatus.LEARNED) -> RealizedOutcome:
    return RealizedOutcome(_signal(i).signal_id, PAIR, 0.01 * (i % 3 - 1), i % 3 == 2, 1.0,
                           T0 + timedelta(hours=i), "roi", status, trade_id=i)


def _transition(source: GuardState, target: GuardState, trigger: Trigger, i: int) -> Transition:
    return Transition(source, target, trigger, T0 + timedelta(hours=i), f"event {i}",
                      {"gap": 0.1 * i})


@pytest.fixture
def url(ledger_url: str) -> str:
    """The ledger on SQLite, then on PostgreSQL: each test that takes it runs on both."""
    return ledger_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An SQLite file, for what only SQLite has (WAL, read-only file URIs, files)."""
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


def _sql(url: str, statement: str, **params: object) -> object:
    """Run one statement on the ledger's database behind its back; the first value it gives."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


@pytest.fixture
def ledger(url: str) -> Iterator[Ledger]:
    with Ledger(url) as opened:
        yield opened


def _fill(ledger: Ledger, n: int = 4) -> None:
    """n signals, decisions and outcomes; even ones learned, odd ones quarantined."""
    for i in range(n):
        signal = _signal(i)
        decision = Decision(signal.signal_id, True, DecisionReason.MODEL, 0.6, 1.0, signal.candle)
        status = LearnStatus.LEARNED if i % 2 == 0 else LearnStatus.QUARANTINED
        key = realized_key(i, f"exit-{i}")
        with ledger.transaction():
            ledger.record_signal(signal)
            ledger.record_decision(decision)
            ledger.record_outcome(_outcome(i, status), key=key, reason=f"why {i}")
            if status is LearnStatus.LEARNED:
                ledger.mark_learned(key, scope="pair", learner_key=PAIR,
                                    now=T0 + timedelta(hours=i), n_learned=i // 2 + 1)


# -- exactly once ------------------------------------------------------------------------------


def test_default_url_creates_the_strategy_folder(tmp_path: Path) -> None:
    url = default_url(tmp_path / "user_data", "SampleStrategy")
    assert url == f"sqlite:///{tmp_path / 'user_data/feedback/SampleStrategy/ledger.sqlite'}"
    assert (tmp_path / "user_data/feedback/SampleStrategy").is_dir()
    with Ledger(url) as ledger:
        assert ledger.counts()["outcomes"] == 0
    assert (tmp_path / "user_data/feedback/SampleStrategy/ledger.sqlite").is_file()


def test_sqlite_file_runs_in_wal_mode(sqlite_url: str, tmp_path: Path) -> None:
    with Ledger(sqlite_url) as ledger:
        _fill(ledger, 1)
    with sqlite3.connect(tmp_path / "ledger.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_outcome_key_twice_is_one_row(ledger: Ledger, url: str) -> None:
    key = realized_key(7, "exit-7")
    assert ledger.record_outcome(_outcome(7), key=key) is True
    changed = RealizedOutcome("other", PAIR, 0.5, True, 2.0, T0, "stoploss", LearnStatus.LEARNED)
    assert ledger.record_outcome(changed, key=key) is False
    assert ledger.record_shadow(_shadow(7), key=shadow_key("s")) is True
    assert ledger.record_shadow(_shadow(8), key=shadow_key("s")) is False
    with Ledger(url) as reopened:  # and across a restart
        assert reopened.record_outcome(_outcome(7), key=key) is False
        counts = reopened.counts()
    assert (counts["outcomes"], counts["shadows"]) == (1, 1)
    assert ledger.has_outcome(key) and not ledger.has_outcome(realized_key(7, "exit-8"))


def _shadow(i: int) -> ShadowRecord:
    return ShadowRecord(_signal(i).signal_id, PAIR, 0.02, True, T0 + timedelta(hours=i), False,
                        0.4)


def test_signals_decisions_and_learning_steps_are_idempotent(ledger: Ledger) -> None:
    _fill(ledger, 2)
    signal = _signal(0)
    assert ledger.record_signal(signal) is False
    decision = Decision(signal.signal_id, False, DecisionReason.EXPLORE, 0.1, 0.1, T0)
    assert ledger.record_decision(decision) is False
    key = realized_key(0, "exit-0")
    assert ledger.mark_learned(key, scope="pair", learner_key=PAIR, now=T0, n_learned=9) is False
    assert ledger.counts() == {
        "signals": 2, "decisions": 2, "outcomes": 2, "learned": 1, "shadows_learned": 0,
        "not_learned": 1, "shadows": 0, "guard_events": 0, "checkpoints": 0,
    }


def test_learning_an_unrecorded_outcome_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match=r"'trade:1:x' .* never recorded"):
        ledger.mark_learned("trade:1:x", scope="pair", learner_key=PAIR, now=T0, n_learned=1)


def test_an_exception_inside_a_transaction_leaves_nothing(ledger: Ledger) -> None:
    key = realized_key(1, "exit-1")
    with pytest.raises(RuntimeError, match="crash"), ledger.transaction():
        ledger.record_signal(_signal(1))
        ledger.record_outcome(_outcome(1), key=key)
        ledger.mark_learned(key, scope="pair", learner_key=PAIR, now=T0, n_learned=1)
        assert ledger.is_learned(key)  # visible inside the unit of work
        raise RuntimeError("crash before the commit")
    assert not ledger.has_outcome(key) and not ledger.is_learned(key)
    assert ledger.counts()["signals"] == 0
    _fill(ledger, 2)  # and the ledger still works afterwards
    assert ledger.counts()["outcomes"] == 2


def test_nested_transactions_commit_once(ledger: Ledger) -> None:
    committed: list[int] = []
    with ledger.transaction():
        with ledger.transaction():
            ledger.record_outcome(_outcome(1), key="trade:1:a")
        ledger.after_commit(lambda: committed.append(ledger.counts()["outcomes"]))
        assert committed == []
    assert committed == [1]


def test_every_outcome_is_recorded_with_its_status(ledger: Ledger) -> None:
    _fill(ledger, 5)
    ledger.record_outcome(_outcome(9, LearnStatus.FORCE_EXIT), key="trade:9:a")
    ledger.record_outcome(_outcome(10), key="trade:10:a")  # learnable, learn step pending
    assert ledger.not_learned_by_status() == {"force_exit": 1, "learned": 1, "quarantined": 2}
    assert ledger.learned_keys() == {"trade:0:exit-0", "trade:2:exit-2", "trade:4:exit-4"}
    assert ledger.reconciled_trade_ids() == {0, 1, 2, 3, 4, 9, 10}


def test_learn_steps_replay_after_a_position(ledger: Ledger) -> None:
    _fill(ledger, 6)
    steps = ledger.learn_steps()
    assert [s.outcome_key for s in steps] == ["trade:0:exit-0", "trade:2:exit-2", "trade:4:exit-4"]
    assert steps[1].features == {"x": 2.0, "y": 0.5} and steps[1].n_learned == 2
    assert steps[2].win is (4 % 3 == 2) and steps[2].learner_key == PAIR
    after = ledger.learn_steps(after=steps[0].position)
    assert [s.outcome_key for s in after] == ["trade:2:exit-2", "trade:4:exit-4"]


def test_non_finite_values_are_stored_as_null(ledger: Ledger) -> None:
    signal = Signal(PAIR, T0, features={"x": float("nan"), "y": 1.0})
    ledger.record_signal(signal)
    bad = RealizedOutcome(signal.signal_id, PAIR, float("inf"), False, 1.0, T0, "roi",
                          LearnStatus.BAD_PROFIT)
    ledger.record_outcome(bad, key="trade:1:a")
    ledger.mark_learned("trade:1:a", scope="global", learner_key="*", now=T0, n_learned=1)
    assert ledger.learn_steps()[0].features == {"x": None, "y": 1.0}


# -- guard events --------------------------------------------------------------------------------


def test_guard_events_last_n_and_latest_state(ledger: Ledger) -> None:
    assert ledger.guard_state() is None and ledger.guard_events() == []
    S, T = GuardState, Trigger
    moves = [
        _transition(S.LEARNING, S.FROZEN, T.ALARM, 1),
        _transition(S.FROZEN, S.PROBATION, T.COOLDOWN_ELAPSED, 2),
        _transition(S.PROBATION, S.LEARNING, T.PROBATION_PASSED, 3),
    ]
    for move in moves:
        ledger.record_transition(move)
    assert ledger.guard_state() is GuardState.LEARNING
    assert ledger.guard_events(last=2) == moves[1:]
    assert ledger.guard_events()[0].values == {"gap": pytest.approx(0.1)}


# -- time -----------------------------------------------------------------------------------------


def test_times_come_back_timezone_aware_utc(ledger: Ledger) -> None:
    paris = timezone(timedelta(hours=2))
    local = datetime(2024, 6, 1, 14, 0, tzinfo=paris)
    ledger.record_transition(Transition(GuardState.LEARNING, GuardState.SUSPECT, Trigger.WARNING,
                                        local, "warned"))
    at = ledger.guard_events()[0].at
    assert at == datetime(2024, 6, 1, 12, 0, tzinfo=UTC) and at.utcoffset() == timedelta(0)
    ledger.record_outcome(_outcome(1), key="trade:1:a")
    ledger.mark_learned("trade:1:a", scope="pair", learner_key=PAIR, now=local, n_learned=1)
    assert ledger.learn_steps()[0].learned_at.tzinfo is UTC


def test_naive_times_are_refused_with_the_field_named(ledger: Ledger) -> None:
    naive = RealizedOutcome("s", PAIR, 0.1, True, 1.0, datetime(2024, 1, 1), "roi",  # noqa: DTZ001
                            LearnStatus.LEARNED)
    with pytest.raises(ValueError, match="'closed_at' time must be timezone-aware"):
        ledger.record_outcome(naive, key="trade:1:a")
    assert ledger.counts()["outcomes"] == 0


# -- schema versions -----------------------------------------------------------------------------


def _set_version(url: str, version: int) -> None:
    _sql(url, "UPDATE feedback_meta SET value = :v WHERE key = 'schema_version'", v=str(version))


def _version(url: str) -> str:
    return str(_sql(url, "SELECT value FROM feedback_meta"))


def _as_version(url: str, version: int) -> None:
    """Make a current ledger look like one an older release wrote: its columns and lengths
    as they were, and its version stamp."""
    postgres = url.startswith("postgresql")
    if version < 4 and postgres:  # SQLite never enforced the length
        _sql(url, "ALTER TABLE feedback_outcomes ALTER COLUMN exit_reason TYPE VARCHAR(64)")
    for added, columns in ((3, V3_COLUMNS), (2, V2_COLUMNS)):
        if version < added:
            for table, names in columns.items():
                for column in names:
                    _sql(url, f"ALTER TABLE {table} DROP COLUMN {column}")
    _set_version(url, version)


def test_new_ledger_is_stamped_with_the_current_version(ledger: Ledger, url: str) -> None:
    assert SCHEMA_VERSION == 4
    assert _version(url) == "4"


def test_newer_schema_is_refused_with_versions_and_fix(url: str) -> None:
    Ledger(url).close()
    _set_version(url, SCHEMA_VERSION + 1)
    with pytest.raises(LedgerError) as info:
        Ledger(url)
    message = str(info.value)
    assert describe(url) in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert f"supports version {SCHEMA_VERSION} at most" in message
    assert "Upgrade freqtrade-feedback" in message and "move the file aside" in message


def test_older_schema_is_migrated_by_the_registered_chain(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fake v0 ledger lacks the outcomes' ``reason`` column; the v0 -> v1 step adds it, and
    the real v1 -> v2 -> v3 -> v4 steps follow."""
    Ledger(url).close()
    _sql(url, "ALTER TABLE feedback_outcomes DROP COLUMN reason")
    _as_version(url, 0)
    ran: list[int] = []

    def v0_to_v1(conn: Connection) -> None:
        ran.append(0)
        conn.execute(text("ALTER TABLE feedback_outcomes ADD COLUMN reason TEXT DEFAULT ''"))

    monkeypatch.setitem(MIGRATIONS, 0, v0_to_v1)
    with Ledger(url) as migrated:
        assert migrated.record_outcome(_outcome(1), key="trade:1:a", reason="kept") is True
    assert ran == [0] and _version(url) == "4"
    with Ledger(url):  # already current: the migration does not run again
        assert ran == [0]


def test_a_version_1_ledger_gains_the_expected_profit_columns(url: str) -> None:
    """Version 2 records the expected-profit rule's estimate on each decision and a shadow
    outcome's weight; a version 1 ledger gets the columns, its rows kept (NULL, weight 1)."""
    with Ledger(url) as ledger:
        ledger.record_signal(Signal("BTC/USDT", T0, features={"x": 1.0}))
        ledger.record_decision(Decision("BTC/USDT|long|2024-01-01T00:00Z", True,
                                        DecisionReason.MODEL, 0.6, 1.0, T0))
    _as_version(url, 1)
    with Ledger(url) as migrated:
        signal, decision = migrated.signal("BTC/USDT|long|2024-01-01T00:00Z")  # type: ignore[misc]
        assert decision.probability == 0.6 and decision.edge is None
        edge = Edge(0.001, 0.0005, 0.01, -0.02)
        later = Signal("BTC/USDT", T0 + timedelta(hours=1), features={"x": 2.0})
        migrated.record_signal(later)
        migrated.record_decision(Decision(later.signal_id, False, DecisionReason.MODEL, 0.4,
                                          0.05, T0, 3, edge))
        assert migrated.signal(later.signal_id)[1].edge == edge  # type: ignore[index]
    assert _version(url) == "4"


def test_a_version_2_ledger_gains_the_execution_cost_column(url: str) -> None:
    """Version 3 records the execution cost charged in a decision's expected profit."""
    with Ledger(url) as ledger:
        ledger.record_signal(Signal("BTC/USDT", T0, features={"x": 1.0}))
        ledger.record_decision(Decision("BTC/USDT|long|2024-01-01T00:00Z", True,
                                        DecisionReason.MODEL, 0.6, 1.0, T0, 3,
                                        Edge(0.002, 0.001, 0.01, -0.02)))
    _as_version(url, 2)
    with Ledger(url) as migrated:
        _, kept = migrated.signal("BTC/USDT|long|2024-01-01T00:00Z")  # type: ignore[misc]
        assert kept.edge == Edge(0.002, 0.001, 0.01, -0.02)  # cost 0: none was charged
        charged = Edge(0.004, 0.001, 0.01, -0.02).charged(0.003)
        later = Signal("BTC/USDT", T0 + timedelta(hours=1), features={"x": 2.0})
        migrated.record_signal(later)
        migrated.record_decision(Decision(later.signal_id, False, DecisionReason.MODEL, 0.4,
                                          0.05, T0, 3, charged))
        assert migrated.signal(later.signal_id)[1].edge == charged  # type: ignore[index]
    assert _version(url) == "4"


def test_a_version_3_ledger_takes_exit_reasons_as_long_as_freqtrades(url: str) -> None:
    """Version 4: a custom exit's reason may be 255 characters (Freqtrade's limit); version 3
    kept 64, which PostgreSQL enforced (the outcome was refused) and SQLite never did."""
    with Ledger(url) as ledger:
        ledger.record_outcome(_outcome(1), key="trade:1:a")
    _as_version(url, 3)
    long = RealizedOutcome(_signal(2).signal_id, PAIR, 0.01, True, 1.0, T0, "x" * 255,
                           LearnStatus.LEARNED, trade_id=2)
    with Ledger(url) as migrated:
        assert migrated.record_outcome(long, key="trade:2:a") is True
        assert migrated.counts()["outcomes"] == 2
    assert _sql(url, "SELECT exit_reason FROM feedback_outcomes WHERE key = 'trade:2:a'") == \
        "x" * 255
    assert _version(url) == "4"


def test_older_schema_without_a_migration_is_refused(url: str) -> None:
    Ledger(url).close()
    _set_version(url, 0)
    with pytest.raises(LedgerError, match="no migration from version 0 to 1"):
        Ledger(url)
    assert _version(url) == "0"  # left as it was


def test_a_database_with_other_tables_is_refused_by_name(url: str) -> None:
    """A Freqtrade trade database (its ``trades`` and ``orders`` tables), say: refused with
    its file or URL named, and left untouched."""
    _sql(url, "CREATE TABLE trades (id INTEGER PRIMARY KEY, pair TEXT)")
    _sql(url, "CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    with pytest.raises(LedgerError) as info:
        Ledger(url)
    assert str(info.value).startswith(f"{describe(url)} is not a freqtrade-feedback ledger: it "
                                      f"has other tables (orders, trades)")
    assert _sql(url, "SELECT count(*) FROM trades") == 0
    with pytest.raises(Exception, match="feedback_meta"):  # no table of ours was made
        _sql(url, "SELECT count(*) FROM feedback_meta")


def test_a_text_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just some notes that are long enough\n" * 40)
    with pytest.raises(LedgerError, match=r"notes.txt is not a freqtrade-feedback ledger"):
        Ledger(f"sqlite:///{path}")


# -- storage failures ------------------------------------------------------------------------------


def test_a_read_only_ledger_fails_writes_with_ledger_error(url: str) -> None:
    """Opened read-only: SQLite's read-only URI (works as root too, where chmod would not
    stop a write), PostgreSQL's read-only transactions (as a role without rights)."""
    with Ledger(url) as ledger:
        _fill(ledger, 2)
    with Ledger(read_only(url)) as read_only_ledger:
        assert read_only_ledger.counts()["outcomes"] == 2  # reads work
        with pytest.raises(LedgerError) as info:
            read_only_ledger.record_outcome(_outcome(5), key="trade:5:a")
        where = read_only_ledger.where
    message = str(info.value)
    assert message.startswith(f"Could not record the outcome 'trade:5:a' in the ledger {where}")
    assert ("readonly database" in message or "read-only transaction" in message)
    assert "\n" not in message


def test_a_missing_folder_fails_with_ledger_error(tmp_path: Path) -> None:
    path = tmp_path / "gone" / "ledger.sqlite"
    with pytest.raises(LedgerError, match=r"in the ledger .*gone/ledger.sqlite: OperationalError: "
                                          r"unable to open database file"):
        Ledger(f"sqlite:///{path}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", r"The 'ledger_url' setting is not a valid SQLAlchemy URL"),
        ("nosuchdialect://x", r"not a valid SQLAlchemy URL \(Can't load plugin"),
        ("mysql+nosuchdriver://bot:secret@db/x", r"not a valid SQLAlchemy URL"),
    ],
)
def test_an_invalid_url_is_a_ledger_error(url: str, message: str) -> None:
    with pytest.raises(LedgerError, match=message) as info:
        Ledger(url)
    assert "secret" not in str(info.value)


def test_a_missing_driver_names_the_module(monkeypatch: pytest.MonkeyPatch) -> None:
    import freqtrade_feedback.ledger.ledger as module

    def no_driver(url: str) -> None:
        raise ModuleNotFoundError("No module named 'pymysql'", name="pymysql")

    monkeypatch.setattr(module, "make_engine", no_driver)
    with pytest.raises(LedgerError, match=r"ledger mysql\+pymysql://bot:\*\*\*@db/x needs a "
                                          r"database driver .* \(pip install pymysql\)"):
        Ledger("mysql+pymysql://bot:secret@db/x")


@pytest.mark.parametrize("url", ["postgresql://bot:secret@db/x",
                                 "postgresql+psycopg://bot:secret@db/x"])
def test_a_postgresql_url_without_psycopg_names_the_extra(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """psycopg is the ``postgres`` extra: without it (hidden here), the start fails with the
    command that installs it, and a bare ``postgresql://`` asks for psycopg too (not psycopg2,
    SQLAlchemy 2.0's default)."""
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(LedgerError) as info:
        Ledger(url)
    message = str(info.value)
    assert message.startswith(f"The ledger {url.replace('secret', '***')} needs a database "
                              f"driver that is not installed")
    assert message.endswith(f"({POSTGRES_EXTRA}).") and "secret" not in message
    assert POSTGRES_EXTRA == "pip install 'freqtrade-feedback[postgres]'"


# -- export ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trips_row_counts(ledger: Ledger, tmp_path: Path, fmt: str) -> None:
    _fill(ledger, 4)
    ledger.record_shadow(_shadow(1), key=shadow_key(_signal(1).signal_id))
    ledger.record_transition(_transition(GuardState.LEARNING, GuardState.FROZEN, Trigger.ALARM, 1))
    paths = ledger.export(tmp_path / "export", format=fmt)
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    rows = {p.stem: len(read(p)) for p in paths}
    assert rows == {
        "feedback_meta": 1, "feedback_signals": 4, "feedback_decisions": 4,
        "feedback_outcomes": 4, "feedback_shadows": 1, "feedback_learn_steps": 2,
        "feedback_guard_events": 1, "feedback_checkpoints": 0,
    }
    outcomes = read(tmp_path / "export" / f"feedback_outcomes.{fmt}")
    assert list(outcomes["reason"]) == ["why 0", "why 1", "why 2", "why 3"]
    signals = read(tmp_path / "export" / f"feedback_signals.{fmt}")
    assert signals["features"][1] == '{"x": 1.0, "y": 0.5}'
    closed = pd.to_datetime(outcomes["closed_at"])
    assert str(closed.dt.tz) == "UTC" and closed[1] == pd.Timestamp(T0 + timedelta(hours=1))


def test_export_refuses_an_unknown_format(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'format' parameter of Ledger.export must be one of"):
        ledger.export(tmp_path, format="xlsx")  # type: ignore[arg-type]
