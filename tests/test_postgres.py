"""The ledger on a real PostgreSQL server, beyond what every ledger test runs on both backends:
bots of two strategies sharing one database, a server that is not there, and the server
restarted under Freqtrade's real dry-run bot (the replay), which must lose and double nothing.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import CONFIG, PAIRS, STRATEGIES, USER_ENVIRONMENT, real_data
from postgres import PostgresServer
from sqlalchemy import create_engine, text
from test_journal import _stream, drive

from freqtrade_feedback.cli.main import main
from freqtrade_feedback.config import load_settings
from freqtrade_feedback.exceptions import LedgerError
from freqtrade_feedback.journal import Journal
from freqtrade_feedback.ledger import Ledger, engine

FEEDBACK = {"min_outcomes": 5, "checkpoint_every": 7, "guard": {"enabled": True}}

# -- two strategies, one database ------------------------------------------------------------


def _bare(url: str) -> str:
    """The URL as a Freqtrade user writes its ``db_url``: ``postgresql://``, no driver."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def _status(capsys: pytest.CaptureFixture[str], config: Path) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["status", "--config", str(config), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_two_strategies_share_one_database_without_seeing_each_others_rows(
        postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Both bots' configs name the same database (as a docker-compose file would, in
    Freqtrade's ``postgresql://`` style); each strategy's ledger is its own schema, so
    signals with the same ids (same pairs, same candles) stay apart, and ``status``,
    ``export`` and a restart of each see only its own."""
    url = _bare(postgres_url)
    feedback = {**FEEDBACK, "ledger_url": url}
    streams = {"AlphaStrategy": _stream(40, seed=1), "BetaStrategy": _stream(25, seed=2)}
    counts, configs = {}, {}
    for strategy, stream in streams.items():
        journal = Journal.open(load_settings(feedback), tmp_path / "user_data", strategy)
        drive(journal, stream)
        counts[strategy] = journal.ledger.counts()
        journal.ledger.close()
        configs[strategy] = tmp_path / f"{strategy}.json"
        configs[strategy].write_text(json.dumps({
            "strategy": strategy, "user_data_dir": str(tmp_path / "user_data"),
            "dry_run": True, "db_url": f"sqlite:///{tmp_path / 'trades.sqlite'}",
            "feedback": feedback}))
    assert {c["signals"] for c in counts.values()} == {40, 25}
    assert _stream(40, seed=1)[0][0].signal_id == _stream(25, seed=2)[0][0].signal_id

    for strategy, config in configs.items():
        status = _status(capsys, config)
        assert status["signals"] == len(streams[strategy])
        assert status["outcomes_learned"] == counts[strategy]["learned"]
        assert status["ledger"].endswith(f'search_path="{strategy}"')
        out = tmp_path / f"export-{strategy}"
        assert main(["export", "--config", str(config), "--out", str(out)]) == 0
        assert len(pd.read_csv(out / "feedback_signals.csv")) == len(streams[strategy])
        restarted = Journal.open(load_settings(feedback), tmp_path / "user_data", strategy)
        assert restarted.ledger.counts() == counts[strategy]
        restarted.ledger.close()

    database = create_engine(postgres_url)
    with database.connect() as conn:
        schemas = set(conn.scalars(text(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'feedback_signals'")))
    database.dispose()
    assert schemas == set(streams)  # nothing in the database's default schema


def test_a_strategy_whose_bot_never_ran_has_no_ledger_and_gets_no_schema(
        postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``status``, ``freeze`` and ``export`` of a strategy with no ledger on the server exit 1
    naming the URL, and leave no empty schema behind, as they leave no SQLite file."""
    config = tmp_path / "never.json"
    config.write_text(json.dumps({
        "strategy": "NeverRan", "user_data_dir": str(tmp_path / "user_data"), "dry_run": True,
        "db_url": f"sqlite:///{tmp_path / 'trades.sqlite'}",
        "feedback": {**FEEDBACK, "ledger_url": _bare(postgres_url)}}))
    for command in ("status", "freeze", "export"):
        caplog.clear()
        assert main([command, "--config", str(config)]) == 1
        assert "No ledger at postgresql" in caplog.text and "'NeverRan'" in caplog.text
    database = create_engine(postgres_url)
    with database.connect() as conn:
        schemas = set(conn.scalars(text("SELECT schema_name FROM information_schema.schemata")))
    database.dispose()
    assert "NeverRan" not in schemas


def test_a_strategy_of_its_own_on_a_url_that_chooses_its_schema(postgres_url: str) -> None:
    """A URL that sets a ``search_path`` itself (one ledger per bot, say) is used as it is."""
    chosen = f"{postgres_url}?options=-csearch_path%3Dbot_one"
    assert engine.ledger_url(chosen, "user_data", "AlphaStrategy") == chosen
    with Ledger(chosen) as ledger:
        assert ledger.counts()["signals"] == 0
    database = create_engine(postgres_url)
    with database.connect() as conn:
        found = conn.scalar(text("SELECT table_schema FROM information_schema.tables "
                                 "WHERE table_name = 'feedback_meta'"))
    database.dispose()
    assert found == "bot_one"


# -- a server that is not there ------------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends


def test_a_server_that_is_not_there_is_one_line_naming_the_url() -> None:
    url = f"postgresql://bot:secret@127.0.0.1:{_closed_port()}/feedback"
    with pytest.raises(LedgerError) as info:
        Ledger(url)
    message = str(info.value)
    assert message.startswith("Could not open the schema in the ledger postgresql://bot:***@"
                              "127.0.0.1:")
    assert "OperationalError: connection failed" in message
    assert "secret" not in message and "\n" not in message


def test_a_database_that_does_not_exist_is_one_line_naming_it(
        postgres_server: PostgresServer) -> None:
    url = postgres_server.url("no_such_database")
    with pytest.raises(LedgerError, match=r'database "no_such_database" does not exist') as info:
        Ledger(url)
    assert "\n" not in str(info.value)


# -- the server restarted under a running replay ---------------------------------------------

REAL_WINDOW = (datetime(2024, 1, 10, 11, 30, tzinfo=UTC), datetime(2024, 1, 11, 11, tzinfo=UTC))
"""Real candles (282): an entry at 12:30 and its exit at 15:07, two entries the next morning,
one more after them (four trades on three pairs)."""
SYNTHETIC_WINDOW = (datetime(2024, 1, 28, 5, tzinfo=UTC), datetime(2024, 1, 29, 3, tzinfo=UTC))
"""The synthetic market's busiest hours (six trades), for a fresh clone without
``../shared/data``."""

_DRIVER = """
import json, sys
from freqtrade_feedback.replay import run_replay
config, datadir, db, user_data, strategies, timerange = sys.argv[1:7]

def on_candle(done, total, candle):
    print(int(candle.timestamp()), flush=True)
    sys.stdin.readline()  # the test may stop or start the server, then says go on

result = run_replay(json.loads(open(config).read()), datadir, timerange, "FeedbackSampleStrategy",
                    "sqlite:///" + db, strategy_path=strategies, user_data_dir=user_data,
                    on_candle=on_candle)
print("closed", result.trades_closed, flush=True)
"""
_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - ", re.MULTILINE)


def _trades(db: Path) -> dict[int, dict[str, Any]]:
    """Freqtrade's trades (read-only): open or not, when opened, and the signal id the plugin
    attached at the entry fill."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        trades = {i: {"open": bool(is_open), "opened": opened, "closed": closed, "signal": None}
                  for i, is_open, opened, closed in conn.execute(
                      "SELECT id, is_open, open_date, close_date FROM trades")}
        for trade_id, value in conn.execute(
                "SELECT ft_trade_id, cd_value FROM trade_custom_data "
                "WHERE cd_key = 'feedback_signal_id'"):
            trades[trade_id]["signal"] = value
    return trades


def _epoch(value: str) -> float:
    """A time as Freqtrade's SQLite database stores it (naive UTC), in epoch seconds."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()


def _records(log: str) -> list[str]:
    """The log's records, each on one line (the bot's log wraps long lines)."""
    starts = [m.start() for m in _RECORD.finditer(log)] + [len(log)]
    return [" ".join(log[a:b].split()) for a, b in zip(starts, starts[1:], strict=False)]


def _ledger_rows(url: str) -> tuple[set[str], dict[int, list[tuple[str, int]]]]:
    """The ledger's signal ids, and per trade id its outcomes: (status, learning steps)."""
    database = create_engine(url)
    with database.connect() as conn:
        signals = set(conn.scalars(text("SELECT signal_id FROM feedback_signals")))
        outcomes: dict[int, list[tuple[str, int]]] = {}
        for trade_id, status, steps in conn.execute(text(
                "SELECT o.trade_id, o.status, (SELECT count(*) FROM feedback_learn_steps s "
                "WHERE s.outcome_key = o.key) FROM feedback_outcomes o")):
            outcomes.setdefault(trade_id, []).append((status, steps))
    database.dispose()
    return signals, outcomes


def _replay_with_an_outage(server: PostgresServer, script: Path, config: Path, datadir: Path,
                           timerange: str, db: Path, user_data: Path, log: Path
                           ) -> tuple[int, int]:
    """Run the replay one candle at a time. Once the first trade is open (its signal decided
    and recorded), the server is killed while the bot goes on with the next candle; it is
    started again once a trade open before has closed and one opened in the outage. The
    candle open times (epoch seconds) of the stop and of the start."""
    stopped = started = 0
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, str(script), str(config), str(datadir), str(db), str(user_data),
             str(STRATEGIES), timerange],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True,
            env=USER_ENVIRONMENT)
        assert process.stdin is not None and process.stdout is not None
        before: set[int] = set()
        try:
            for line in process.stdout:
                if line.startswith("closed"):
                    continue
                candle = int(line)
                trades = _trades(db) if db.exists() else {}
                if not stopped and trades:
                    process.stdin.write("go\n")
                    process.stdin.flush()
                    server.stop("immediate")  # under load: the bot is on the next candle
                    stopped, before = candle, set(trades)
                    continue
                if stopped and not started and any(not trades[i]["open"] for i in before) \
                        and set(trades) - before:
                    server.start()
                    started = candle
                process.stdin.write("go\n")
                process.stdin.flush()
            process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if stopped and not started:
                server.start()  # the session's other tests need it
    assert process.returncode == 0, log.read_text()[-3000:]
    assert stopped and started, "the range held no trade open across the outage"
    return stopped, started


@pytest.mark.slow
def test_the_server_restarted_under_a_running_replay_loses_and_doubles_nothing(
        postgres_server: PostgresServer, postgres_url: str, candles_5m: Path,
        tmp_path: Path) -> None:
    """The real dry-run bot on three pairs, its ledger on PostgreSQL, the server killed
    mid-run and started again later. Meanwhile every signal gets the fallback (fail-open:
    the strategy trades alone), said in one warning and one notification; the trade that
    closed meanwhile is learned once the server is back, without a restart; afterwards the
    gate decides again. At the end every closed trade has one outcome in the ledger, learned
    exactly once when the gate decided its signal (recorded, not learned, when the fallback
    did), and the bot's learner is the one the ledger alone rebuilds."""
    config = json.loads(CONFIG.read_text(encoding="utf-8"))
    config["exchange"]["pair_whitelist"] = list(PAIRS)
    config["feedback"].update(ledger_url=postgres_url, fallback="take")
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    start, end = REAL_WINDOW if real_data() else SYNTHETIC_WINDOW
    script = tmp_path / "driver.py"
    script.write_text(_DRIVER, encoding="utf-8")
    db, user_data, log = tmp_path / "trades.sqlite", tmp_path / "user_data", tmp_path / "bot.log"
    user_data.mkdir()
    timerange = f"{int(start.timestamp())}-{int(end.timestamp())}"
    stopped, started = _replay_with_an_outage(
        postgres_server, script, config_path, candles_5m, timerange, db, user_data, log)

    trades = _trades(db)
    closed = {i for i, t in trades.items() if not t["open"]}
    url = engine.ledger_url(postgres_url, user_data, "FeedbackSampleStrategy")
    signals, outcomes = _ledger_rows(url)
    fallback = {i for i, t in trades.items() if t["signal"] not in signals}
    print(f"{len(trades)} trades, {len(closed)} closed, {len(fallback)} opened on the fallback, "
          f"outage from {datetime.fromtimestamp(stopped, UTC)} to "
          f"{datetime.fromtimestamp(started, UTC)}")
    assert fallback and all(  # opened in a candle after the stop, up to the start's
        stopped + 300 <= _epoch(trades[i]["opened"]) < started + 300 for i in fallback)
    assert set(outcomes) == closed  # none missing (open trades have none yet)
    assert all(len(rows) == 1 for rows in outcomes.values())  # none twice
    for trade_id, [(status, steps)] in outcomes.items():
        assert (status, steps) == (("unknown_signal", 0) if trade_id in fallback
                                   else ("learned", 1)), trade_id
    learned = closed - fallback
    assert any(stopped + 300 <= _epoch(trades[i]["closed"]) < started + 300 for i in learned), \
        "no trade decided by the gate closed in the outage"  # learned once the server is back
    assert any(_epoch(trades[i]["opened"]) >= started + 300 for i in learned), \
        "no trade decided by the gate after the outage"

    records = _records(log.read_text(errors="replace"))
    warned = [r for r in records if " - freqtrade_feedback." in r and " - WARNING - " in r
              and "No markets snapshot" not in r]  # the offline exchange's, at start
    notified = [r for r in records if "Sending rpc strategy_msg: freqtrade-feedback" in r]
    print(f"{len(learned)} learned, {len(warned)} warning(s), {len(notified)} notification(s)")
    assert len(warned) == 1 and "LedgerError" in warned[0]
    assert "fallback 'take' applied to every signal" in warned[0]
    assert len(notified) == 1
    assert sum("takes writes again; the gate decides again" in r for r in records) == 1

    settings = load_settings(config["feedback"])
    bots = Journal(settings, Ledger(url), user_data / "feedback" / "FeedbackSampleStrategy")
    alone = Journal(settings, Ledger(url), tmp_path / "no_checkpoints")  # the ledger alone
    learner, rebuilt = (j.loop.learner_for("ETH/USDT") for j in (bots, alone))
    steps = bots.ledger.learn_steps()
    realized = [s for s in steps if s.outcome_key.startswith("trade:")]
    assert len(realized) == len(learned)
    assert learner.n_learned == rebuilt.n_learned == len(steps)  # shadows of skipped ones too
    for step in steps:  # the learners agree on every signal they learned from
        x = bots.loop.model_input(step.pair, step.features)  # type: ignore[arg-type]
        assert learner.predict_proba_one(x) == rebuilt.predict_proba_one(x)
