"""The guard: detectors of self-referential bias and the state machine that freezes learning.

One detector per module; ``base`` holds the contract, ``checks`` the conformance suite that
every detector passes (plugin authors can run it on their own), ``states`` the table of
transitions and ``guard`` the state machine that reads the detectors.

>>> from freqtrade_feedback import guard
>>> guard.TRANSITIONS[guard.GuardState.LEARNING, guard.Trigger.ALARM].value
'frozen'
"""

from __future__ import annotations

from freqtrade_feedback.guard.acceptance_collapse import AcceptanceCollapse
from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.calibration import Calibration
from freqtrade_feedback.guard.checks import check_detector
from freqtrade_feedback.guard.coverage import Coverage
from freqtrade_feedback.guard.execution_gap import ExecutionGap
from freqtrade_feedback.guard.guard import Guard
from freqtrade_feedback.guard.never_alarm import NeverAlarm
from freqtrade_feedback.guard.own_impact import OwnImpact
from freqtrade_feedback.guard.paired_loss import PairedLoss
from freqtrade_feedback.guard.periodic_alarm import PeriodicAlarm
from freqtrade_feedback.guard.self_fit_gap import SelfFitGap
from freqtrade_feedback.guard.sequential import BettingMean
from freqtrade_feedback.guard.states import (
    TRANSITIONS,
    GuardState,
    InvalidTransition,
    Transition,
    Trigger,
)

__all__ = [
    "TRANSITIONS",
    "AcceptanceCollapse",
    "BettingMean",
    "Calibration",
    "Coverage",
    "Detector",
    "ExecutionGap",
    "Guard",
    "GuardState",
    "InvalidTransition",
    "NeverAlarm",
    "OwnImpact",
    "PairedLoss",
    "PeriodicAlarm",
    "SelfFitGap",
    "Transition",
    "Trigger",
    "check_detector",
]
