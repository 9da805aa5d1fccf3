"""``freqtrade-feedback status``: what a dry-run or live bot's feedback loop has recorded.

Read-only on purpose, so it is safe while the bot runs: the ledger is SQLite in WAL mode
(readers never block the bot's writes), and Freqtrade's trade database is opened read-only with
plain SQLAlchemy rather than Freqtrade's ``init_db``, which would create tables and migrate.

``guard_state`` is ``"off"`` when the config runs no guard (``feedback.enabled`` or
``feedback.guard.enabled`` false: ``FeedbackSettings.guarded``), whatever the ledger holds;
else the state the ledger's last guard event led to, or ``"learning"``, the state a guard
starts in, before any event.
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.table import Table
from sqlalchemy import URL, column, create_engine, exc, make_url, select, table

from freqtrade_feedback.bot import Bot
from freqtrade_feedback.cli.options import BOT, add_options, bot_from, positive_int
from freqtrade_feedback.guard.states import GuardState
from freqtrade_feedback.ledger import Ledger
from freqtrade_feedback.ledger.engine import cause, describe, sqlite_file

logger = logging.getLogger(__name__)

TRADES = table("trades", column("id"), column("is_open"))
"""The two columns of Freqtrade's ``trades`` table this command reads."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_options(parser, *BOT, "db_url", "json")
    parser.add_argument("--last", type=positive_int, default=10,
                        help="guard events to show (default: %(default)s)")


def _read_only(url: str) -> URL | str | None:
    """An SQLite file as a read-only URI (``None`` when the file is missing), other URLs as
    they are: the command only ever runs one SELECT on them."""
    if make_url(url).get_backend_name() != "sqlite":
        return url
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return None
    return URL.create("sqlite", database=f"file:{quote(str(path))}",
                      query={"mode": "ro", "uri": "true"})


def closed_trade_ids(url: str) -> tuple[set[int] | None, str | None]:
    """Ids of the closed trades in Freqtrade's database, or ``None`` and why they are unknown.

    A missing or unreadable database is a warning, not an error: the ledger's own figures
    are still worth showing, and a bot may keep its trades where this machine cannot see.
    """
    target = _read_only(url)
    where = str(sqlite_file(url) or describe(url))
    if target is None:
        return None, (f"Freqtrade's trade database {where} does not exist: closed and "
                      f"unreconciled trades are unknown (check db_url and dry_run, and run "
                      f"the command from the bot's folder).")
    try:
        engine = create_engine(target)
    except (exc.ArgumentError, ImportError) as error:
        return None, f"Cannot open Freqtrade's trade database {where}: {cause(error)}"
    try:
        with engine.connect() as conn:
            ids = conn.scalars(select(TRADES.c.id).where(TRADES.c.is_open.is_(False)))
            return {int(i) for i in ids}, None
    except exc.SQLAlchemyError as error:
        return None, f"Cannot read the trades of Freqtrade's database {where}: {cause(error)}"
    finally:
        engine.dispose()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _guard(bot: Bot, ledger: Ledger, last: int) -> dict[str, Any]:
    events = ledger.guard_events(last=last)
    if not bot.settings.guarded:
        state = "off"
    else:
        state = (ledger.guard_state() or GuardState.LEARNING).value
    return {
        "guard_state": state,
        "guard_reason": events[-1].reason if events else None,
        "guard_since": _iso(events[-1].at) if events else None,
        "last_guard_events": [
            {"at": _iso(e.at), "from": e.source.value, "to": e.target.value,
             "trigger": e.trigger.value, "reason": e.reason}
            for e in events
        ],
    }


def _learner(ledger: Ledger) -> dict[str, Any]:
    steps = ledger.learn_steps()
    newest = next(iter(ledger.checkpoints()), None)
    return {
        "first_learned_at": _iso(steps[0].learned_at) if steps else None,
        "last_learned_at": _iso(steps[-1].learned_at) if steps else None,
        "newest_checkpoint_at": _iso(newest.created_at) if newest else None,
        "newest_checkpoint_learned": newest.n_learned if newest else None,
    }


def gather(bot: Bot, last: int) -> dict[str, Any]:
    """Every figure the command shows, as JSON-ready values."""
    with bot.open_ledger() as ledger:
        counts = ledger.counts()
        status: dict[str, Any] = {
            "strategy": bot.strategy,
            "ledger": ledger.where,
            **_guard(bot, ledger, last),
            "signals": counts["signals"],
            "decisions": counts["decisions"],
            "outcomes_recorded": counts["outcomes"],
            "outcomes_learned": counts["learned"],
            "outcomes_not_learned": counts["not_learned"],
            "not_learned_by_status": ledger.not_learned_by_status(),
            "shadows": counts["shadows"],
            "guard_events": counts["guard_events"],
            "checkpoints": counts["checkpoints"],
            **_learner(ledger),
        }
        reconciled = ledger.reconciled_trade_ids()
    closed, warning = closed_trade_ids(bot.db_url)
    status["trades_db"] = describe(bot.db_url)
    status["closed_trades"] = None if closed is None else len(closed)
    status["unreconciled_trades"] = None if closed is None else len(closed - reconciled)
    status["warnings"] = [] if warning is None else [warning]
    return status


ROWS: dict[str, str] = {
    "guard_state": "Guard state",
    "guard_reason": "  why (last guard event)",
    "guard_since": "  since",
    "first_learned_at": "First learning step",
    "last_learned_at": "Last learning step",
    "newest_checkpoint_at": "Newest checkpoint",
    "newest_checkpoint_learned": "  outcomes it includes",
    "signals": "Signals",
    "decisions": "Decisions",
    "outcomes_recorded": "Outcomes recorded",
    "outcomes_learned": "  learned",
    "outcomes_not_learned": "  not learned",
    "shadows": "Shadow outcomes",
    "closed_trades": "Closed trades (Freqtrade)",
    "unreconciled_trades": "  not in the ledger yet",
}


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def render(status: dict[str, Any]) -> list[Table]:
    """The figures, then the last guard events, each a table."""
    figures = Table(title=f"Feedback status of {status['strategy']} ({status['ledger']})")
    figures.add_column("")
    figures.add_column("value")
    for key, label in ROWS.items():
        figures.add_row(label, _cell(status[key]))
        if key == "outcomes_not_learned":
            for reason, n in status["not_learned_by_status"].items():
                figures.add_row(f"    {reason}", str(n))
    shown = len(status["last_guard_events"])
    events = Table(title=f"Last {shown} guard events" if shown else "No guard events yet")
    for name in ("at", "from", "to", "trigger", "reason"):
        events.add_column(name)
    for event in status["last_guard_events"]:
        events.add_row(*(_cell(event[k]) for k in ("at", "from", "to", "trigger", "reason")))
    return [figures, events]


def run(args: argparse.Namespace) -> int:
    status = gather(bot_from(args), args.last)
    for warning in status["warnings"]:
        logger.warning("%s", warning)
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        console = Console()
        for part in render(status):
            console.print(part)
    return 0


__all__ = ["closed_trade_ids", "configure", "gather", "run"]

