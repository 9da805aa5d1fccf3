"""The guard: detectors of self-referential bias and the state machine that freezes learning.

One detector per module; ``base`` holds the contract, ``kinds`` the base class of each kind of
input (a number, a 0/1 event, a pair, a forecast, ...), ``checks`` the conformance suite that
every detector passes on a stream of its kind (plugin authors can run it on their own),
``states`` the table of transitions, ``guard`` the state machine that reads the detectors and
``wiring`` the table of which event of the loop feeds which detector, in which role.

>>> from freqtrade_feedback import guard
>>> guard.TRANSITIONS[guard.GuardState.LEARNING, guard.Trigger.ALARM].value
'frozen'
>>> [wire.name for wire in guard.WIRING if wire.role is guard.Role.WARN]
['self_fit_gap', 'calibration', 'coverage']
"""

from __future__ import annotations

from freqtrade_feedback.guard.acceptance_collapse import AcceptanceCollapse
from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.calibration import Calibration
from freqtrade_feedback.guard.checks import check_detector
from freqtrade_feedback.guard.coverage import Coverage
from freqtrade_feedback.guard.execution_gap import ExecutionGap
from freqtrade_feedback.guard.guard import Guard
from freqtrade_feedback.guard.kinds import (
    BinaryDetector,
    ComparisonDetector,
    FeatureDetector,
    ForecastDetector,
    PairedDetector,
    ScalarDetector,
    TreatmentDetector,
    TwoSampleDetector,
)
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
    Role,
    Rollback,
    Transition,
    Trigger,
)
from freqtrade_feedback.guard.wiring import WIRING, Board, Event, Wire

__all__ = [
    "TRANSITIONS",
    "WIRING",
    "AcceptanceCollapse",
    "BettingMean",
    "BinaryDetector",
    "Board",
    "Calibration",
    "ComparisonDetector",
    "Coverage",
    "Detector",
    "Event",
    "ExecutionGap",
    "FeatureDetector",
    "ForecastDetector",
    "Guard",
    "GuardState",
    "InvalidTransition",
    "NeverAlarm",
    "OwnImpact",
    "PairedDetector",
    "PairedLoss",
    "PeriodicAlarm",
    "Role",
    "Rollback",
    "ScalarDetector",
    "SelfFitGap",
    "Transition",
    "TreatmentDetector",
    "Trigger",
    "TwoSampleDetector",
    "Wire",
    "check_detector",
]
