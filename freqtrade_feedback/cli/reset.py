"""``freqtrade-feedback reset``: start a strategy's learning over, keeping the old record.

The strategy's feedback folder (ledger and checkpoints) is moved aside to
``<strategy>.reset-<UTC time>`` next to it, never deleted: the old ledger stays readable for a
post-mortem, and a reset by mistake is undone by moving the folder back. The bot creates a new
ledger and a fresh learner at its next start. Stop the bot first: a running bot keeps its
ledger file open and would go on writing into the folder that was moved.

A ledger in another database (``feedback.ledger_url``) is not touched: it may be shared with
other bots, and only its operator can decide how to empty it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime

from freqtrade_feedback.bot import utc_stamp
from freqtrade_feedback.cli.main import EXIT_USAGE
from freqtrade_feedback.cli.options import BOT, STOP_THE_BOT, add_options, bot_from
from freqtrade_feedback.exceptions import FeedbackError
from freqtrade_feedback.ledger.engine import describe

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = STOP_THE_BOT
    add_options(parser, *BOT)
    parser.add_argument("-y", "--yes", action="store_true",
                        help="do not ask for confirmation (needed when stdin is not a terminal)")


def _confirmed(question: str) -> bool:
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    bot = bot_from(args)
    if not bot.ledger_is_default:
        raise FeedbackError(
            f"The ledger of {bot.strategy!r} is not the strategy's own file but "
            f"feedback.ledger_url ({describe(bot.ledger_url)}): a shared database must be "
            f"reset by its operator. Nothing was moved."
        )
    folder = bot.folder
    if not folder.is_dir():
        raise FeedbackError(f"Nothing to reset: {folder} does not exist.")
    target = folder.with_name(f"{folder.name}.reset-{utc_stamp(datetime.now(UTC))}")
    if target.exists():
        raise FeedbackError(f"{target} exists already: try again in a second.")
    question = f"Move {folder} aside to {target}? The bot then starts learning from scratch."
    if not args.yes:
        if not sys.stdin.isatty():
            logger.error("Refusing to reset without confirmation: stdin is not a terminal. "
                         "Pass --yes.")
            return EXIT_USAGE
        if not _confirmed(question):
            print("Nothing was moved.")
            return 0
    folder.rename(target)
    print(f"Moved {folder} to {target}. The bot starts a new ledger at its next start.")
    return 0
