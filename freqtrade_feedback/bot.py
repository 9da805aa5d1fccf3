"""Which bot a command means, and where its files are: one rule for every command.

A bot is named as Freqtrade names it: its config files (merged by Freqtrade's own loader),
its strategy and its ``user_data`` folder. Everything else follows from those, the same way
for ``replay`` (which runs a bot) and for ``status``, ``freeze``, ``unfreeze``, ``reset`` and
``export`` (which read or move what a bot wrote):

- the strategy: ``--strategy``, else the config's ``"strategy"``, else
  ``FeedbackSampleStrategy`` (the default of every command);
- the trade database: ``--db-url``, else the config's ``db_url``, else Freqtrade's default
  for the mode (``sqlite:///tradesv3.dryrun.sqlite`` in dry-run, ``sqlite:///tradesv3.sqlite``
  live), as Freqtrade picks it;
- the ledger: ``feedback.ledger_url``, else ``<user_data>/feedback/<strategy>/ledger.sqlite``
  (:func:`~freqtrade_feedback.ledger.engine.ledger_url`, the rule the bot's journal opens by),
  with the checkpoints beside it.

Relative paths (``user_data``, an SQLite ``db_url``) are relative to the working directory,
as for ``freqtrade`` itself: run the commands from the bot's folder. Nothing here creates a
file: an operator who mistypes a strategy name must get an error naming where the ledger was
looked for, not a new, empty ledger in a new folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freqtrade_feedback.config import FeedbackSettings, load_settings
from freqtrade_feedback.exceptions import FeedbackError
from freqtrade_feedback.ledger import Ledger
from freqtrade_feedback.ledger.engine import (
    LEDGER_FILE,
    describe,
    ledger_url,
    sqlite_file,
    strategy_path,
)
from freqtrade_feedback.ledger.schema import ledger_exists

if TYPE_CHECKING:
    from freqtrade_feedback.guard.states import Transition, Trigger

DEFAULT_CONFIG = Path("user_data/config.json")
DEFAULT_STRATEGY = "FeedbackSampleStrategy"


def config_files(configs: Sequence[Path | str] | None) -> list[str]:
    """The config files a command reads: ``--config`` (repeatable), else the default.

    >>> config_files(None), config_files(["a.json", Path("b.json")])
    (['user_data/config.json'], ['a.json', 'b.json'])
    """
    return [str(f) for f in configs or [DEFAULT_CONFIG]]


def strategy_name(given: str | None, config: Mapping[str, Any]) -> str:
    """``given`` (``--strategy``), else the config's ``"strategy"``, else the sample strategy.

    >>> strategy_name(None, {}), strategy_name(None, {"strategy": "Mine"})
    ('FeedbackSampleStrategy', 'Mine')
    >>> strategy_name("Other", {"strategy": "Mine"})
    'Other'
    """
    return str(given or config.get("strategy") or DEFAULT_STRATEGY)


def trades_db_url(config: Mapping[str, Any], given: str | None = None) -> str:
    """Freqtrade's trade database as Freqtrade picks it: ``given`` (``--db-url``), else the
    config's ``db_url``, else the dry-run or live default (a dry-run bot given the live default
    uses the dry-run one, as Freqtrade does).

    >>> trades_db_url({"dry_run": True}), trades_db_url({})
    ('sqlite:///tradesv3.dryrun.sqlite', 'sqlite:///tradesv3.sqlite')
    >>> trades_db_url({"dry_run": True, "db_url": "sqlite:///a.sqlite"}, "sqlite:///b.sqlite")
    'sqlite:///b.sqlite'
    """
    from freqtrade.constants import DEFAULT_DB_DRYRUN_URL, DEFAULT_DB_PROD_URL

    url = given or config.get("db_url")
    if config.get("dry_run", False):
        return DEFAULT_DB_DRYRUN_URL if url in (None, DEFAULT_DB_PROD_URL) else str(url)
    return str(url or DEFAULT_DB_PROD_URL)


@dataclass(frozen=True)
class Bot:
    """A bot as its config describes it, and where its trades and feedback data live."""

    config: dict[str, Any]
    settings: FeedbackSettings
    strategy: str
    user_data_dir: Path
    db_url: str
    """Freqtrade's trade database (see :func:`trades_db_url`)."""

    @property
    def folder(self) -> Path:
        """``<user_data>/feedback/<strategy>``, as ``strategy_folder`` names it (not created)."""
        return strategy_path(self.user_data_dir, self.strategy)

    @property
    def ledger_url(self) -> str:
        """The ledger the bot writes: ``feedback.ledger_url``, else the strategy's file."""
        return ledger_url(self.settings.ledger_url, self.user_data_dir, self.strategy,
                          create=False)

    @property
    def ledger_is_default(self) -> bool:
        """Whether the ledger is the strategy's own file (not a database set by ledger_url)."""
        return sqlite_file(self.ledger_url) == (self.folder / LEDGER_FILE).resolve()

    def open_ledger(self) -> Ledger:
        """The bot's ledger; an error naming the file when the bot never wrote one."""
        self.require_ledger()
        return Ledger(self.ledger_url)

    def require_ledger(self) -> None:
        """Refuse a ledger that does not exist (an SQLite file, or a strategy's schema on
        PostgreSQL), instead of creating an empty one."""
        if not ledger_exists(self.ledger_url):
            default = self.strategy == DEFAULT_STRATEGY and not self.config.get("strategy")
            why = " (the default: neither --strategy nor the config names one)" if default else ""
            where = sqlite_file(self.ledger_url) or describe(self.ledger_url)
            raise FeedbackError(
                f"No ledger at {where} for the strategy {self.strategy!r}{why}: the bot has "
                f"not run in dry-run, live or replay with freqtrade-feedback yet (or --strategy, "
                f"--userdir or feedback.ledger_url point elsewhere)."
            )

    def fire(self, trigger: Trigger, reason: str) -> Transition:
        """Fire an operator's trigger on the bot's guard, recorded and checkpointed at once.

        The journal is opened as the bot opens it at start (newest checkpoint, learning steps
        replayed), so the checkpoint written here is the bot's learner plus the guard's move.
        """
        from freqtrade_feedback.guard.states import InvalidTransition
        from freqtrade_feedback.journal import Journal

        self.require_ledger()
        journal = Journal.open(self.settings, self.user_data_dir, self.strategy)
        try:
            return journal.fire(trigger, now=datetime.now(UTC), reason=reason)
        except InvalidTransition as error:
            raise FeedbackError(
                f"The guard of {self.strategy!r} is {error.state.value}: {trigger.value} does "
                f"not apply ({error})"
            ) from error
        finally:
            journal.ledger.close()


def bot_for(config: Mapping[str, Any], *, strategy: str | None = None,
            userdir: Path | str | None = None, db_url: str | None = None) -> Bot:
    """The bot a loaded config describes, with the command line's ``--strategy``,
    ``--userdir`` and ``--db-url`` (each ``None`` when not given)."""
    user_data_dir = userdir or config.get("user_data_dir") or "user_data"
    return Bot(dict(config), load_settings(config.get("feedback")),
               strategy_name(strategy, config), Path(user_data_dir),
               trades_db_url(config, db_url))


def find_bot(configs: Sequence[Path | str] | None, *, strategy: str | None = None,
             userdir: Path | str | None = None, db_url: str | None = None) -> Bot:
    """Read the config files (default: ``user_data/config.json``) with Freqtrade's loader,
    and the bot they describe (:func:`bot_for`).

    Freqtrade's full ``Configuration`` is not used: it sets up logging, validates the
    exchange section and resolves pair lists, none of which an operator command needs.
    """
    from freqtrade.configuration.load_config import load_from_files

    config = load_from_files(config_files(configs))
    return bot_for(config, strategy=strategy, userdir=userdir, db_url=db_url)


def utc_stamp(now: datetime) -> str:
    """A UTC time for a folder name: sorts in time order, no characters a shell dislikes.

    >>> utc_stamp(datetime(2024, 6, 1, 12, 0, 5, tzinfo=UTC))
    '20240601T120005Z'
    """
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


__all__ = [
    "DEFAULT_CONFIG", "DEFAULT_STRATEGY", "Bot", "bot_for", "config_files", "find_bot",
    "strategy_name",
    "trades_db_url", "utc_stamp",
]
