"""The anytime-valid betting test and the detectors built on it, plus the own-impact regression.

Three kinds of tests: the detector contract (every check of ``guard.checks.CHECKS``, one test
each), known answers (alarm indices pinned on seeded streams) and false-alarm ceilings over
many seeded null streams. Streams are generated with numpy, seeded per test.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.checks import CHECKS, Stream
from freqtrade_feedback.guard.checks import alarm_indices as alarms
from freqtrade_feedback.guard.execution_gap import ExecutionGap
from freqtrade_feedback.guard.own_impact import OwnImpact
from freqtrade_feedback.guard.paired_loss import PairedLoss
from freqtrade_feedback.guard.sequential import BettingMean

# --- seeded streams ------------------------------------------------------------------------


def _step(n: int, size: float, start: int) -> np.ndarray:
    return np.where(np.arange(n) >= start, size, 0.0)


def paired_losses(seed: int, n: int, shift: float = 0.0, start: int = 0) -> Stream:
    """Brier losses of two exchangeable forecasters; the challenger's grows by ``shift``."""
    rng = np.random.default_rng(seed)
    outcome = (rng.random(n) < 0.5).astype(float)
    p_champion, p_challenger = rng.uniform(0.2, 0.8, (2, n))
    champion = (outcome - p_champion) ** 2
    challenger = (outcome - p_challenger) ** 2 + _step(n, shift, start)
    return list(zip(challenger.tolist(), champion.tolist(), strict=True))


def execution_gaps(
    seed: int, n: int, gap: float = 0.0, start: int = 0, noise: float = 0.003
) -> Stream:
    """``(realized, shadow)`` profit ratios; realized differs by ``gap`` from ``start`` on."""
    rng = np.random.default_rng(seed)
    shadow = rng.normal(0.0, 0.02, n)
    realized = shadow + _step(n, gap, start) + rng.normal(0.0, noise, n)
    return list(zip(realized.tolist(), shadow.tolist(), strict=True))


def impact_pairs(
    seed: int, n: int, effect: float = 0.0, start: int = 0, coin: bool = False
) -> Stream:
    """``(treatment, outcome)``: a randomized stake (or coin flip) and a noisy outcome."""
    rng = np.random.default_rng(seed)
    treatment = (rng.random(n) < 0.5).astype(float) if coin else rng.uniform(0.5, 1.5, n)
    outcome = _step(n, effect, start) * treatment + rng.normal(0.0, 0.005, n)
    return list(zip(treatment.tolist(), outcome.tolist(), strict=True))


def first(detector: Any, stream: Stream, flag: Callable[[Any], bool]) -> int | None:
    """Index of the first update after which ``flag(detector)`` holds, else None."""
    for i, values in enumerate(stream):
        detector.update(*values)
        if flag(detector):
            return i
    return None


def alarm_share(make: Callable[[], Detector], streams: Sequence[Stream]) -> float:
    """Share of the streams on which a fresh detector ever alarms."""
    return sum(first(make(), s, lambda d: d.alarm) is not None for s in streams) / len(streams)


# --- (a) the detector contract -------------------------------------------------------------

CONTRACT: list[tuple[Detector, Stream]] = [
    (PairedLoss(), paired_losses(seed=1, n=600, shift=0.15, start=200)),
    (ExecutionGap(), execution_gaps(seed=2, n=600, gap=-0.006, start=200)),
    (OwnImpact(), impact_pairs(seed=3, n=600, effect=-0.01, start=200)),
]


@pytest.mark.parametrize(
    ("detector", "stream", "check"),
    [
        pytest.param(det, stream, check, id=f"{type(det).__name__}:{check.__name__}")
        for det, stream in CONTRACT
        for check in CHECKS
    ],
)
def test_contract(detector: Detector, stream: Stream, check: Callable[..., None]) -> None:
    """Every detector meets every check of the contract on a stream that alarms and resets."""
    assert alarms(detector.clone(), stream), "the contract stream should exercise an alarm"
    check(detector.clone(), stream)


@pytest.mark.parametrize(
    ("detector", "values"),
    [
        (PairedLoss(), [(1.0, 0.0)] * 100),
        (ExecutionGap(), [(-0.05, 0.0)] * 100),
        (OwnImpact(), [(float(i % 2), -0.01 * (i % 2)) for i in range(100)]),
    ],
    ids=["PairedLoss", "ExecutionGap", "OwnImpact"],
)
def test_overwhelming_evidence_alarms_on_the_first_update_after_warmup(
    detector: Detector, values: Stream
) -> None:
    """Evidence that crosses the threshold early is held back until ``warmup`` has passed."""
    assert first(detector, values, lambda d: d.alarm) == detector.warmup


# --- BettingMean ---------------------------------------------------------------------------


def coin_flips(seed: int, n: int, p_up: float) -> list[float]:
    """+1 with probability ``p_up``, else -1."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < p_up, 1.0, -1.0).tolist()


@pytest.mark.parametrize("alpha", [0.01, 0.1])
def test_betting_mean_type_one_error_under_optional_stopping(alpha: float) -> None:
    """Fair +-1 coins, checked after every one of 2,000 flips: at most alpha of 200 reject."""
    rejected = 0
    for seed in range(200):
        stream = [(x,) for x in coin_flips(seed, 2000, 0.5)]
        rejected += first(BettingMean(alpha=alpha), stream, lambda t: t.rejected) is not None
    slack = 2 * math.sqrt(alpha * (1 - alpha) / 200)
    assert rejected / 200 <= alpha + slack
    assert rejected == {0.01: 0, 0.1: 8}[alpha]


def test_betting_mean_detects_a_shift_of_0_2() -> None:
    """Coins with mean +0.2 are rejected in every seed, after a median of 271.5 flips."""
    delays = []
    for seed in range(200):
        stream = [(x,) for x in coin_flips(seed, 2000, 0.6)]
        delays.append(first(BettingMean(alpha=0.01), stream, lambda t: t.rejected))
    assert None not in delays
    assert np.median(delays) == 271.5


def test_betting_mean_wealth_stays_positive_at_the_worst_outcome() -> None:
    """After building up a bet, repeated worst-case observations at most halve the wealth."""
    test = BettingMean(bound=1.0, margin=0.5)
    for _ in range(50):
        test.update(1.0)
    for _ in range(50):
        before = test.log_wealth
        test.update(-5.0)  # clipped to -bound
        assert test.log_wealth >= before + math.log(0.5) - 1e-12
    assert test.wealth > 0.0
    assert math.isfinite(test.log_wealth)


def test_betting_mean_rejection_is_sticky_and_wealth_overflows_to_inf() -> None:
    """Once rejected the test stays rejected; a huge wealth reads as inf, its log stays finite."""
    test = BettingMean(alpha=0.05)
    for _ in range(5000):
        test.update(1.0)
    assert test.rejected and test.n == 5000
    assert test.wealth == math.inf
    assert test.log_threshold == pytest.approx(math.log(20))
    test.update(-1.0)
    assert test.rejected


def test_betting_mean_is_deterministic_and_picklable() -> None:
    """A pickled test resumes exactly where the original would be; the repr shows parameters."""
    stream = coin_flips(seed=4, n=300, p_up=0.55)
    one, two = BettingMean(), BettingMean()
    for x in stream[:150]:
        one.update(x)
        two.update(x)
    restored = pickle.loads(pickle.dumps(one))
    for x in stream[150:]:
        restored.update(x)
        two.update(x)
    assert restored.log_wealth == two.log_wealth
    assert repr(BettingMean()) == (
        "BettingMean (\n  bound=1.\n  alpha=0.01\n  margin=0.\n  memory=100.\n)")


# --- (b) known answers ---------------------------------------------------------------------


def test_paired_loss_alarms_soon_after_the_challenger_gets_worse() -> None:
    """The challenger's loss grows by 0.1 from update 300: the alarm follows 136-172 later."""
    found = {
        seed: first(PairedLoss(), paired_losses(seed, 1000, 0.1, 300), lambda d: d.alarm)
        for seed in range(3)
    }
    assert found == {0: 460, 1: 472, 2: 436}


def test_paired_loss_sees_a_better_challenger_without_alarm() -> None:
    """The challenger's loss is 0.1 lower: ``better`` turns True and the alarm never fires."""
    stream = paired_losses(seed=5, n=1000, shift=-0.1)
    detector = PairedLoss()
    assert alarms(detector, stream) == []
    assert detector.better and detector.statistic <= 0.0
    assert first(PairedLoss(), stream, lambda d: d.better) == 146


def test_paired_loss_statistic_warning_and_reason() -> None:
    """The warning (wealth 1/sqrt(alpha)) comes before the alarm; the reason names the class."""
    detector = PairedLoss(warmup=10)
    stream = paired_losses(seed=6, n=1000, shift=0.2)
    warned = first(detector, stream, lambda d: d.warning)
    alarmed = first(PairedLoss(warmup=10), stream, lambda d: d.alarm)
    assert warned is not None and alarmed is not None and warned < alarmed
    assert detector.threshold_value == pytest.approx(math.log(100))
    assert detector.reason().startswith("PairedLoss: statistic=")


def test_execution_gap_alarms_worse_when_fills_cost_more_than_the_candles() -> None:
    """Realized is 0.4% below shadow: alarm with side "worse" and the gap estimated."""
    detector = ExecutionGap()
    index = first(detector, execution_gaps(seed=7, n=2000, gap=-0.004), lambda d: d.alarm)
    assert index == 288
    assert detector.side == "worse"
    assert detector.mean_gap == pytest.approx(-0.004, abs=5e-4)


def test_execution_gap_alarms_better_when_trades_beat_the_market() -> None:
    """Realized is 0.4% above shadow: alarm with side "better" (a self-fulfilling loop)."""
    detector = ExecutionGap()
    index = first(detector, execution_gaps(seed=8, n=2000, gap=0.004), lambda d: d.alarm)
    assert index == 299
    assert detector.side == "better"


def test_execution_gap_within_tolerance_stays_quiet() -> None:
    """A gap of 0.1%, inside the 0.2% tolerance, never alarms; the threshold is log(2/alpha)."""
    detector = ExecutionGap()
    assert alarms(detector, execution_gaps(seed=9, n=2000, gap=0.001)) == []
    assert detector.side is None and detector.statistic < detector.threshold_value
    assert detector.threshold_value == pytest.approx(math.log(200))


def test_own_impact_alarms_when_the_outcome_depends_on_our_stake() -> None:
    """Outcome = -0.01 * stake + noise from update 300: the slope is found, the alarm fires."""
    detector = OwnImpact()
    stream = impact_pairs(seed=10, n=2000, effect=-0.01, start=300)
    index = first(detector, stream, lambda d: d.alarm)
    assert index == 370
    assert detector.statistic < -detector.threshold
    assert detector.slope == pytest.approx(-0.01, abs=0.004)


def test_own_impact_is_quiet_when_the_outcome_is_independent() -> None:
    """An outcome independent of the stake gives no alarm on this seed."""
    detector = OwnImpact()
    assert alarms(detector, impact_pairs(seed=11, n=2000)) == []
    assert abs(detector.statistic) < detector.threshold


def test_own_impact_degenerate_windows() -> None:
    """No treatment or outcome variance gives 0.0; a perfect fit gives a finite, huge t."""
    constant = OwnImpact(window=20, threshold=1e9, warmup=0)
    for i in range(40):
        constant.update(0.7, 0.001 * i)
    assert constant.statistic == 0.0 and constant.slope == 0.0 and not constant.alarm
    exact = OwnImpact(window=20, threshold=1e9, warmup=0)
    for i in range(20):
        exact.update(float(i), 2.0 * i)
    assert math.isfinite(exact.statistic) and exact.statistic > 1e5
    assert exact.slope == pytest.approx(2.0)
    flat = OwnImpact(window=20, threshold=1e9, warmup=0)
    for i in range(20):
        flat.update(float(i), 1.0)
    assert flat.statistic == 0.0 and flat.slope == 0.0


# --- (c) false-alarm ceilings --------------------------------------------------------------

SEEDS = range(1000, 1100)


def test_paired_loss_false_alarm_ceiling() -> None:
    """Exchangeable forecasters (mean difference exactly 0): at most 3% of 100 streams alarm."""
    share = alarm_share(PairedLoss, [paired_losses(seed, 2000) for seed in SEEDS])
    assert share <= 0.03
    assert share == 0.0


@pytest.mark.parametrize("gap", [0.0, 0.002, -0.002])
def test_execution_gap_false_alarm_ceiling(gap: float) -> None:
    """A mean gap of 0 or at the edge of the tolerance: at most 3% of 100 streams alarm."""
    share = alarm_share(ExecutionGap, [execution_gaps(seed, 2000, gap) for seed in SEEDS])
    assert share <= 0.03
    assert share == 0.0


@pytest.mark.parametrize("coin", [True, False], ids=["coin", "stake"])
def test_own_impact_false_alarm_ceiling(coin: bool) -> None:
    """Independent outcomes: at most 5% of 100 streams of 2,000 updates alarm."""
    share = alarm_share(OwnImpact, [impact_pairs(seed, 2000, coin=coin) for seed in SEEDS])
    assert share <= 0.05
    assert share == {True: 0.01, False: 0.02}[coin]


# --- parameter and input validation --------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: PairedLoss(alpha=2),
            "The 'alpha' parameter of PairedLoss must be a float in (0, 1). Got 2 instead.",
        ),
        (
            lambda: PairedLoss(margin=1.0),
            "The 'margin' parameter of PairedLoss must be a float in [0, 1.0). Got 1.0 instead.",
        ),
        (
            lambda: ExecutionGap(tolerance=-0.1),
            "The 'tolerance' parameter of ExecutionGap must be a float in [0, 0.05). "
            "Got -0.1 instead.",
        ),
        (
            lambda: ExecutionGap(warmup=2.5),
            "The 'warmup' parameter of ExecutionGap must be an int >= 0. Got 2.5 instead.",
        ),
        (
            lambda: OwnImpact(window=2),
            "The 'window' parameter of OwnImpact must be an int >= 3. Got 2 instead.",
        ),
        (
            lambda: OwnImpact(threshold=math.inf),
            "The 'threshold' parameter of OwnImpact must be a finite float > 0. Got inf instead.",
        ),
        (
            lambda: BettingMean(bound=True),
            "The 'bound' parameter of BettingMean must be a finite float > 0. Got True instead.",
        ),
        (
            lambda: BettingMean(margin=-1.0),
            "The 'margin' parameter of BettingMean must be a float in (-1.0, 1.0). "
            "Got -1.0 instead.",
        ),
        (
            lambda: BettingMean(alpha="0.1"),
            "The 'alpha' parameter of BettingMean must be a float in (0, 1). Got '0.1' instead.",
        ),
    ],
)
def test_constructor_rejects_bad_parameters(make: Callable[[], Any], message: str) -> None:
    """A bad parameter raises ValueError with the one message template, naming it."""
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("detector", "values", "name"),
    [
        (PairedLoss(), (math.nan, 0.1), "challenger_loss"),
        (ExecutionGap(), (0.01, math.inf), "shadow"),
        (OwnImpact(), (None, 0.0), "treatment"),
    ],
    ids=["PairedLoss", "ExecutionGap", "OwnImpact"],
)
def test_update_rejects_non_finite_input(
    detector: Detector, values: tuple[Any, ...], name: str
) -> None:
    """NaN, inf or a non-number raises ValueError naming the argument, never corrupts state."""
    with pytest.raises(ValueError, match=f"needs a finite number for '{name}'"):
        detector.update(*values)
