"""``freqtrade-feedback freeze``: stop a bot's learning by hand, until ``unfreeze``.

For an operator who knows something the detectors cannot see yet (an exchange incident, a
strategy change): outcomes are still recorded, as ``quarantined``, but not learned. Stop the
bot first; its own copy of the guard in memory would overwrite this checkpoint.

``unfreeze``, the way back, takes the same options and runs :func:`move` with its trigger.
"""

from __future__ import annotations

import argparse

from freqtrade_feedback.cli.options import BOT, STOP_THE_BOT, add_options, bot_from
from freqtrade_feedback.guard.states import Trigger


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = STOP_THE_BOT
    add_options(parser, *BOT, "reason")


def move(args: argparse.Namespace, trigger: Trigger) -> int:
    """Fire ``trigger`` on the named bot's guard (recorded, checkpointed) and say so."""
    bot = bot_from(args)
    print(f"Guard of {bot.strategy}: {bot.fire(trigger, args.reason)}")
    print("Start the bot again: it restores this checkpoint.")
    return 0


def run(args: argparse.Namespace) -> int:
    return move(args, Trigger.MANUAL_FREEZE)
