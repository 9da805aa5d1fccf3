"""``freqtrade-feedback unfreeze``: let a frozen, suspect or probation guard learn again.

The operator's answer to an alarm they have checked and dismissed. Stop the bot first; its
own copy of the guard in memory would overwrite this checkpoint.
"""

from __future__ import annotations

import argparse

from freqtrade_feedback.cli.operating import STOP_THE_BOT, add_guard_options, move_guard
from freqtrade_feedback.guard.states import Trigger


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = STOP_THE_BOT
    add_guard_options(parser)


def run(args: argparse.Namespace) -> int:
    return move_guard(args, Trigger.MANUAL_UNFREEZE)
