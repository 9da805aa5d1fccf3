"""The operator commands on a real ledger and a Freqtrade-shaped trade database.

``any_bot`` is a bot whose ledger is the strategy's SQLite file, then one whose
``feedback.ledger_url`` is a PostgreSQL database (the strategy's schema in it): the commands
that read or move a ledger wherever it is (status, freeze, unfreeze, export) run on both;
``bot`` is the SQLite one, for what only a file has (its path, reset moving its folder).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from freqtrade.persistence import Trade
from freqtrade.persistence.base import ModelBase
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from test_journal import _stream, drive

from freqtrade_feedback.cli import reset
from freqtrade_feedback.cli.main import main
from freqtrade_feedback.config import load_settings
from freqtrade_feedback.journal import Journal
from freqtrade_feedback.ledger import engine

STRATEGY = "OpStrategy"
FEEDBACK = {"min_outcomes": 5, "checkpoint_every": 7, "guard": {"enabled": True}}
UNRECORDED_TRADE = 10_000


@dataclass(frozen=True)
class Bot:
    """A dry-run bot's files after a few hours, and what its journal knew when it stopped."""

    config: Path
    user_data: Path
    trades_db: Path
    counts: dict[str, int]
    guard_state: str
    feedback: dict[str, Any]
    """The config's ``"feedback"`` section (with the ledger_url of a bot on PostgreSQL)."""

    @property
    def folder(self) -> Path:
        return self.user_data / "feedback" / STRATEGY


def _write_config(path: Path, **config: Any) -> Path:
    path.write_text(json.dumps(config))
    return path


def _trades(path: Path, closed_ids: list[int], open_ids: list[int]) -> None:
    """Freqtrade's own ``trades`` table (its models, not ``init_db``'s global session)."""
    engine = create_engine(f"sqlite:///{path}")
    ModelBase.metadata.create_all(engine)
    t0 = datetime(2024, 1, 1)  # noqa: DTZ001 - Freqtrade stores naive UTC
    with Session(engine) as session:
        for trade_id in closed_ids + open_ids:
            closed = trade_id in closed_ids
            session.add(Trade(
                id=trade_id, pair="BTC/USDT", base_currency="BTC", stake_currency="USDT",
                stake_amount=10, amount=1, open_rate=10, open_date=t0, fee_open=0.001,
                fee_close=0.001, exchange="binance", leverage=1.0, is_open=not closed,
                close_date=t0 + timedelta(hours=1) if closed else None,
                close_rate=11 if closed else None,
            ))
        session.commit()
    engine.dispose()


def _bot(tmp_path: Path, url: str | None = None) -> Bot:
    """A bot after a few hours, its ledger the strategy's file or at ``url``."""
    feedback = FEEDBACK if url is None else {**FEEDBACK, "ledger_url": url}
    user_data = tmp_path / "user_data"
    trades_db = tmp_path / "tradesv3.dryrun.sqlite"
    config = _write_config(tmp_path / "config.json", strategy=STRATEGY,
                           user_data_dir=str(user_data), dry_run=True,
                           db_url=f"sqlite:///{trades_db}", feedback=feedback)
    journal = Journal.open(load_settings(feedback), user_data, STRATEGY)
    drive(journal, _stream(40))
    counts, state = journal.ledger.counts(), journal.loop.guard_state
    recorded = sorted(journal.ledger.reconciled_trade_ids())
    journal.ledger.close()
    assert len(recorded) >= 2 and UNRECORDED_TRADE not in recorded
    _trades(trades_db, closed_ids=[*recorded[:2], UNRECORDED_TRADE],
            open_ids=[UNRECORDED_TRADE + 1])
    return Bot(config, user_data, trades_db, counts, state, feedback)


@pytest.fixture
def bot(tmp_path: Path) -> Bot:
    return _bot(tmp_path)


@pytest.fixture
def any_bot(tmp_path: Path, ledger_url: str) -> Bot:
    """The bot with its ledger in the strategy's SQLite file, then in PostgreSQL."""
    return _bot(tmp_path, None if ledger_url.startswith("sqlite") else ledger_url)


def _json(capsys: pytest.CaptureFixture, *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["status", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_status_counts_the_ledger_and_the_trades_it_has_not_seen(any_bot: Bot, capsys) -> None:
    bot = any_bot
    status = _json(capsys, "--config", str(bot.config))
    assert status["signals"] == status["decisions"] == 40
    assert status["outcomes_recorded"] == bot.counts["outcomes"] > 0
    assert status["outcomes_learned"] == bot.counts["learned"] > 0
    assert status["outcomes_not_learned"] == bot.counts["outcomes"] - bot.counts["learned"]
    assert sum(status["not_learned_by_status"].values()) == status["outcomes_not_learned"]
    assert status["closed_trades"] == 3 and status["unreconciled_trades"] == 1
    assert status["guard_state"] == bot.guard_state == "learning"
    assert status["first_learned_at"] <= status["last_learned_at"]
    assert status["newest_checkpoint_at"] is not None and status["warnings"] == []
    if "ledger_url" in bot.feedback:  # the strategy's schema in that database
        where = engine.describe(engine.ledger_url(bot.feedback["ledger_url"], bot.user_data,
                                                  STRATEGY))
        assert status["ledger"] == where and where.endswith(f'search_path="{STRATEGY}"')
    else:
        assert status["ledger"] == str((bot.folder / "ledger.sqlite").resolve())


def test_status_prints_tables(any_bot: Bot, capsys) -> None:
    assert main(["status", "--config", str(any_bot.config)]) == 0
    out = capsys.readouterr().out
    assert "Guard state" in out and "learning" in out and "guard events" in out
    assert "Closed trades (Freqtrade)" in out


def test_several_configs_are_merged_as_freqtrade_does(any_bot: Bot, tmp_path: Path,
                                                      capsys) -> None:
    bot = any_bot
    base = _write_config(tmp_path / "base.json", user_data_dir=str(bot.user_data),
                         dry_run=True, feedback=bot.feedback)
    extra = _write_config(tmp_path / "extra.json", strategy=STRATEGY,
                          db_url=f"sqlite:///{bot.trades_db}")
    status = _json(capsys, "--config", str(base), "--config", str(extra))
    assert status["strategy"] == STRATEGY and status["closed_trades"] == 3


def test_a_missing_trade_database_is_a_warning_and_is_not_created(
    bot: Bot, tmp_path: Path, capsys, caplog
) -> None:
    missing = tmp_path / "elsewhere.sqlite"
    config = _write_config(tmp_path / "c.json", strategy=STRATEGY, dry_run=True,
                           user_data_dir=str(bot.user_data), db_url=f"sqlite:///{missing}",
                           feedback=FEEDBACK)
    status = _json(capsys, "--config", str(config))
    assert status["closed_trades"] is None and status["unreconciled_trades"] is None
    assert str(missing) in status["warnings"][0] and str(missing) in caplog.text
    assert not missing.exists()


def test_db_url_on_the_command_line_wins_over_the_config(
    bot: Bot, tmp_path: Path, capsys
) -> None:
    config = _write_config(tmp_path / "c.json", strategy=STRATEGY, dry_run=True,
                           user_data_dir=str(bot.user_data),
                           db_url=f"sqlite:///{tmp_path / 'elsewhere.sqlite'}", feedback=FEEDBACK)
    status = _json(capsys, "--config", str(config), "--db-url", f"sqlite:///{bot.trades_db}")
    assert status["closed_trades"] == 3 and status["trades_db"] == str(bot.trades_db)


def test_freeze_and_unfreeze_move_the_guard(any_bot: Bot, capsys, caplog) -> None:
    bot = any_bot
    config = ["--config", str(bot.config)]
    assert main(["freeze", *config, "--reason", "exchange incident"]) == 0
    assert "learning -> frozen" in capsys.readouterr().out
    status = _json(capsys, *config)
    assert status["guard_state"] == "frozen" and status["guard_reason"] == "exchange incident"
    assert status["last_guard_events"][-1]["trigger"] == "manual_freeze"
    restarted = Journal.open(load_settings(bot.feedback), bot.user_data, STRATEGY)
    assert restarted.loop.guard_state == "frozen"  # the bot's next start keeps it
    restarted.ledger.close()

    assert main(["unfreeze", *config]) == 0
    assert _json(capsys, *config)["guard_state"] == "learning"
    assert main(["unfreeze", *config]) == 1
    assert "is learning" in caplog.text and "manual_unfreeze" in caplog.text


def test_without_a_guard_status_says_off_and_freeze_exits_1(
    any_bot: Bot, tmp_path: Path, capsys, caplog
) -> None:
    config = _write_config(tmp_path / "c.json", strategy=STRATEGY,
                           user_data_dir=str(any_bot.user_data),
                           feedback={**any_bot.feedback, "guard": {"enabled": False}})
    assert _json(capsys, "--config", str(config))["guard_state"] == "off"
    assert main(["freeze", "--config", str(config)]) == 1
    assert "guard is off" in caplog.text


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_every_table(any_bot: Bot, tmp_path: Path, capsys, fmt: str) -> None:
    bot = any_bot
    out = tmp_path / "out"
    assert main(["export", "--config", str(bot.config), "--format", fmt,
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert str(out / f"feedback_signals.{fmt}") in printed
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    assert len(read(out / f"feedback_signals.{fmt}")) == 40
    assert len(read(out / f"feedback_outcomes.{fmt}")) == bot.counts["outcomes"]
    assert len(read(out / f"feedback_learn_steps.{fmt}")) == bot.counts["learned"]


def test_export_defaults_to_the_strategy_folder(any_bot: Bot, capsys) -> None:
    assert main(["export", "--config", str(any_bot.config)]) == 0
    (folder,) = any_bot.folder.glob("export-*")
    assert len(pd.read_csv(folder / "feedback_signals.csv")) == 40


def test_reset_moves_the_folder_aside(bot: Bot, capsys, caplog) -> None:
    assert main(["reset", "--config", str(bot.config), "--yes"]) == 0
    (moved,) = bot.folder.parent.glob(f"{STRATEGY}.reset-*")
    assert not bot.folder.exists() and (moved / "ledger.sqlite").is_file()
    assert (moved / "checkpoints").is_dir()
    assert main(["status", "--config", str(bot.config)]) == 1
    assert f"No ledger at {bot.folder.resolve() / 'ledger.sqlite'}" in caplog.text
    assert not bot.folder.exists()  # status looked, and created nothing


def test_reset_asks_first(bot: Bot, monkeypatch, capsys, caplog) -> None:
    config = ["reset", "--config", str(bot.config)]
    monkeypatch.setattr(reset.sys, "stdin", io.StringIO("y\n"))  # not a terminal
    assert main(config) == 2 and "--yes" in caplog.text
    terminal = io.StringIO("n\n")
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(reset.sys, "stdin", terminal)
    assert main(config) == 0 and "Nothing was moved" in capsys.readouterr().out
    assert bot.folder.is_dir()


def test_reset_refuses_a_ledger_elsewhere(bot: Bot, tmp_path: Path, caplog) -> None:
    config = _write_config(tmp_path / "c.json", strategy=STRATEGY,
                           user_data_dir=str(bot.user_data),
                           feedback={**FEEDBACK, "ledger_url": f"sqlite:///{tmp_path}/shared.db"})
    assert main(["reset", "--config", str(config), "--yes"]) == 1
    assert "shared database" in caplog.text and bot.folder.is_dir()


def test_a_config_without_a_strategy_means_the_sample_strategy(
    bot: Bot, tmp_path: Path, caplog
) -> None:
    """The rule of every command (replay's too): --strategy, else the config's, else
    FeedbackSampleStrategy; the error says the name was the default and creates nothing."""
    config = _write_config(tmp_path / "c.json", user_data_dir=str(bot.user_data))
    assert main(["status", "--config", str(config)]) == 1
    assert "'FeedbackSampleStrategy' (the default" in caplog.text and "--strategy" in caplog.text
    assert str(bot.user_data / "feedback" / "FeedbackSampleStrategy") in caplog.text
    assert not (bot.user_data / "feedback" / "FeedbackSampleStrategy").exists()


def test_a_strategy_without_a_ledger_exits_1_and_creates_nothing(bot: Bot, caplog) -> None:
    for command in ("status", "freeze", "export"):
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            assert main([command, "--config", str(bot.config), "--strategy", "Other"]) == 1
        assert "No ledger at" in caplog.text and "Other" in caplog.text
    assert not (bot.user_data / "feedback" / "Other").exists()
