"""``check_detector``: the contract every guard detector must meet, runnable by plugin authors.

Like river's ``check_estimator`` and scikit-learn's ``parametrize_with_checks``: one list of
checks, run over every detector in ``tests/test_contracts.py``. A detector is checked on a
stream of observations (tuples of ``update`` arguments). What one observation is differs
between detectors, and each detector says so by its kind (``guard.kinds``), so the stream is
generated from the kind (``stream_for``), as river's checks pick a binary or a continuous
stream for a drift detector from its base class. A caller may pass its own stream instead.

Every generated stream is quiet for its first half and changes in its second (a take rate
that collapses, a loss that grows, a forecast that turns miscalibrated, ...), so that a
detector with a short enough window alarms on it and the checks cover its reset.
"""

from __future__ import annotations

import copy
import math
import pickle
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.kinds import (
    BinaryDetector,
    ComparisonDetector,
    FeatureDetector,
    ForecastDetector,
    PairedDetector,
    ScalarDetector,
    TreatmentDetector,
    TwoSampleDetector,
    kind_of,
)

Stream = Sequence[tuple[Any, ...]]
STREAM_LENGTH: Final = 600
"""Observations in a generated stream; the change comes at its middle."""


def _scalar(rng: random.Random, n: int) -> Stream:
    """A number around 0.6, one higher from the middle on."""
    return [(rng.gauss(0.6, 0.1) + (1.0 if i >= n // 2 else 0.0),) for i in range(n)]


def _binary(rng: random.Random, n: int) -> Stream:
    """Taken at a rate of 0.6, then 0.05 from the middle on."""
    return [(float(rng.random() < (0.6 if i < n // 2 else 0.05)),) for i in range(n)]


def _paired(rng: random.Random, n: int) -> Stream:
    """Two Brier-like losses of one example; the first grows by 0.3 from the middle on."""
    stream = []
    for i in range(n):
        second = rng.uniform(0.0, 0.5)
        first = second + rng.gauss(0.0, 0.1) + (0.3 if i >= n // 2 else 0.0)
        stream.append((min(max(first, 0.0), 1.0), second))
    return stream


def _forecast(rng: random.Random, n: int) -> Stream:
    """``p`` uniform in [0.1, 0.9]; the outcome a win with chance ``p``, then ``p / 2``."""
    stream = []
    for i in range(n):
        p = rng.uniform(0.1, 0.9)
        stream.append((p, float(rng.random() < (p if i < n // 2 else p / 2))))
    return stream


def _treatment(rng: random.Random, n: int) -> Stream:
    """A stake in [0.5, 1.5] and a noisy outcome that loses 1% per unit of stake from the
    middle on."""
    stream = []
    for i in range(n):
        stake = rng.uniform(0.5, 1.5)
        effect = -0.01 * stake if i >= n // 2 else 0.0
        stream.append((stake, effect + rng.gauss(0.0, 0.005)))
    return stream


def _two_sample(rng: random.Random, n: int) -> Stream:
    """Log-loss-like numbers of two samples; the second's grow by 0.5 from the middle on."""
    stream = []
    for i in range(n):
        second = rng.random() < 0.5
        shift = 0.5 if second and i >= n // 2 else 0.0
        stream.append((rng.gauss(0.69, 0.15) + shift, second))
    return stream


def _features(rng: random.Random, n: int) -> Stream:
    """Every signal in the first sample; a random 40% of them again in the second, then only
    those with ``b > 0.7`` from the middle on."""
    stream: list[tuple[Any, ...]] = []
    while len(stream) < n:
        x = {"a": rng.gauss(0.0, 1.0), "b": rng.random(), "c": rng.expovariate(1.0)}
        stream.append((x, False))
        if (x["b"] > 0.7) if len(stream) >= n // 2 else (rng.random() < 0.4):
            stream.append((dict(x), True))
    return stream[:n]


STREAMS: Final[dict[type[Detector], Callable[[random.Random, int], Stream]]] = {
    ScalarDetector: _scalar,
    BinaryDetector: _binary,
    ComparisonDetector: _paired,
    PairedDetector: _paired,
    ForecastDetector: _forecast,
    TreatmentDetector: _treatment,
    TwoSampleDetector: _two_sample,
    FeatureDetector: _features,
}
"""The stream of each kind (``guard.kinds.KINDS``)."""


def stream_for(detector: Detector, n: int = STREAM_LENGTH, seed: int = 0) -> Stream:
    """A stream of ``n`` observations of the detector's kind, quiet then changed at ``n // 2``.

    >>> from freqtrade_feedback.guard.calibration import Calibration
    >>> p, y = stream_for(Calibration(), n=4)[0]
    >>> 0.1 <= p <= 0.9 and y in (0.0, 1.0)
    True
    """
    return STREAMS[kind_of(detector)](random.Random(seed), n)


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


def check_detector(detector: Detector, stream: Stream | None = None) -> None:
    """Run every check on a fresh clone of ``detector``, on ``stream`` or else on the one
    generated for its kind (``stream_for``)."""
    observations = stream_for(detector) if stream is None else stream
    for check in yield_checks(detector):
        check(detector.clone(), observations)
