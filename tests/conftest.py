"""Shared fixtures: where the market data is, and a backtest of the sample strategy on it.

The real candles in ``../shared/data`` (or ``$FEEDBACK_SHARED_DATA``) are read-only inputs:
fixtures copy what a test needs into a temporary folder. Without that folder (a user's fresh
clone) the integration tests run on the project's own seeded synthetic candles instead (the
demo's market, ``lab.SyntheticMarket``), so a newcomer's ``make test`` still drives Freqtrade's
real backtesting with the plugin; only the tests that need real markets skip, each saying why.
To run the suite as a fresh clone would, point ``FEEDBACK_SHARED_DATA`` at a missing folder.

The ledger's PostgreSQL fixtures (a throwaway server, a database per test, and ``ledger_url``
on both backends) are in ``postgres.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from postgres import ledger_url, postgres_server, postgres_url  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FEEDBACK_SHARED_DATA") or REPO.parent / "shared" / "data")
CONFIG = REPO / "user_data" / "config.json"
STRATEGIES = REPO / "user_data" / "strategies"
USER_ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
"""The environment of a command a test runs as a user would: Freqtrade sets up no log
handler when it sees ``PYTEST_VERSION``, so the command's log lines would go nowhere."""
GUARD_LINE = "freqtrade-feedback guard: "
"""How the guard's transition lines start (``FeedbackMixin``), in any process."""
PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
PAIRS_5M = ("BTC_USDT-5m.feather", "ETH_USDT-5m.feather", "SOL_USDT-5m.feather",
            "BTC_USDT-1h.feather")
"""The 5m candles, and BTC's 1h ones: the plugin's market features read the market pair at 1h."""
SYNTHETIC_SEED = 42
"""The demo's seed (``freqtrade-feedback generate-data``)."""


def real_data() -> bool:
    """Whether the real candles are there (else :func:`candles_5m` is the synthetic market)."""
    return (SHARED_DATA / "binance-2024").is_dir()


def shared_data(folder: str) -> Path:
    """The real-data folder, or a skip that says where it was looked for."""
    path = SHARED_DATA / folder
    if not path.is_dir():
        pytest.skip(f"real market data not found at {path}")
    return path


@pytest.fixture(scope="session")
def binance_5m(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BTC, ETH and SOL 5m candles (2024-01-01 .. 2024-09-06) and BTC's 1h ones, copied to a
    temp folder."""
    source = shared_data("binance-2024")
    target = tmp_path_factory.mktemp("binance_5m")
    for name in PAIRS_5M:
        shutil.copy2(source / name, target / name)
    return target


@pytest.fixture(scope="session")
def candles_5m(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BTC, ETH and SOL 5m candles from 2024-01-01 in a temp folder: the real ones
    (:func:`binance_5m`) where ``../shared/data`` is, else the demo's seeded synthetic market
    (120 days). The tests that use it hold on both."""
    if real_data():
        return Path(request.getfixturevalue("binance_5m"))
    from freqtrade_feedback.lab import SyntheticMarket

    target = tmp_path_factory.mktemp("synthetic_5m")
    market = SyntheticMarket(pairs=PAIRS, timeframe="5m", seed=SYNTHETIC_SEED)
    market.write(target)
    market.write_hourly(target)  # the market features read BTC's 1h candles
    return target


@pytest.fixture(scope="session")
def user_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway Freqtrade user_data folder, so no test writes into the repository."""
    return tmp_path_factory.mktemp("user_data")


@pytest.fixture(scope="session")
def backtest(candles_5m: Path, user_data: Path) -> Callable[..., Any]:
    """Run the sample strategy (or another) through the real Backtesting on the 5m candles
    (real, or the synthetic market without ``../shared/data``)."""
    from freqtrade_feedback.backtest import backtest_config, run_backtest

    def run(timerange: str, strategy: str = "FeedbackSampleStrategy",
            strategy_path: Path = STRATEGIES, **feedback: Any) -> Any:
        config = backtest_config(
            CONFIG, strategy=strategy, datadir=candles_5m, timerange=timerange,
            strategy_path=strategy_path, user_data_dir=user_data,
            overrides={"feedback": feedback},
        )
        return run_backtest(config)

    return run
