"""``freqtrade-feedback unfreeze``: let a frozen, suspect or probation guard learn again.

The operator's answer to an alarm they have checked and dismissed. Stop the bot first; its
own copy of the guard in memory would overwrite this checkpoint.
"""

from __future__ import annotations

import argparse

from freqtrade_feedback.cli.options import BOT, STOP_THE_BOT, add_options, bot_from
from freqtrade_feedback.guard.states import Trigger


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = STOP_THE_BOT
    add_options(parser, *BOT, "reason")


def run(args: argparse.Namespace) -> int:
    bot = bot_from(args)
    print(f"Guard of {bot.strategy}: {bot.fire(Trigger.MANUAL_UNFREEZE, args.reason)}")
    print("Start the bot again: it restores this checkpoint.")
    return 0
