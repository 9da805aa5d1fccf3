"""The basic detectors: the contract over each, then behaviour on streams with a known answer.

Every stream is built here from a seeded ``numpy.random.default_rng``, so the alarm indices
below are pinned: a change that moves one is a change in behaviour, to be explained. The
false-alarm ceilings run each detector over 50 seeds of a stationary stream of 2,000 updates.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from freqtrade_feedback.guard import checks
from freqtrade_feedback.guard.acceptance_collapse import AcceptanceCollapse
from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.calibration import Calibration
from freqtrade_feedback.guard.checks import alarm_indices as alarms
from freqtrade_feedback.guard.coverage import Coverage
from freqtrade_feedback.guard.never_alarm import NeverAlarm
from freqtrade_feedback.guard.periodic_alarm import PeriodicAlarm
from freqtrade_feedback.guard.self_fit_gap import SelfFitGap

Stream = list[tuple[Any, ...]]
SEEDS = range(50)
MAX_FALSE_ALARM_SEEDS = 2  # 5% of 50 seeds, rounded down


def seeds_with_alarm(make: Callable[[], Detector], stream: Callable[[int], Stream]) -> list[int]:
    return [seed for seed in SEEDS if alarms(make(), stream(seed))]


# Streams ------------------------------------------------------------------------------------


def take_stream(
    seed: int, n: int = 2000, rate: float = 0.3, collapse_at: int | None = None, after: float = 0.05
) -> Stream:
    """One 0/1 take per signal, at `rate`, then at `after` from `collapse_at` on."""
    rng = np.random.default_rng(seed)
    rates = np.full(n, rate)
    if collapse_at is not None:
        rates[collapse_at:] = after
    return [(float(taken),) for taken in rng.random(n) < rates]


def loss_stream(
    seed: int,
    n: int = 2000,
    unbiased_share: float = 0.3,
    shift_at: int | None = None,
    shift: float = 0.2,
) -> Stream:
    """Log-losses of a calibrated model with p in [0.35, 0.65] on both streams; from
    `shift_at` on the unbiased losses are `shift` higher."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.35, 0.65, n)
    won = rng.random(n) < p
    unbiased = rng.random(n) < unbiased_share
    loss = np.where(won, -np.log(p), -np.log1p(-p))
    if shift_at is not None:
        loss += np.where(unbiased & (np.arange(n) >= shift_at), shift, 0.0)
    return [(float(value), bool(flag)) for value, flag in zip(loss, unbiased, strict=True)]


def forecast_stream(seed: int, n: int = 2000, miscalibrated_at: int | None = None) -> Stream:
    """Pairs (p, y) with p uniform in [0.1, 0.9]; y ~ Bernoulli(p), or Bernoulli(p / 2) from
    `miscalibrated_at` on."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 0.9, n)
    win_rate = p.copy()
    if miscalibrated_at is not None:
        win_rate[miscalibrated_at:] /= 2
    y = (rng.random(n) < win_rate).astype(float)
    return [(float(a), float(b)) for a, b in zip(p, y, strict=True)]


def feature_stream(
    seed: int, n: int = 2000, trained_share: float = 0.3, narrow_at: int | None = None
) -> Stream:
    """`n` updates: each signal (features a ~ N(0, 1), b ~ U(0, 1), c ~ Exp(1)) with
    `trained=False`, then again with `trained=True` for a random `trained_share` of them; from
    signal `narrow_at` on, the learner trains only on the signals with b > 0.7."""
    rng = np.random.default_rng(seed)
    stream: Stream = []
    signal = 0
    while len(stream) < n:
        x = {"a": rng.normal(), "b": rng.uniform(), "c": rng.exponential()}
        trained = rng.random() < trained_share
        if narrow_at is not None and signal >= narrow_at:
            trained = x["b"] > 0.7
        stream.append((x, False))
        if trained:
            stream.append((x, True))
        signal += 1
    return stream[:n]


def messy_feature_stream(seed: int, n: int = 600) -> Stream:
    """Like `feature_stream`, narrowing at signal 200, with missing and non-finite values."""
    rng = np.random.default_rng(seed)
    junk = [math.nan, math.inf, None]
    stream = feature_stream(seed, n=n, narrow_at=200)
    for x, _ in stream:
        if rng.random() < 0.1:
            x["a"] = junk[int(rng.integers(3))]
    return stream


# (a) The contract ---------------------------------------------------------------------------

CONTRACT: dict[str, tuple[Detector, Callable[[], Stream]]] = {
    "NeverAlarm": (NeverAlarm(), lambda: [(float(x),) for x in np.arange(300.0)]),
    "PeriodicAlarm": (PeriodicAlarm(period=40, warmup=10), lambda: take_stream(0, n=300)),
    "AcceptanceCollapse": (
        AcceptanceCollapse(window=50, warmup=50),
        lambda: take_stream(1, n=600, rate=0.6, collapse_at=200),
    ),
    "SelfFitGap": (
        SelfFitGap(window=50, warmup=20),
        lambda: loss_stream(2, n=600, unbiased_share=0.5, shift_at=200, shift=0.5),
    ),
    "Calibration": (
        Calibration(window=100, warmup=30),
        lambda: forecast_stream(3, n=600, miscalibrated_at=200),
    ),
    "Coverage": (Coverage(window=100, warmup=40), lambda: messy_feature_stream(4)),
}


@pytest.mark.parametrize(
    ("name", "check"),
    [(name, check) for name in CONTRACT for check in checks.CHECKS],
    ids=[f"{name}:{check.__name__}" for name in CONTRACT for check in checks.CHECKS],
)
def test_contract(name: str, check: Callable[[Detector, Stream], None]) -> None:
    """Every detector meets every check of the contract on its stream."""
    detector, stream = CONTRACT[name]
    check(detector.clone(), stream())


@pytest.mark.parametrize("name", list(CONTRACT))
def test_contract_streams_raise_alarms(name: str) -> None:
    """The contract streams make the real detectors alarm, so the checks cover the reset."""
    detector, stream = CONTRACT[name]
    assert bool(alarms(detector.clone(), stream())) == (name != "NeverAlarm")


def narrow_from_the_start(n: int = 300) -> Stream:
    """Signals spread evenly over [0, 1); the learner trains only on those below 0.2."""
    stream: Stream = []
    for i in range(n):
        x = {"a": (i * 0.618034) % 1.0}
        stream.append((x, False))
        if x["a"] < 0.2:
            stream.append((x, True))
    return stream


EARLY: dict[str, tuple[Detector, Stream, int]] = {
    "PeriodicAlarm": (PeriodicAlarm(period=1, warmup=25), [(None,)] * 100, 25),
    "AcceptanceCollapse": (AcceptanceCollapse(window=50, warmup=50), [(0.0,)] * 100, 50),
    "SelfFitGap": (SelfFitGap(window=50, warmup=20), [(1.0, True), (0.1, False)] * 50, 39),
    "Calibration": (Calibration(window=100, warmup=30), [(0.9, 0.0)] * 100, 30),
    "Coverage": (Coverage(window=100, warmup=40), narrow_from_the_start(), 231),
}


@pytest.mark.parametrize("name", list(EARLY))
def test_a_stream_biased_from_the_start_alarms_only_after_the_warmup(name: str) -> None:
    """Bias from the first update: no alarm during the warm-up, then the first alarm at once
    (for SelfFitGap and Coverage, once both streams hold `warmup` samples)."""
    detector, stream, first = EARLY[name]
    checks.check_no_alarm_before_warmup(detector.clone(), stream)
    assert alarms(detector.clone(), stream)[0] == first


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: AcceptanceCollapse(window=0),
            "The 'window' parameter of AcceptanceCollapse must be an int >= 2. Got 0 instead.",
        ),
        (lambda: AcceptanceCollapse(threshold=1.5), "'threshold' parameter of Acceptance"),
        (lambda: AcceptanceCollapse(floor=-0.1), "'floor' parameter of AcceptanceCollapse"),
        (lambda: AcceptanceCollapse(warmup=2.5), "'warmup' parameter of AcceptanceCollapse"),
        (lambda: PeriodicAlarm(period=0), "'period' parameter of PeriodicAlarm"),
        (lambda: PeriodicAlarm(warmup=-1), "'warmup' parameter of PeriodicAlarm"),
        (lambda: SelfFitGap(window=True), "'window' parameter of SelfFitGap"),
        (lambda: SelfFitGap(threshold=math.nan), "'threshold' parameter of SelfFitGap"),
        (lambda: SelfFitGap(warmup=-5), "'warmup' parameter of SelfFitGap"),
        (lambda: Calibration(bins=0), "'bins' parameter of Calibration"),
        (lambda: Calibration(threshold=0), "'threshold' parameter of Calibration"),
        (lambda: Calibration(window=1), "'window' parameter of Calibration"),
        (lambda: Calibration(warmup=None), "'warmup' parameter of Calibration"),
        (lambda: Coverage(bins=1), "'bins' parameter of Coverage"),
        (lambda: Coverage(threshold="0.25"), "'threshold' parameter of Coverage"),
        (lambda: Coverage(window=1.0), "'window' parameter of Coverage"),
        (lambda: Coverage(warmup=-1), "'warmup' parameter of Coverage"),
    ],
)
def test_invalid_parameters_are_rejected_by_name(
    make: Callable[[], Detector], message: str
) -> None:
    """A bad constructor argument raises a ValueError that names the parameter and the class."""
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


@pytest.mark.parametrize(
    ("detector", "values", "message"),
    [
        (AcceptanceCollapse(), (2.0,), "'taken' value passed to AcceptanceCollapse.update"),
        (AcceptanceCollapse(), (math.nan,), "'taken' value passed to AcceptanceCollapse.update"),
        (SelfFitGap(), (math.inf, True), "'loss' value passed to SelfFitGap.update"),
        (Calibration(), (1.2, 1.0), "'p' value passed to Calibration.update"),
        (Calibration(), (0.5, math.nan), "'y' value passed to Calibration.update"),
    ],
)
def test_invalid_observations_are_rejected(
    detector: Detector, values: tuple[Any, ...], message: str
) -> None:
    """An impossible observation raises and leaves the detector unchanged."""
    with pytest.raises(ValueError, match=message):
        detector.update(*values)
    assert detector.n == 0


# (b) Behaviour: null and baseline objects ---------------------------------------------------


def test_never_alarm_never_alarms_and_reports_the_last_value() -> None:
    """NeverAlarm reads out the last finite value and never alarms or warns."""
    detector = NeverAlarm()
    values = np.random.default_rng(0).normal(0, 1e6, 5000)
    assert alarms(detector, [(float(x),) for x in values]) == []
    assert detector.statistic == values[-1]
    assert not detector.warning
    detector.update(math.nan)
    assert detector.statistic == 0.0


@pytest.mark.parametrize(
    ("period", "warmup", "expected"),
    [(100, 0, [99, 199, 299, 399, 499]), (100, 50, [149, 299, 449]), (1, 0, [0, 1, 2, 3, 4])],
)
def test_periodic_alarm_alarms_on_schedule(period: int, warmup: int, expected: list[int]) -> None:
    """Alarms fall every `warmup + period` updates, whatever the input."""
    n = 500 if period > 1 else 5
    assert alarms(PeriodicAlarm(period=period, warmup=warmup), [(None,)] * n) == expected


# (b) Behaviour: AcceptanceCollapse ----------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "expected"),
    [(0, [583]), (1, [579]), (2, [576, 677, 778, 953]), (3, [579]), (4, [582, 810])],
)
def test_acceptance_collapse_alarms_soon_after_the_collapse(seed: int, expected: list[int]) -> None:
    """The take rate falls from 0.6 to 0.05 at signal 500: the first alarm comes within 100
    signals. After it the reference is the collapsed rate, and windows of 100 signals at 5%
    holding at most one take fall below the floor now and then: the later alarms."""
    found = alarms(AcceptanceCollapse(), take_stream(seed, n=1000, rate=0.6, collapse_at=500))
    assert found == expected
    assert 500 < found[0] <= 600


def test_acceptance_collapse_floor_alarms_when_the_gate_stops_trading() -> None:
    """With a threshold too low to fire, the floor still catches a gate that stopped taking."""
    stream = [(float(i % 2),) for i in range(200)] + [(0.0,)] * 200
    detector = AcceptanceCollapse(window=100, threshold=0.01, warmup=100, floor=0.02)
    assert alarms(detector.clone(), stream[:298]) == [297]
    for values in stream[:298]:
        detector.update(*values)
    # One take left in the window: the rate 0.01 is below the floor, the ratio 0.02 is not
    # below the threshold.
    assert detector.rate == 0.01 and detector.statistic == pytest.approx(0.02)
    # After the reset the reference is 0, so the floor alone fires again after the warm-up.
    assert alarms(detector.clone(), stream) == [297, 398]


def test_acceptance_collapse_zero_reference_alarms_on_the_floor_only() -> None:
    """A gate that took nothing during the warm-up alarms on the floor; the ratio reads 0.0."""
    detector = AcceptanceCollapse(window=50, warmup=50)
    assert alarms(detector, [(0.0,)] * 120) == [50, 101]
    assert detector.statistic == 0.0


def test_acceptance_collapse_warns_before_it_alarms() -> None:
    """A take rate at 40% of the reference warns (below 2 x 0.25) without alarming."""
    stream = [(1.0,)] * 100 + [(float(i % 5 < 2),) for i in range(100)]
    detector = AcceptanceCollapse(window=100, threshold=0.25, warmup=100)
    assert alarms(detector, stream) == []
    assert detector.statistic == pytest.approx(0.4)
    assert detector.warning


def test_acceptance_collapse_without_warmup_uses_the_rate_since_the_reset() -> None:
    """With warmup=0 the reference is the take rate of every signal since the reset."""
    detector = AcceptanceCollapse(window=10, warmup=0, floor=0.0)
    for taken in [1.0] * 10 + [0.0] * 5:
        detector.update(taken)
    assert detector.reference == pytest.approx(10 / 15)
    assert detector.rate == 0.5
    assert detector.statistic == pytest.approx(0.75)


def test_acceptance_collapse_false_alarm_ceiling() -> None:
    """A steady 30% take rate alarms on at most 5% of seeds (measured: none)."""
    assert seeds_with_alarm(AcceptanceCollapse, take_stream) == []


def test_acceptance_collapse_low_take_rate_needs_a_longer_window() -> None:
    """At a steady 10% take rate a window of 100 signals holds about 10 takes, and noise alone
    alarms on 10 seeds of 50; a window (and warm-up) of 300 alarms on none."""
    low = functools.partial(take_stream, rate=0.1)
    assert len(seeds_with_alarm(AcceptanceCollapse, low)) == 10
    longer = functools.partial(AcceptanceCollapse, window=300, warmup=300)
    assert seeds_with_alarm(longer, low) == []


# (b) Behaviour: SelfFitGap ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "expected"), [(0, 1167), (1, 1141), (2, 1047), (3, 1084), (4, 1147)]
)
def test_self_fit_gap_alarms_when_the_unbiased_loss_rises(seed: int, expected: int) -> None:
    """The unbiased loss rises by 0.2 nats at update 1000: the first alarm follows it."""
    found = alarms(SelfFitGap(), loss_stream(seed, shift_at=1000))
    assert found[0] == expected
    assert 1000 < expected < 1300


def test_self_fit_gap_needs_a_significant_gap() -> None:
    """A gap above the threshold that the noise explains (Welch t about 1.1) does not alarm."""
    detector = SelfFitGap(window=30, threshold=0.08, warmup=30)
    for i in range(30):
        detector.update(float(i % 2), True)  # mean 0.5, sd 0.5
        detector.update(0.4, False)
    assert detector.statistic == pytest.approx(0.1)
    assert detector.t_statistic == pytest.approx(0.1 / math.sqrt(0.2586 / 30), rel=1e-3)
    assert not detector.alarm
    assert detector.warning


def test_self_fit_gap_constant_gap_alarms() -> None:
    """Constant losses with a positive gap: infinite t, so the gap alone decides."""
    detector = SelfFitGap(window=10, threshold=0.08, warmup=5)
    found = alarms(detector, [(0.8, True), (0.6, False)] * 5)
    assert detector.t_statistic == math.inf
    assert found == [9]


def test_self_fit_gap_waits_for_both_streams() -> None:
    """No alarm until each stream has `warmup` samples, however large the gap."""
    detector = SelfFitGap(window=50, threshold=0.08, warmup=30)
    stream = [(5.0 + i % 2, True) for i in range(200)] + [(0.1 * (i % 2), False) for i in range(30)]
    assert alarms(detector, stream) == [229]


def test_self_fit_gap_false_alarm_ceiling() -> None:
    """Equal losses on both streams alarm on at most 5% of seeds (measured: 2 of 50; 10 of 200
    seeds, 5%, so the default threshold sits right at the ceiling for this noise level)."""
    found = seeds_with_alarm(SelfFitGap, loss_stream)
    assert found == [13, 23]
    assert len(found) <= MAX_FALSE_ALARM_SEEDS


# (b) Behaviour: Calibration -----------------------------------------------------------------


@pytest.mark.parametrize(("seed", "expected"), [(0, 1231), (1, 1159), (2, 1324), (3, 1145)])
def test_calibration_alarms_when_the_model_overpredicts(seed: int, expected: int) -> None:
    """From update 1000 the model wins half as often as it says: the first alarm follows
    within two windows (the excess ECE needs most of the window miscalibrated)."""
    detector = Calibration()
    found = alarms(detector, forecast_stream(seed, miscalibrated_at=1000))
    assert found[0] == expected
    assert 1000 < expected < 1400


@pytest.mark.parametrize(("seed", "expected"), [(0, 158), (1, 68), (2, 54)])
def test_calibration_alarms_on_a_miscalibrated_stream(seed: int, expected: int) -> None:
    """y ~ Bernoulli(p / 2) from the start: alarms soon after the warm-up."""
    found = alarms(Calibration(), forecast_stream(seed, miscalibrated_at=0))
    assert found[0] == expected


def test_calibration_summaries_match_numpy() -> None:
    """ece, brier and calibration_in_the_large agree with a direct computation on the window."""
    stream = forecast_stream(7, n=250, miscalibrated_at=100)
    detector = Calibration(window=200, threshold=10.0, bins=10)  # no alarm, no reset
    for values in stream:
        detector.update(*values)
    p, y = np.array(stream[-200:]).T
    order = np.argsort(p, kind="stable")
    chunks = np.array_split(np.arange(200), 10)
    ece = sum(abs(y[order][c].mean() - p[order][c].mean()) * len(c) / 200 for c in chunks)
    chance = sum(math.sqrt(2 / math.pi * (p[order][c] * (1 - p[order][c])).sum()) for c in chunks)
    assert detector.ece == pytest.approx(ece)
    assert detector.statistic == pytest.approx(ece - chance / 200)
    assert detector.brier == pytest.approx(np.mean((p - y) ** 2))
    assert detector.calibration_in_the_large == pytest.approx(y.mean() - p.mean())


def test_calibration_raw_ece_would_alarm_on_a_calibrated_stream() -> None:
    """Why the statistic is the excess ECE: right after the warm-up the raw ECE of a calibrated
    model is above 0.15 on 9 seeds of 20, while the excess ECE stays near zero."""
    raw, excess = [], []
    for seed in range(20):
        detector = Calibration()
        for values in forecast_stream(seed, n=51):
            detector.update(*values)
        raw.append(detector.ece)
        excess.append(detector.statistic)
    assert sum(value > 0.15 for value in raw) == 9
    assert max(excess) < 0.1


def test_calibration_false_alarm_ceiling() -> None:
    """A calibrated model alarms on at most 5% of seeds (measured: none)."""
    assert seeds_with_alarm(Calibration, forecast_stream) == []


# (b) Behaviour: Coverage --------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "expected"), [(0, 1355), (1, 1371), (2, 1316)])
def test_coverage_alarms_when_training_narrows(seed: int, expected: int) -> None:
    """From signal 700 (update 910 or so) the learner trains only where b > 0.7: alarm, and b
    is to blame."""
    found = alarms(Coverage(), feature_stream(seed, narrow_at=700))
    assert found[0] == expected
    detector = Coverage()
    for values in feature_stream(seed, narrow_at=700)[: expected + 1]:
        detector.update(*values)
    assert detector.worst_feature == "b"
    assert detector.psi["b"] > 0.25 > max(detector.psi["a"], detector.psi["c"])


def test_coverage_ignores_non_finite_values_and_keeps_x_intact() -> None:
    """NaN, inf and None are skipped; the caller's dict is neither changed nor kept."""
    detector = Coverage(window=10, warmup=0)
    x = {"a": math.nan, "b": math.inf, "c": None, "d": 1.5}
    before = dict(x)
    detector.update(x, False)
    detector.update(x, True)
    assert x == before
    assert detector.psi == {"d": 0.0}
    x["d"] = 100.0
    detector.update({"d": 1.5}, True)
    assert detector.psi == {"d": 0.0}


def test_coverage_without_common_features_reads_zero() -> None:
    """No feature in both windows: the PSI is undefined, so it reads 0.0 and names nobody."""
    detector = Coverage(window=10, warmup=0)
    detector.update({"a": 1.0}, False)
    detector.update({"b": 1.0}, True)
    assert detector.statistic == 0.0
    assert detector.worst_feature is None
    assert not detector.alarm


def test_coverage_psi_of_a_known_split() -> None:
    """Two bins cut at the lower median of 0..9 (4): shares 0.4 | 0.6 against 0.9 | 0.1."""
    detector = Coverage(window=10, threshold=100.0, warmup=0, bins=2)  # no alarm, no reset
    for i in range(10):
        detector.update({"f": float(i)}, False)
        detector.update({"f": 0.0 if i < 9 else 9.0}, True)
    expected = (0.9 - 0.4) * math.log(0.9 / 0.4) + (0.1 - 0.6) * math.log(0.1 / 0.6)
    assert detector.statistic == pytest.approx(expected)


def test_coverage_false_alarm_ceiling() -> None:
    """Training on a random 30% of the signals alarms on at most 5% of seeds (measured: one,
    seed 6, at update 485 with 102 trained-on signals, where sampling noise alone gives a PSI
    of about 0.12 per feature; 4 of 200 seeds, 2%)."""
    found = seeds_with_alarm(Coverage, feature_stream)
    assert found == [6]
    assert len(found) <= MAX_FALSE_ALARM_SEEDS
