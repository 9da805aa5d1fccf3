"""``freqtrade-feedback unfreeze``: let a frozen, suspect or probation guard learn again.

The operator's answer to an alarm they have checked and dismissed: ``freeze``'s way back,
with its options. Stop the bot first; its own copy of the guard in memory would overwrite
this checkpoint.
"""

from __future__ import annotations

import argparse

from freqtrade_feedback.cli.freeze import configure, move
from freqtrade_feedback.guard.states import Trigger


def run(args: argparse.Namespace) -> int:
    return move(args, Trigger.MANUAL_UNFREEZE)


__all__ = ["configure", "run"]
