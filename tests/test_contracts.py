"""Every guard detector against the one contract (``guard.checks``), as river does for its
estimators: ids are ``Detector:check``. The stream of each detector is generated from its kind
(``guard.checks.stream_for``), never written per detector."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from freqtrade_feedback import guard
from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.guard.checks import CHECKS, STREAMS, alarm_indices, stream_for
from freqtrade_feedback.guard.kinds import KINDS, kind_of

# Windows short enough for a generated stream to make each detector alarm (and reset).
DETECTORS: list[guard.Detector] = [
    guard.NeverAlarm(),
    guard.PeriodicAlarm(period=50, warmup=10),
    guard.AcceptanceCollapse(window=50, warmup=50),
    guard.SelfFitGap(window=50, warmup=20),
    guard.Calibration(window=100, warmup=30),
    guard.Coverage(window=100, warmup=30),
    guard.PairedLoss(warmup=20),
    guard.ExecutionGap(warmup=20),
    guard.OwnImpact(window=100, warmup=30),
]
CASES = [(detector, check) for detector in DETECTORS for check in CHECKS]


@pytest.mark.parametrize(("detector", "check"), CASES,
                         ids=[f"{type(d).__name__}:{c.__name__}" for d, c in CASES])
def test_detector_contract(detector: guard.Detector, check: Callable) -> None:
    check(detector.clone(), stream_for(detector))


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: type(d).__name__)
def test_the_stream_of_each_kind_makes_its_detectors_alarm(detector: guard.Detector) -> None:
    """So the checks above cover the reset after an alarm, on the changed half of the
    stream (the null baseline aside, which never alarms)."""
    stream = stream_for(detector)
    found = alarm_indices(detector.clone(), stream)
    if isinstance(detector, guard.NeverAlarm):
        assert found == []
    else:
        assert max(found, default=-1) >= len(stream) // 2


def test_every_public_detector_is_checked_and_of_one_kind() -> None:
    public = {getattr(guard, n) for n in guard.__all__ if isinstance(getattr(guard, n), type)
              and issubclass(getattr(guard, n), guard.Detector)}
    concrete = public - set(KINDS) - {guard.Detector}
    assert concrete == {type(d) for d in DETECTORS}
    assert all(kind_of(d) in STREAMS for d in DETECTORS)
    assert set(STREAMS) == set(KINDS)


def test_every_wired_detector_is_of_a_kind_and_passes_the_contract() -> None:
    """At their wired parameters: a longer stream, so that their windows fill in one pass."""
    board = guard.Board(GuardSettings())
    for detector in board.detectors.values():
        guard.check_detector(detector, stream_for(detector, n=2000))


def test_a_detector_of_no_kind_is_named() -> None:
    class Loose(guard.Detector):
        def _reset(self) -> None:
            pass

    with pytest.raises(TypeError, match="Loose derives from no detector kind"):
        stream_for(Loose())
