"""The lab: seeded synthetic markets and scenarios that obey the market's invariants.

Everything here runs without Freqtrade, so tests, docs and the offline demo share one source of
data. Every generator takes a ``seed`` and owns its random streams; the same seed always gives
the same data.

- ``candles``: OHLCV candles in Freqtrade's format (the offline demo's market);
- ``market`` and ``scenarios``: the bias lab's signal market with known ground truth, and the
  scenarios the guard is scored on;
- ``policies`` and ``run``: the static, selective, naive and guarded loops, driven through a
  scenario;
- ``rows``, ``stats``, ``verdict`` and ``report``: the lab's CSV rows, their 95% intervals,
  the targets and the HTML report (``freqtrade-feedback lab``).
"""

from __future__ import annotations

from freqtrade_feedback.lab.candles import (
    OHLCV_COLUMNS,
    REGIMES,
    SyntheticMarket,
    pair_to_filename,
    timeframe_to_seconds,
)
from freqtrade_feedback.lab.market import FEATURES, Fill, MarketSignal, Scenario
from freqtrade_feedback.lab.policies import (
    POLICIES,
    StaticLoop,
    guarded_loop,
    lab_settings,
    make_loop,
)
from freqtrade_feedback.lab.run import (
    LabResult,
    run_policies,
    run_scenario,
    run_seed,
    run_worlds,
)
from freqtrade_feedback.lab.scenarios import (
    SCENARIOS,
    ReflexiveImpact,
    RegimeFlip,
    SelectionCollapse,
    SelfFulfilling,
    Stationary,
    StationaryHeavy,
)

__all__ = [
    "FEATURES",
    "OHLCV_COLUMNS",
    "POLICIES",
    "REGIMES",
    "SCENARIOS",
    "Fill",
    "LabResult",
    "MarketSignal",
    "ReflexiveImpact",
    "RegimeFlip",
    "Scenario",
    "SelectionCollapse",
    "SelfFulfilling",
    "StaticLoop",
    "Stationary",
    "StationaryHeavy",
    "SyntheticMarket",
    "guarded_loop",
    "lab_settings",
    "make_loop",
    "pair_to_filename",
    "run_policies",
    "run_scenario",
    "run_seed",
    "run_worlds",
    "timeframe_to_seconds",
]
