"""``check_detector``: the contract every guard detector must meet, runnable by plugin authors.

Like river's ``check_estimator`` and scikit-learn's ``parametrize_with_checks``: one list of
checks, run over every detector in ``tests/test_contracts.py``. A detector is checked on a
stream of observations (tuples of ``update`` arguments) that the caller supplies, because
what one observation is differs between detectors.
"""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from freqtrade_feedback.guard.base import Detector

Stream = Sequence[tuple[Any, ...]]


def alarm_indices(detector: Detector, stream: Stream) -> list[int]:
    """Indices of the updates after which the detector was alarmed."""
    found = []
    for i, values in enumerate(stream):
        detector.update(*values)
        if detector.alarm:
            found.append(i)
    return found


def check_update_does_not_mutate_input(detector: Detector, stream: Stream) -> None:
    for values in stream:
        before = copy.deepcopy(values)
        detector.update(*values)
        assert values == before, f"{type(detector).__name__}.update mutated its input"


def check_no_alarm_before_warmup(detector: Detector, stream: Stream) -> None:
    for values in stream[: detector.warmup]:
        detector.update(*values)
        assert not detector.alarm, f"{type(detector).__name__} alarmed before warmup"


def check_statistic_finite_after_warmup(detector: Detector, stream: Stream) -> None:
    for i, values in enumerate(stream):
        detector.update(*values)
        if i >= detector.warmup:
            assert math.isfinite(detector.statistic), f"statistic not finite at {i}"


def check_clone_is_fresh_and_independent(detector: Detector, stream: Stream) -> None:
    clone = detector.clone()
    alarm_indices(detector, stream[: len(stream) // 2])
    fresh = detector.clone()
    assert alarm_indices(clone, stream) == alarm_indices(fresh, stream), (
        "clone() kept learned state"
    )


def check_pickle_round_trip_mid_stream(detector: Detector, stream: Stream) -> None:
    half = len(stream) // 2
    alarm_indices(detector, stream[:half])
    restored = pickle.loads(pickle.dumps(detector))
    twin = copy.deepcopy(detector)
    assert alarm_indices(restored, stream[half:]) == alarm_indices(twin, stream[half:])


def check_same_stream_same_alarms(detector: Detector, stream: Stream) -> None:
    assert alarm_indices(detector.clone(), stream) == alarm_indices(detector.clone(), stream)


def check_bounded_memory(detector: Detector, stream: Stream) -> None:
    """Memory after ten passes over the stream stays within twice that after one."""
    alarm_indices(detector, stream)
    one = len(pickle.dumps(detector))
    for _ in range(9):
        alarm_indices(detector, stream)
    assert len(pickle.dumps(detector)) <= 2 * one + 1024, "memory grows with the stream"


def check_repr_names_parameters(detector: Detector, stream: Stream) -> None:
    text = repr(detector)
    assert type(detector).__name__ in text
    for name in detector._get_params():
        assert name in text, f"repr does not show parameter {name!r}"


def check_reason_is_readable(detector: Detector, stream: Stream) -> None:
    alarm_indices(detector, stream)
    assert type(detector).__name__ in detector.reason()


CHECKS: tuple[Callable[[Detector, Stream], None], ...] = (
    check_update_does_not_mutate_input,
    check_no_alarm_before_warmup,
    check_statistic_finite_after_warmup,
    check_clone_is_fresh_and_independent,
    check_pickle_round_trip_mid_stream,
    check_same_stream_same_alarms,
    check_bounded_memory,
    check_repr_names_parameters,
    check_reason_is_readable,
)


def yield_checks(detector: Detector) -> Iterator[Callable[[Detector, Stream], None]]:
    """Every check that applies to ``detector`` (all of them, for now)."""
    yield from CHECKS


def check_detector(detector: Detector, stream: Stream) -> None:
    """Run every check on a fresh clone of ``detector`` with the given stream."""
    for check in yield_checks(detector):
        check(detector.clone(), stream)
