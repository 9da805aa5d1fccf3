"""Every guard detector against the one contract (``guard.checks``), as river does for its
estimators: ids are ``Detector:check``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from freqtrade_feedback import guard
from freqtrade_feedback.guard.checks import CHECKS
from freqtrade_feedback.supervisor import WarnOnly


def _streams() -> dict[str, tuple[guard.Detector, list[tuple]]]:
    rng = np.random.default_rng(3)
    n = 400
    coin = rng.random(n) < 0.4
    loss = rng.normal(0.6, 0.1, n)
    p = rng.uniform(0.05, 0.95, n)
    y = (rng.random(n) < p).astype(float)
    x = rng.normal(size=(n, 3))
    return {
        "NeverAlarm": (guard.NeverAlarm(), [(float(v),) for v in loss]),
        "PeriodicAlarm": (guard.PeriodicAlarm(period=50, warmup=10),
                          [(float(v),) for v in loss]),
        "AcceptanceCollapse": (guard.AcceptanceCollapse(window=50, warmup=50),
                               [(float(c),) for c in coin]),
        "SelfFitGap": (guard.SelfFitGap(window=50, warmup=20),
                       [(float(v), bool(c)) for v, c in zip(loss, coin, strict=True)]),
        "Calibration": (guard.Calibration(window=100, warmup=30),
                        [(float(a), float(b)) for a, b in zip(p, y, strict=True)]),
        "Coverage": (guard.Coverage(window=100, warmup=30),
                     [({"a": float(r[0]), "b": float(r[1])}, bool(c))
                      for r, c in zip(x, coin, strict=True)]),
        "PairedLoss": (guard.PairedLoss(warmup=20),
                       [(float(a), float(b)) for a, b in zip(loss, loss[::-1], strict=True)]),
        "ExecutionGap": (guard.ExecutionGap(warmup=20),
                         [(float(a) / 100, float(b) / 100) for a, b in
                          zip(loss, loss[::-1], strict=True)]),
        "OwnImpact": (guard.OwnImpact(window=100, warmup=30),
                      [(float(c), float(v)) for c, v in zip(coin, loss, strict=True)]),
        "WarnOnly": (WarnOnly(guard.Calibration(window=100, warmup=30), every=5),
                     [(float(a), float(b)) for a, b in zip(p, y, strict=True)]),
    }


STREAMS = _streams()
CASES = [(name, check) for name in STREAMS for check in CHECKS]


@pytest.mark.parametrize(("name", "check"), CASES,
                         ids=[f"{n}:{c.__name__}" for n, c in CASES])
def test_detector_contract(name: str, check: Callable) -> None:
    detector, stream = STREAMS[name]
    check(detector.clone(), stream)


def test_every_public_detector_is_in_the_registry() -> None:
    public = {n for n in guard.__all__ if isinstance(getattr(guard, n), type)
              and issubclass(getattr(guard, n), guard.Detector) and n != "Detector"}
    assert public <= set(STREAMS)
