"""How faithful shadow outcomes are: each taken trade's shadow against the trade itself.

A backtest in Freqtrade's real engine with the gate taking every signal (a cold start that
never ends), so every trade has a shadow; :func:`freqtrade_feedback.metrics.shadow_agreement`
then compares them: the share that agree on win or loss (target: at least 97%) and the mean
absolute profit gap (target: at most 0.1%). Futures need candles under Freqtrade's futures
names; :func:`futures_candles` saves spot candles so, with mark candles and zero funding.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from freqtrade_feedback.backtest import BacktestRun

TARGET_AGREEMENT = 0.97
TARGET_GAP = 0.001
EVERY_SIGNAL: Mapping[str, Any] = {"enabled": True, "min_outcomes": 10**9}
"""The gate on, in a cold start that never ends: every signal is taken."""
MARK_TIMEFRAME = "1h"
"""Freqtrade's mark and funding-rate timeframe for Binance futures."""


def futures_candles(source: Path, pairs: Sequence[str], timeframe: str, target: Path) -> list[str]:
    """Save the spot candles of ``pairs`` (``BTC/USDT``) under Freqtrade's futures names in
    ``target/futures`` (``BTC_USDT_USDT-5m-futures.feather``), with mark candles resampled
    from them and funding rates of zero; the futures pairs (``BTC/USDT:USDT``).

    Zero funding leaves funding fees out of the realized trades, as the shadows leave them
    out: the comparison is of the exits.
    """
    folder = Path(target) / "futures"
    folder.mkdir(parents=True, exist_ok=True)
    for pair in pairs:
        base = pair.replace("/", "_")
        spot = Path(source) / f"{base}-{timeframe}.feather"
        name = f"{base}_{pair.split('/')[1]}"
        shutil.copy2(spot, folder / f"{name}-{timeframe}-futures.feather")
        candles = pd.read_feather(spot).set_index("date")
        mark = candles.resample(MARK_TIMEFRAME).agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
        ).dropna().reset_index()
        mark.to_feather(folder / f"{name}-{MARK_TIMEFRAME}-mark.feather")
        funding = mark.assign(open=0.0, high=0.0, low=0.0, close=0.0, volume=0.0)
        funding.to_feather(folder / f"{name}-{MARK_TIMEFRAME}-funding_rate.feather")
    return [f"{pair}:{pair.split('/')[1]}" for pair in pairs]


def every_signal(max_candles: int | None = None) -> dict[str, Any]:
    """The ``feedback`` overrides of a fidelity run, with the shadows' time limit when given."""
    feedback = dict(EVERY_SIGNAL)
    if max_candles is not None:
        feedback["guard"] = {"shadow_max_candles": max_candles}
    return feedback


def measure(config: Mapping[str, Any]) -> dict[str, Any]:
    """Backtest a processed config (its ``feedback`` section from :func:`every_signal`) and
    compare each taken trade's shadow with it: :func:`fidelity` of the run."""
    from freqtrade_feedback.backtest import run_backtest

    return fidelity(run_backtest(dict(config)), config)


def fidelity(run: BacktestRun, config: Mapping[str, Any]) -> dict[str, Any]:
    """One row: strategy, timeframe, mode, trades (shorts), and the shadows' agreement with
    the trades (:func:`freqtrade_feedback.metrics.shadow_agreement`)."""
    from freqtrade_feedback.metrics import shadow_agreement

    if run.loop is None:
        raise ValueError(f"The strategy {run.strategy} has no feedback loop: add FeedbackMixin.")
    trades = run.trades
    return {
        "strategy": run.strategy,
        "timeframe": config.get("timeframe"),
        "mode": str(config.get("trading_mode") or "spot"),
        "trades": len(trades),
        "shorts": int(trades["is_short"].sum()) if len(trades) else 0,
        **shadow_agreement(run.loop),
        "seconds": run.seconds,
    }


def verdict(row: Mapping[str, Any]) -> str:
    """PASS when the shadows agree with the trades on at least 97% and the mean gap is at
    most 0.1%."""
    good = row["shadow_agreement"] >= TARGET_AGREEMENT and row["shadow_mean_abs_gap"] <= TARGET_GAP
    return "PASS" if good else "FAIL"
