"""What the operator commands (status, freeze, unfreeze, reset, export) share: which bot.

A running bot is found the way Freqtrade finds it: the same config files (``--config`` may be
given several times and is merged by Freqtrade's own loader), the strategy's class name and the
``user_data`` folder. From those follow the ledger and the checkpoint folder that
:meth:`Journal.open <freqtrade_feedback.journal.Journal.open>` uses, so a command reads exactly
what the bot wrote. Relative paths (``user_data``, an SQLite ``db_url``) are relative to the
working directory, as for ``freqtrade`` itself: run the commands from the bot's folder.

None of these helpers creates anything: an operator who mistypes a strategy name must get an
error naming where the ledger was looked for, not a new, empty ledger in a new folder.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from freqtrade_feedback.cli.options import DEFAULT_CONFIG
from freqtrade_feedback.config import FeedbackSettings, load_settings
from freqtrade_feedback.exceptions import ConfigError, FeedbackError
from freqtrade_feedback.guard.states import InvalidTransition, Trigger
from freqtrade_feedback.ledger import Ledger
from freqtrade_feedback.ledger.engine import strategy_path

LEDGER_FILE = "ledger.sqlite"
"""The default ledger's file name inside the strategy's folder (as ``default_url`` names it)."""

STOP_THE_BOT = (
    "Stop the bot first: a running bot keeps its own copy of the learner and the guard in "
    "memory and overwrites the checkpoint with it."
)


def add_bot_options(parser: argparse.ArgumentParser) -> None:
    """``--config`` (repeatable) ``--strategy --userdir``: the options that name a bot."""
    parser.add_argument("-c", "--config", type=Path, action="append", default=None,
                        help="Freqtrade config file; repeat to merge several, as with "
                             f"freqtrade (default: {DEFAULT_CONFIG})")
    parser.add_argument("-s", "--strategy", default=None,
                        help="strategy class name (default: the config's \"strategy\")")
    parser.add_argument("--userdir", type=Path, default=None,
                        help="Freqtrade user_data folder (default: the config's "
                             "\"user_data_dir\", else user_data)")


@dataclass(frozen=True)
class Bot:
    """A bot as its config describes it, and where its feedback data lives."""

    config: dict[str, Any]
    settings: FeedbackSettings
    strategy: str
    user_data_dir: Path

    @property
    def folder(self) -> Path:
        """``<user_data>/feedback/<strategy>``, as ``strategy_folder`` names it (not created)."""
        return strategy_path(self.user_data_dir, self.strategy)

    @property
    def default_ledger(self) -> Path:
        return (self.folder / LEDGER_FILE).resolve()

    @property
    def ledger_url(self) -> str:
        """The ledger the bot writes: ``feedback.ledger_url``, else the strategy's file."""
        return self.settings.ledger_url or f"sqlite:///{self.default_ledger}"

    @property
    def ledger_is_default(self) -> bool:
        """Whether the ledger is the strategy's own file (not a database set by ledger_url)."""
        return sqlite_file(self.ledger_url) == self.default_ledger

    def open_ledger(self) -> Ledger:
        """The bot's ledger; an error naming the file when the bot never wrote one."""
        self.require_ledger()
        return Ledger(self.ledger_url)

    def require_ledger(self) -> None:
        """Refuse a ledger file that does not exist, instead of creating an empty one."""
        path = sqlite_file(self.ledger_url)
        if path is not None and not path.is_file():
            raise FeedbackError(
                f"No ledger at {path} for the strategy {self.strategy!r}: the bot has not run "
                f"in dry-run or live with freqtrade-feedback yet (or --strategy, --userdir or "
                f"feedback.ledger_url point elsewhere)."
            )


def sqlite_file(url: str) -> Path | None:
    """The absolute file of an SQLite URL; ``None`` for another database or one in memory.

    >>> sqlite_file("sqlite:////data/ledger.sqlite"), sqlite_file("sqlite://")
    (PosixPath('/data/ledger.sqlite'), None)
    >>> sqlite_file("postgresql://bot@db/feedback") is None
    True
    """
    parsed = make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or name in ("", ":memory:"):
        return None
    return Path(name.removeprefix("file:")).resolve()


def load_bot(args: argparse.Namespace) -> Bot:
    """Read the config files with Freqtrade's loader and resolve the strategy and user_data.

    Freqtrade's full ``Configuration`` is not used: it sets up logging, validates the
    exchange section and resolves pair lists, none of which an operator command needs.
    """
    from freqtrade.configuration.load_config import load_from_files

    files = args.config or [DEFAULT_CONFIG]
    config = load_from_files([str(f) for f in files])
    strategy = args.strategy or config.get("strategy")
    if not strategy:
        raise ConfigError(
            f"No strategy name: pass --strategy NAME, or set the \"strategy\" key in the "
            f"config ({', '.join(str(f) for f in files)})."
        )
    user_data_dir = args.userdir or config.get("user_data_dir") or "user_data"
    return Bot(config, load_settings(config.get("feedback")), str(strategy), Path(user_data_dir))


def utc_stamp(now: datetime) -> str:
    """A UTC time for a folder name: sorts in time order, no characters a shell dislikes.

    >>> utc_stamp(datetime(2024, 6, 1, 12, 0, 5, tzinfo=UTC))
    '20240601T120005Z'
    """
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def add_guard_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``freeze`` and ``unfreeze``: the bot, and why (kept in the ledger)."""
    add_bot_options(parser)
    parser.add_argument("--reason", default="operator",
                        help="why, recorded with the guard event (default: %(default)s)")


def move_guard(args: argparse.Namespace, trigger: Trigger) -> int:
    """Fire an operator's trigger on the bot's guard, recorded and checkpointed at once.

    The journal is opened as the bot opens it at start (newest checkpoint, learning steps
    replayed), so the checkpoint written here is the bot's learner plus the guard's move.
    """
    from freqtrade_feedback.journal import Journal

    bot = load_bot(args)
    bot.require_ledger()
    journal = Journal.open(bot.settings, bot.user_data_dir, bot.strategy)
    try:
        transition = journal.fire(trigger, now=datetime.now(UTC), reason=args.reason)
    except InvalidTransition as error:
        raise FeedbackError(
            f"The guard of {bot.strategy!r} is {error.state.value}: {trigger.value} does not "
            f"apply ({error})"
        ) from error
    finally:
        journal.ledger.close()
    print(f"Guard of {bot.strategy}: {transition}")
    print("Start the bot again: it restores this checkpoint.")
    return 0


__all__ = [
    "STOP_THE_BOT", "Bot", "add_bot_options", "add_guard_options", "load_bot", "move_guard",
    "sqlite_file", "utc_stamp",
]
