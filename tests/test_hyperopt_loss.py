"""The hyperopt loss: each term moves the loss the right way, and Freqtrade finds the class."""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from freqtrade.optimize.hyperopt.hyperopt_optimizer import MAX_LOSS
from freqtrade.resolvers.hyperopt_resolver import HyperOptLossResolver

from freqtrade_feedback import runs
from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.guard.states import Trigger
from freqtrade_feedback.hyperopt_loss import WORST_LOSS, FeedbackHyperOptLoss, selection_gap
from freqtrade_feedback.loop import DecisionReason, FeedbackLoop, Signal

T0 = datetime(2024, 1, 1, tzinfo=UTC)
END = T0 + timedelta(days=60)
USER_DATA = Path(__file__).resolve().parent.parent / "user_data"


@pytest.fixture(autouse=True)
def no_registered_loop() -> Iterator[None]:
    """Each test starts with no loop alive: the registry holds loops weakly."""
    gc.collect()
    assert runs.current() is None
    yield


def _results(profits_abs: list[float], start: datetime = T0, stake: float = 100.0) -> pd.DataFrame:
    """A trades frame with Freqtrade's columns: one trade closing per day from ``start``."""
    close = pd.to_datetime([start + timedelta(days=i, hours=12) for i in range(len(profits_abs))],
                           utc=True)
    profit = np.asarray(profits_abs, dtype=float)
    return pd.DataFrame({
        "pair": "BTC/USDT", "stake_amount": stake, "open_date": close - pd.Timedelta(hours=2),
        "close_date": close, "open_rate": 100.0, "close_rate": 100.0 * (1 + profit / stake),
        "fee_open": 0.001, "fee_close": 0.001, "profit_ratio": profit / stake,
        "profit_abs": profit, "exit_reason": "roi", "is_open": False, "enter_tag": None,
    })


def _loss(results: pd.DataFrame, loss: type[FeedbackHyperOptLoss] = FeedbackHyperOptLoss,
          **config: Any) -> float:
    """What Freqtrade's optimizer calls, with the keyword arguments it passes."""
    return loss.hyperopt_loss_function(
        results=results, trade_count=len(results), min_date=T0, max_date=END,
        config={"timeframe": "5m", **config}, processed={}, backtest_stats={},
        starting_balance=1000.0)


def _terms(results: pd.DataFrame, loop: FeedbackLoop | None = None) -> dict[str, float]:
    return FeedbackHyperOptLoss.components(results=results, min_date=T0, max_date=END,
                                           config={}, starting_balance=1000.0, loop=loop)


STEADY = _results([10.0, 2.0] * 20)


def _guarded_loop(**guard: Any) -> FeedbackLoop:
    """A guarded loop that takes every signal: by the model (probability rule, threshold 0) or
    the holdout."""
    settings = FeedbackSettings(rule="probability", threshold=0.0, min_outcomes=0,
                                scope="global",
                                guard=GuardSettings(enabled=True, **guard))
    return FeedbackLoop(settings)


def _drive(loop: FeedbackLoop, n: int, profit: Callable[[DecisionReason, int], float],
           features: Callable[[int], dict[str, float]] = lambda i: {"x": 0.0}) -> None:
    """One signal an hour over the range, each trade closing an hour later with ``profit``."""
    for i in range(n):
        now = T0 + timedelta(hours=i)
        signal = Signal("BTC/USDT", now, features=features(i))
        decision = loop.on_signal(signal, now=now)
        if decision.take:
            loop.on_trade_closed(signal.signal_id, profit_ratio=profit(decision.reason, i),
                                 now=now + timedelta(hours=1), exit_reason="roi")


def _noise(i: int) -> float:
    return 0.01 * math.sin(i * 1.7)


# -- trade-based terms ---------------------------------------------------------------------


def test_a_better_sharpe_gives_a_lower_loss() -> None:
    steady, choppy = _loss(STEADY), _loss(_results([30.0, -18.0] * 20))
    assert steady < choppy
    assert steady == pytest.approx(-_terms(STEADY)["sharpe"])  # 40 trades: no penalty
    assert _loss(_results([-10.0, -2.0] * 20)) > 0 > steady


def test_the_sharpe_counts_the_whole_range_not_only_the_days_with_trades() -> None:
    """The same trades, crammed into the first two weeks or spread over the range: the days
    without a trade count as flat days, so the crammed run is not better than the spread one."""
    crammed = _results([10.0, 2.0] * 7)
    spread = crammed.assign(close_date=crammed["close_date"] + (crammed.index * 3).map(
        lambda d: pd.Timedelta(days=d)))
    assert _terms(crammed)["sharpe"] == pytest.approx(_terms(spread)["sharpe"])
    longer = FeedbackHyperOptLoss.components(
        results=crammed, min_date=T0, max_date=END + timedelta(days=300), config={},
        starting_balance=1000.0, loop=None)
    assert 0 < longer["sharpe"] < _terms(crammed)["sharpe"]


def test_fewer_trades_than_the_minimum_cost_more_the_fewer_they_are() -> None:
    ten = _results([10.0, 2.0] * 5)
    assert _loss(ten, feedback_loss_min_trades=30) > _loss(ten, feedback_loss_min_trades=10)
    assert _loss(ten, feedback_loss_min_trades=10) == pytest.approx(-_terms(ten)["sharpe"])
    penalty = [_terms(_results([10.0, 2.0] * k))["trade_penalty"] for k in (1, 5, 10, 15, 20)]
    assert penalty == sorted(penalty, reverse=True) and penalty[-1] == 0.0
    assert penalty[0] == pytest.approx(FeedbackHyperOptLoss.TRADES_WEIGHT * (1 - 2 / 30) ** 2)


@pytest.mark.parametrize("frame", [
    pd.DataFrame(), _results([]), _results([1.0]).iloc[0:0],
], ids=["no columns", "no rows", "sliced empty"])
def test_empty_results_score_freqtrades_worst_loss(frame: pd.DataFrame) -> None:
    assert _loss(frame) == WORST_LOSS == MAX_LOSS


@pytest.mark.parametrize("profits", [[5.0], [5.0, 5.0], [0.0, 0.0, 0.0], [math.nan, 1.0],
                                     [math.inf, 1.0]],
                         ids=["one", "two equal", "all zero", "nan profit", "inf profit"])
def test_tiny_results_give_a_finite_loss(profits: list[float]) -> None:
    loss = _loss(_results(profits))
    assert math.isfinite(loss) and loss > 0  # a handful of trades is penalised


def test_a_loss_that_is_not_a_number_scores_the_worst_loss() -> None:
    class Broken(FeedbackHyperOptLoss):
        TRADES_WEIGHT = math.nan

    assert _loss(STEADY, Broken) == WORST_LOSS


def test_without_a_registered_loop_only_the_trade_terms_count() -> None:
    ten = _results([10.0, 2.0] * 5)
    terms = _terms(ten)
    assert terms["frozen_penalty"] == terms["gap_penalty"] == 0.0
    assert _loss(ten) == pytest.approx(-terms["sharpe"] + terms["trade_penalty"])


def test_the_registry_holds_the_last_loop_weakly() -> None:
    first, second = FeedbackLoop(), _guarded_loop()
    runs.register(first)
    runs.register(second)
    assert runs.current() is second
    del first, second
    gc.collect()
    assert runs.current() is None


# -- the learner's terms ---------------------------------------------------------------------


def _frozen_loop(freeze_at: datetime | None, unfreeze_at: datetime | None = None) -> FeedbackLoop:
    loop = _guarded_loop(holdout_share=0.0)
    _drive(loop, 24, lambda reason, i: 0.01 + _noise(i))
    assert loop.supervisor is not None
    if freeze_at is not None:
        loop.supervisor.fire(Trigger.MANUAL_FREEZE, now=freeze_at, reason="test")
    if unfreeze_at is not None:
        loop.supervisor.fire(Trigger.MANUAL_UNFREEZE, now=unfreeze_at, reason="test")
    return loop


def test_more_time_frozen_gives_a_higher_loss() -> None:
    losses = []
    for loop in (_frozen_loop(None), _frozen_loop(T0 + timedelta(days=40)),
                 _frozen_loop(T0 + timedelta(days=10))):
        runs.register(loop)
        losses.append(_loss(STEADY))
    assert losses[0] < losses[1] < losses[2]
    assert losses[2] - losses[0] == pytest.approx(FeedbackHyperOptLoss.FROZEN_WEIGHT * 50 / 60)


def test_the_frozen_share_ends_at_an_unfreeze_and_is_clipped_to_the_range() -> None:
    thawed = _frozen_loop(T0 + timedelta(days=10), T0 + timedelta(days=25))
    assert _terms(STEADY, thawed)["frozen_share"] == pytest.approx(15 / 60)
    early = _frozen_loop(T0 - timedelta(days=30))
    assert _terms(STEADY, early)["frozen_share"] == pytest.approx(1.0)


def test_a_subclass_weights_apply() -> None:
    class Lenient(FeedbackHyperOptLoss):
        FROZEN_WEIGHT = 0.0

    runs.register(loop := _frozen_loop(T0))
    assert _terms(STEADY, loop)["frozen_share"] == pytest.approx(1.0)
    assert _loss(STEADY, Lenient) == pytest.approx(-_terms(STEADY)["sharpe"])
    assert _loss(STEADY) > _loss(STEADY, Lenient)


def _gap_loop(model_edge: float, n: int = 400) -> FeedbackLoop:
    """Model trades make ``model_edge`` more than holdout trades, on the same noise."""
    loop = _guarded_loop(holdout_share=0.2)

    def profit(reason: DecisionReason, i: int) -> float:
        return _noise(i) + (model_edge if reason is DecisionReason.MODEL else 0.0)

    _drive(loop, n, profit)
    reasons = [d.reason for d in loop.decisions]
    assert set(reasons) == {DecisionReason.MODEL, DecisionReason.HOLDOUT}
    return loop


def test_model_picks_better_than_the_holdout_give_a_higher_loss() -> None:
    fair, overfit = _gap_loop(0.0), _gap_loop(0.01)
    fair_terms, overfit_terms = _terms(STEADY, fair), _terms(STEADY, overfit)
    assert fair_terms["frozen_share"] == overfit_terms["frozen_share"] == 0.0
    assert overfit_terms["selection_gap"] > 0.5 > abs(fair_terms["selection_gap"])
    runs.register(fair)
    fair_loss = _loss(STEADY)
    runs.register(overfit)
    assert _loss(STEADY) > fair_loss
    assert overfit_terms["gap_penalty"] == pytest.approx(
        FeedbackHyperOptLoss.GAP_WEIGHT * overfit_terms["selection_gap"])


def test_model_picks_worse_than_the_holdout_are_not_penalised_twice() -> None:
    terms = _terms(STEADY, _gap_loop(-0.01))
    assert terms["selection_gap"] < 0 and terms["gap_penalty"] == 0.0


def test_too_few_holdout_trades_measure_no_gap() -> None:
    loop = _gap_loop(0.01, n=15)
    holdout = sum(d.reason is DecisionReason.HOLDOUT for d in loop.decisions)
    assert 2 <= holdout < FeedbackHyperOptLoss.MIN_HOLDOUT_TRADES
    assert selection_gap(loop, FeedbackHyperOptLoss.MIN_HOLDOUT_TRADES) == 0.0
    assert selection_gap(loop, 2) > 0


def test_without_a_guard_the_explored_trades_are_the_reference() -> None:
    """The learner finds that x > 0 wins; the rejected signals it explores anyway lose."""
    loop = FeedbackLoop(FeedbackSettings(min_outcomes=10, explore_share=0.3, scope="global",
                                         guard=GuardSettings(enabled=False)))

    def sign(i: int) -> dict[str, float]:
        return {"x": 1.0 if i % 2 else -1.0}

    def profit(reason: DecisionReason, i: int) -> float:
        return (0.01 if i % 2 else -0.01) + _noise(i) / 10

    _drive(loop, 400, profit, sign)
    reasons = {d.reason for d in loop.decisions}
    assert DecisionReason.EXPLORE in reasons and DecisionReason.HOLDOUT not in reasons
    terms = _terms(STEADY, loop)
    assert terms["selection_gap"] > 1.0 and terms["frozen_share"] == 0.0
    assert terms["loss"] > _terms(STEADY)["loss"]


# -- Freqtrade -----------------------------------------------------------------------------


def test_the_resolver_finds_the_loss_by_name_in_user_data() -> None:
    loss = HyperOptLossResolver.load_hyperoptloss({
        "hyperopt_loss": "FeedbackHyperOptLoss", "user_data_dir": USER_DATA, "timeframe": "5m"})
    assert isinstance(loss, FeedbackHyperOptLoss)
    assert Path(type(loss).__file__).parent == USER_DATA / "hyperopts"  # type: ignore[attr-defined]
    assert loss.hyperopt_loss_function(
        results=STEADY, trade_count=len(STEADY), min_date=T0, max_date=END, config={},
        processed={}, backtest_stats={}, starting_balance=1000.0) == _loss(STEADY)


def test_a_real_backtest_scores_with_its_loop(backtest: Callable[..., Any]) -> None:
    # The probability rule takes model trades in this month, which a gap needs.
    run = backtest("20240101-20240201", min_outcomes=20, rule="probability",
                   guard={"enabled": True, "holdout_share": 0.2})
    runs.register(run.loop)
    start, end = (datetime.fromtimestamp(run.stats[k] / 1000, tz=UTC)
                  for k in ("backtest_start_ts", "backtest_end_ts"))
    loss = FeedbackHyperOptLoss.hyperopt_loss_function(
        results=run.trades, trade_count=len(run.trades), min_date=start, max_date=end,
        config={}, processed={}, backtest_stats=run.stats,
        starting_balance=float(run.stats["starting_balance"]))
    terms = FeedbackHyperOptLoss.components(
        results=run.trades, min_date=start, max_date=end, config={},
        starting_balance=float(run.stats["starting_balance"]), loop=run.loop)
    assert len(run.trades) > 30 and math.isfinite(loss) and loss == pytest.approx(terms["loss"])
    assert sum(d.reason is DecisionReason.HOLDOUT for d in run.loop.decisions) >= 5
    assert terms["selection_gap"] != 0.0
