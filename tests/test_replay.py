"""The replay drives Freqtrade's real dry-run bot over real candles, offline, and resumes.

One pair (ETH/USDT) over five hours of 2024-01-10 keeps the file fast: the sample strategy
enters once (12:30, signal on the 12:25 candle) and exits on ROI at 15:07. Each replay has a
user_data folder of its own: its ledger is there, where the bot keeps it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from conftest import CONFIG, STRATEGIES
from freqtrade.enums import CandleType
from freqtrade.exceptions import OperationalException

from freqtrade_feedback.cli.main import main
from freqtrade_feedback.ledger import Ledger
from freqtrade_feedback.replay import ReplayResult, run_replay
from freqtrade_feedback.replay.market import ReplayMarket, tick_path

START = datetime(2024, 1, 10, 11, tzinfo=UTC)
END = datetime(2024, 1, 10, 16, tzinfo=UTC)
TIMERANGE = f"{int(START.timestamp())}-{int(END.timestamp())}"
CANDLES = 60
STOP_AFTER = 24
"""The stop falls at 12:55, while the trade opened at 12:30 is still open."""
FIVE_MINUTES = timedelta(minutes=5)


def eth_config() -> dict[str, Any]:
    config = json.loads(CONFIG.read_text(encoding="utf-8"))
    config["exchange"]["pair_whitelist"] = ["ETH/USDT"]
    return config


def replay(datadir: Path, user_data: Path, db: Path, **kwargs: Any) -> ReplayResult:
    user_data.mkdir(exist_ok=True)
    return run_replay(eth_config(), datadir, TIMERANGE, "FeedbackSampleStrategy",
                      f"sqlite:///{db}", strategy_path=STRATEGIES, user_data_dir=user_data,
                      **kwargs)


def ledger_of(user_data: Path) -> Ledger:
    """The ledger the replay's bot wrote: the strategy's own file under its user_data."""
    return Ledger(f"sqlite:///{user_data / 'feedback/FeedbackSampleStrategy/ledger.sqlite'}")


def db_trades(db: Path) -> list[dict[str, Any]]:
    """Every trade in the replay's database, as plain values."""
    from freqtrade.persistence import Trade, init_db

    init_db(f"sqlite:///{db}")
    return [
        {"id": t.id, "pair": t.pair, "open": t.open_date_utc, "close": t.close_date_utc,
         "open_rate": t.open_rate,
         "is_open": t.is_open, "exit_reason": t.exit_reason,
         "signal_id": t.get_custom_data("feedback_signal_id")}
        for t in Trade.get_trades_proxy()
    ]


def closed(trades: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(t["pair"], t["open"], t["close"], t["exit_reason"]) for t in trades
            if not t["is_open"]}


@pytest.fixture(scope="module")
def uninterrupted(binance_5m: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> tuple[ReplayResult, Path]:
    folder = tmp_path_factory.mktemp("replay")
    db = folder / "whole.sqlite"
    return replay(binance_5m, folder / "user_data", db), db


def test_the_real_bot_trades_and_the_exit_reaches_the_feedback_loop(
        uninterrupted: tuple[ReplayResult, Path]) -> None:
    result, db = uninterrupted
    trades = db_trades(db)
    assert result.candles == CANDLES
    assert (result.first_candle, result.last_candle) == (START, END - FIVE_MINUTES)
    assert result.resumed_from is None
    assert result.trades_closed >= 1
    assert len(closed(trades)) == result.trades_closed
    assert result.feedback is not None
    assert result.feedback["outcomes"] == result.trades_closed  # order_filled(exit) ran
    for trade in trades:
        assert trade["signal_id"], f"no feedback_signal_id on {trade}"


def test_entries_fall_on_the_backtest_candles_at_their_open_price(
        uninterrupted: tuple[ReplayResult, Path], backtest: Any) -> None:
    """Causality, checked end to end: a bot that saw the running candle would enter one
    candle earlier than Freqtrade's own backtest, which signals on closed candles only."""
    expected = backtest(TIMERANGE).trades
    expected = expected[expected["pair"] == "ETH/USDT"]
    replayed = db_trades(uninterrupted[1])
    assert [t["open"].replace(second=0) for t in replayed] == list(expected["open_date"])
    assert [t["open_rate"] for t in replayed] == pytest.approx(list(expected["open_rate"]))


def test_stop_and_resume_on_the_same_database_gives_the_same_trades(
        uninterrupted: tuple[ReplayResult, Path], binance_5m: Path, tmp_path: Path) -> None:
    db, user_data = tmp_path / "resumed.sqlite", tmp_path / "user_data"
    first = replay(binance_5m, user_data, db, stop_after=STOP_AFTER)
    assert first.candles == STOP_AFTER
    assert any(t["is_open"] for t in db_trades(db)), "the stop should leave a trade open"

    second = replay(binance_5m, user_data, db)
    assert second.resumed_from == first.last_candle
    assert second.first_candle == first.last_candle + FIVE_MINUTES
    assert first.candles + second.candles == CANDLES
    assert second.trades_closed >= 1  # the trade opened by the first run
    assert closed(db_trades(db)) == closed(db_trades(uninterrupted[1]))
    assert not any(t["is_open"] for t in db_trades(db))

    third = replay(binance_5m, user_data, db)
    assert (third.candles, third.resumed_from) == (0, END - FIVE_MINUTES)

    # The plugin's ledger is the bot's (user_data/feedback/<strategy>); the trade open across
    # the restart was learned when it closed, from the signal the first run recorded.
    with ledger_of(user_data) as ledger:
        counts = ledger.counts()
        assert counts["outcomes"] == counts["learned"] == len(closed(db_trades(db)))
        assert ledger.reconciled_trade_ids() == {t["id"] for t in db_trades(db)}


def test_the_bot_sees_only_closed_candles_and_prices_of_the_running_one(
        binance_5m: Path) -> None:
    market = ReplayMarket(binance_5m, "feather", "5m", CandleType.SPOT, history=300)
    running = datetime(2024, 1, 10, 12, 30, tzinfo=UTC)
    with time_machine.travel(running + timedelta(seconds=1), tick=False):
        end = market.closed_count("ETH/USDT", "5m", CandleType.SPOT)
        window = market.window("ETH/USDT", "5m", CandleType.SPOT, end)
    assert len(window) == 300
    assert window["date"].iat[-1] == running - FIVE_MINUTES
    candles = market.candles("ETH/USDT", "5m", CandleType.SPOT).frame
    path = tick_path(candles.loc[candles["date"] == running].iloc[0])
    for tick, expected in enumerate(path):
        market.move_to(running, tick)
        assert market.price("ETH/USDT") == expected


def test_a_missing_pair_file_names_the_pair_and_the_file(
        binance_5m: Path, user_data: Path, tmp_path: Path) -> None:
    config = eth_config()
    config["exchange"]["pair_whitelist"] = ["ETH/USDT", "XRP/USDT"]
    with pytest.raises(OperationalException, match=r"XRP/USDT.*XRP_USDT-5m\.feather"):
        run_replay(config, binance_5m, TIMERANGE, "FeedbackSampleStrategy",
                   f"sqlite:///{tmp_path / 'x.sqlite'}", strategy_path=STRATEGIES,
                   user_data_dir=user_data)


def test_replay_then_status_on_one_config_see_the_same_trades_and_ledger(
        binance_5m: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """One rule for every command: a config that names no strategy and no db_url, replayed,
    then read by status with the same options (the trade database is Freqtrade's dry-run
    default, relative to the working directory, as for freqtrade itself)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "user_data").mkdir()
    config = eth_config()
    config.update(user_data_dir=str(tmp_path / "user_data"), strategy_path=str(STRATEGIES))
    assert "strategy" not in config and "db_url" not in config
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    assert main(["replay", "--config", str(path), "--datadir", str(binance_5m),
                 "--timerange", TIMERANGE, "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["candles"] == CANDLES and replayed["trades_closed"] >= 1
    assert replayed["db_url"] == "sqlite:///tradesv3.dryrun.sqlite"
    assert (tmp_path / "tradesv3.dryrun.sqlite").is_file()
    ledger = tmp_path / "user_data" / "feedback" / "FeedbackSampleStrategy" / "ledger.sqlite"
    assert replayed["ledger"] == str(ledger.resolve())

    assert main(["status", "--config", str(path), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["warnings"] == []
    assert status["strategy"] == "FeedbackSampleStrategy"
    assert status["ledger"] == replayed["ledger"]
    assert status["closed_trades"] == replayed["trades_closed"]
    assert status["unreconciled_trades"] == 0
    assert status["outcomes_recorded"] == replayed["feedback"]["outcomes"]


def test_a_database_a_real_bot_used_is_refused(binance_5m: Path, tmp_path: Path) -> None:
    """The config's db_url may be a real dry-run bot's: its trades are never mixed with
    simulated ones."""
    from freqtrade.persistence import KeyValueStore, init_db

    db = tmp_path / "tradesv3.dryrun.sqlite"
    (tmp_path / "user_data").mkdir()
    init_db(f"sqlite:///{db}")
    KeyValueStore.store_value("bot_start_time", datetime(2024, 1, 1, tzinfo=UTC))
    config = {**eth_config(), "db_url": f"sqlite:///{db}"}
    with pytest.raises(OperationalException, match=r"belongs to a bot that is not a replay"):
        run_replay(config, binance_5m, TIMERANGE, strategy_path=STRATEGIES,
                   user_data_dir=tmp_path / "user_data")
    assert not (tmp_path / "user_data" / "feedback").exists()


def test_a_new_database_with_another_runs_ledger_is_refused(
        uninterrupted: tuple[ReplayResult, Path], binance_5m: Path, tmp_path: Path) -> None:
    """Deleting (or changing) the trade database does not start the ledger over: the
    replay says so instead of learning another run's outcomes as its own."""
    user_data = uninterrupted[1].parent / "user_data"
    with ledger_of(user_data) as ledger:
        before = ledger.counts()
    with pytest.raises(OperationalException, match=r"is new, but the ledger .* already holds"):
        replay(binance_5m, user_data, tmp_path / "new.sqlite")
    with ledger_of(user_data) as ledger:
        assert ledger.counts() == before


def test_a_live_config_is_refused(binance_5m: Path, tmp_path: Path) -> None:
    config = {**eth_config(), "dry_run": False}
    (tmp_path / "user_data").mkdir()
    with pytest.raises(OperationalException, match=r"dry-run bot.*\"dry_run\": true"):
        run_replay(config, binance_5m, TIMERANGE, strategy_path=STRATEGIES,
                   user_data_dir=tmp_path / "user_data", db_url=f"sqlite:///{tmp_path}/x.db")
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("fallback", ["take", "skip"])
def test_a_read_only_ledger_gives_the_configured_fail_mode(
        fallback: str, uninterrupted: tuple[ReplayResult, Path], binance_5m: Path,
        user_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The bot keeps running on a ledger it cannot write: fail-open trades as the strategy
    alone, fail-closed makes no entry; the failure is one log line and one notification, not
    one per signal."""
    path = tmp_path / "ledger.sqlite"
    Ledger(f"sqlite:///{path}").close()
    config = eth_config()
    config["feedback"].update(ledger_url=f"sqlite:///file:{path}?mode=ro&uri=true",
                              fallback=fallback)
    db = tmp_path / "trades.sqlite"
    result = run_replay(config, binance_5m, TIMERANGE, "FeedbackSampleStrategy",
                        f"sqlite:///{db}", strategy_path=STRATEGIES, user_data_dir=user_data)
    expected = uninterrupted[0].trades_opened if fallback == "take" else 0
    assert result.trades_opened == expected
    failures = [r for r in caplog.records if "gate failed" in r.getMessage()]
    logged = [r for r in failures if r.name.startswith("freqtrade_feedback")]
    notified = [r for r in failures if "Sending rpc strategy_msg" in r.getMessage()]
    assert len(logged) == 1 and "LedgerError" in logged[0].getMessage()
    assert f"fallback '{fallback}' applied" in logged[0].getMessage()
    assert len(notified) == 1  # through Freqtrade's notifications (dp.send_msg)
