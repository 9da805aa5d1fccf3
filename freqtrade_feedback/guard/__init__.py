"""The guard: detectors of self-referential bias and the state machine that freezes learning.

One detector per module; ``base`` holds the contract and ``checks`` the conformance suite.
"""

from __future__ import annotations

from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.checks import check_detector

__all__ = ["Detector", "check_detector"]
