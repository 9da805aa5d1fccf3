"""Shadow exits as Freqtrade's backtesting makes them: exit signals (with use_exit_signal,
exit_profit_only, exit_profit_offset, ignore_roi_if_entry_signal), shorts, leverage, fees and
the backtest's price tick; each case on both paths, and an exit signal never known early."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from freqtrade.data.btanalysis.historic_precision import get_tick_size_over_time
from freqtrade.enums import TradingMode
from freqtrade.persistence import LocalTrade
from test_shadow import FIVE, PAIR, T0, Candles, both, sid

from freqtrade_feedback.shadow import Barrier, Barriers, ShadowBook, ShadowSignal, SignalBit
from freqtrade_feedback.shadow.candles import price_decimals, signal_bits

ENTER_LONG, EXIT_LONG = int(SignalBit.ENTER_LONG), int(SignalBit.EXIT_LONG)
ENTER_SHORT, EXIT_SHORT = int(SignalBit.ENTER_SHORT), int(SignalBit.EXIT_SHORT)
FLAT = (100.0, 100.3, 99.7, 100.0)


def rules(**kwargs: object) -> Barriers:
    """ROI 2%, stoploss 5%, 20 candles, no fee, exit signals on: change what a test needs."""
    args: dict[str, object] = {"roi": {0: 0.02}, "stoploss": -0.05, "max_candles": 20,
                               "fee": 0.0, "timeframe_minutes": 5}
    return Barriers(**{**args, **kwargs})  # type: ignore[arg-type]


def short(candle: datetime, leverage: float = 1.0) -> ShadowSignal:
    return ShadowSignal(sid(candle, "short"), candle, "short", leverage)


# -- exit signals -------------------------------------------------------------------------------


def test_an_exit_signal_exits_at_the_next_open_and_is_released_at_its_close() -> None:
    """exit_long on candle 3 (the signal candle is 0, the entry 1): the position exits at the
    open of candle 4 and the outcome is known once candle 4 has closed, never earlier."""
    rows = [FLAT, FLAT, (100, 101, 99.5, 100.8), (100.8, 101.5, 100.5, 101), (101.2, 102, 99, 99)]
    candles = Candles.of(rows, signals=[0, 0, 0, EXIT_LONG, 0])
    outcome = both(rules(), candles, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price, outcome.exit_time) == (
        Barrier.EXIT_SIGNAL, 101.2, T0 + 4 * FIVE)
    assert outcome.release_time == T0 + 5 * FIVE and outcome.profit_ratio == pytest.approx(0.012)
    book = ShadowBook(rules())
    book.add(sid(T0), PAIR, T0)
    for i in range(4):  # up to the signal candle's close: nothing yet
        assert book.on_candle(PAIR, T0 + i * FIVE, *rows[i], now=T0 + (i + 1) * FIVE,
                              signals=int(candles.signals[i])) == []  # type: ignore[index]
    [released] = book.on_candle(PAIR, T0 + 4 * FIVE, *rows[4], now=T0 + 5 * FIVE)
    assert released == outcome


def test_an_exit_signal_comes_before_the_stoploss_of_the_same_candle() -> None:
    rows = [FLAT, FLAT, (97, 97.5, 90, 91)]  # the stop (95) lies inside candle 2
    outcome = both(rules(), Candles.of(rows, signals=[0, EXIT_LONG, 0]), T0)
    assert outcome is not None and (outcome.barrier, outcome.exit_price) == (
        Barrier.EXIT_SIGNAL, 97.0)


def test_an_entry_signal_on_the_same_candle_cancels_the_exit_signal() -> None:
    rows = [FLAT, FLAT, (100.5, 101, 100, 100.5), (100.5, 103, 100.2, 102)]
    outcome = both(rules(), Candles.of(rows, signals=[0, EXIT_LONG | ENTER_LONG, 0, 0]), T0)
    assert outcome is not None and outcome.barrier is Barrier.ROI
    other_side = Candles.of(rows, signals=[0, EXIT_LONG | ENTER_SHORT, 0, 0])
    outcome = both(rules(), other_side, T0)
    assert outcome is not None and outcome.barrier is Barrier.EXIT_SIGNAL


def test_use_exit_signal_false_ignores_exit_signals() -> None:
    rows = [FLAT, FLAT, FLAT, (100, 102.5, 99.9, 102)]
    outcome = both(rules(use_exit_signal=False), Candles.of(rows, signals=[0, EXIT_LONG, 0, 0]),
                   T0)
    assert outcome is not None and outcome.barrier is Barrier.ROI


def test_exit_profit_only_exits_above_the_offset_only() -> None:
    """At the open of candle 2 the profit is 0.5%, at the open of candle 3 it is 1.2%."""
    rows = [FLAT, FLAT, (100.5, 100.6, 100.4, 100.5), (101.2, 101.3, 101.1, 101.2)]
    signals = [0, EXIT_LONG, EXIT_LONG, 0]
    only = both(rules(exit_profit_only=True, exit_profit_offset=0.01),
                Candles.of(rows, signals=signals), T0)
    assert only is not None and (only.barrier, only.exit_price) == (Barrier.EXIT_SIGNAL, 101.2)
    plain = both(rules(exit_profit_only=True), Candles.of(rows, signals=signals), T0)
    assert plain is not None and plain.exit_price == 100.5


def test_ignore_roi_if_entry_signal_skips_roi_after_an_entry_signal() -> None:
    rows = [FLAT, FLAT, (100, 102.5, 99.9, 102), (102, 102.5, 101.8, 102.2)]
    signals = [0, ENTER_LONG, 0, 0]
    ignored = both(rules(ignore_roi_if_entry_signal=True), Candles.of(rows, signals=signals), T0)
    assert ignored is not None and ignored.exit_time == T0 + 3 * FIVE
    taken = both(rules(), Candles.of(rows, signals=signals), T0)
    assert taken is not None and taken.exit_time == T0 + 2 * FIVE


def test_signal_bits_follow_freqtrades_truth_test() -> None:
    columns = {"enter_long": pd.Series([1, 0, np.nan, 1]), "exit_long": [0, 1, 1, 0],
               "enter_short": [0, 0, 0, 1.0], "exit_short": [np.nan, 0, 1, 0]}
    assert signal_bits(columns, 4).tolist() == [1, 2, 2 | 8, 1 | 4]


# -- ROI and stoploss prices ----------------------------------------------------------------------


def test_roi_on_a_candle_that_opens_above_it_exits_at_the_roi_price() -> None:
    """Freqtrade's backtesting: the ROI price, kept within the candle; the open only when a
    new ROI level starts at this candle's open (test_shadow's step-function test)."""
    rows = [FLAT, (100, 101, 99.5, 100.5), (102.5, 103, 101.5, 102.8)]
    outcome = both(rules(), Candles.of(rows), T0)
    assert outcome is not None and (outcome.barrier, outcome.exit_price) == (Barrier.ROI, 102.0)
    above = [FLAT, (100, 101, 99.5, 100.5), (102.5, 103, 102.2, 102.8)]  # low above 102
    outcome = both(rules(), Candles.of(above), T0)
    assert outcome is not None and outcome.exit_price == 102.2


# -- shorts and leverage ------------------------------------------------------------------------


def test_a_short_wins_when_the_price_falls_and_loses_when_it_rises() -> None:
    falls = [FLAT, FLAT, (100, 100.2, 97.5, 98)]
    outcome = both(rules(), Candles.of(falls), short(T0))
    assert outcome is not None
    assert (outcome.side, outcome.barrier, outcome.exit_price) == ("short", Barrier.ROI, 98.0)
    assert outcome.profit_ratio == pytest.approx(0.02)
    rises = [FLAT, FLAT, (100, 106, 99.8, 105)]
    outcome = both(rules(), Candles.of(rises), short(T0))
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price) == (Barrier.STOPLOSS, 105.0)
    assert outcome.profit_ratio == pytest.approx(-0.05)


def test_a_short_exits_on_exit_short_not_on_exit_long() -> None:
    rows = [FLAT, FLAT, (99.5, 99.8, 99.2, 99.4), (99.0, 99.2, 98.9, 99.1)]
    outcome = both(rules(), Candles.of(rows, signals=[0, EXIT_LONG, EXIT_SHORT, 0]), short(T0))
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price, outcome.exit_time) == (
        Barrier.EXIT_SIGNAL, 99.0, T0 + 3 * FIVE)
    assert outcome.profit_ratio == pytest.approx(0.01)


def test_leverage_moves_the_stop_closer_and_scales_the_profit() -> None:
    """At leverage 5 a 5% stoploss sits 1% from the entry, and a 2% ROI 0.4% from it."""
    rows = [FLAT, FLAT, (100, 100.45, 99.5, 100.3)]
    outcome = both(rules(), Candles.of(rows), ShadowSignal(sid(T0), T0, "long", 5.0))
    assert outcome is not None and (outcome.barrier, outcome.exit_price) == (Barrier.ROI, 100.4)
    assert (outcome.leverage, outcome.profit_ratio) == (5.0, pytest.approx(0.02))
    rows = [FLAT, FLAT, (100, 100.2, 98.8, 99)]
    outcome = both(rules(), Candles.of(rows), short(T0, leverage=5.0))
    assert outcome is not None and outcome.barrier is Barrier.ROI
    rows = [FLAT, FLAT, (100, 101.2, 99.8, 101)]
    outcome = both(rules(), Candles.of(rows), short(T0, leverage=5.0))
    assert outcome is not None and (outcome.barrier, outcome.exit_price) == (
        Barrier.STOPLOSS, pytest.approx(101.0))
    assert outcome.profit_ratio == pytest.approx(-0.05)


def _freqtrade_trade(side: str, leverage: float, fee: float, mode: TradingMode) -> LocalTrade:
    trade = LocalTrade(pair="BTC/USDT:USDT" if mode is TradingMode.FUTURES else PAIR,
                       stake_amount=100.0, amount=1.0, open_rate=100.0, fee_open=fee,
                       fee_close=fee, open_date=T0, is_short=side == "short",
                       leverage=leverage, trading_mode=mode, exchange="binance")
    trade.recalc_open_trade_value()
    trade.adjust_stop_loss(trade.open_rate, -0.05, initial=True)
    return trade


@pytest.mark.parametrize(("mode", "side", "leverage"), [
    (TradingMode.SPOT, "long", 1.0),
    *((TradingMode.FUTURES, side, leverage) for side in ("long", "short")
      for leverage in (1.0, 3.0, 7.5)),
])
def test_profit_roi_price_and_stop_are_freqtrades(mode: TradingMode, side: str,
                                                  leverage: float) -> None:
    """Against Freqtrade's own Trade: calc_profit_ratio, calc_close_rate_for_roi, stop_loss."""
    fee = 0.0005
    trade = _freqtrade_trade(side, leverage, fee, mode)
    position = rules(fee=fee).position(100.0, side, leverage)  # type: ignore[arg-type]
    for exit_price in (90.0, 97.3, 100.0, 100.05, 104.0, 131.0):
        assert position.profit_ratio(exit_price) == trade.calc_profit_ratio(exit_price)
    for level in (-0.02, 0.0, 0.004, 0.02, 0.1):
        assert position.roi_price(level) == pytest.approx(trade.calc_close_rate_for_roi(level),
                                                          rel=1e-12)
    assert position.stop_price == pytest.approx(trade.stop_loss, rel=1e-12)


# -- the backtest's price tick -------------------------------------------------------------------


def test_the_stop_sits_on_the_tick_away_from_the_entry() -> None:
    """XRP/USDT 5m, 2024-04-16 10:15: entry 0.4904, stoploss -2.5%. The stop, 0.47814, lies
    at 0.4782 on the tick of 4 decimals; the 10:30 low of 0.4782 touches it, as it did for
    Freqtrade's trade (stop_loss, -2.68%)."""
    rows = [(0.4919, 0.4919, 0.4891, 0.4905), (0.4904, 0.4910, 0.4867, 0.4867),
            (0.4868, 0.4879, 0.4847, 0.4862), (0.4861, 0.4861, 0.4795, 0.4810),
            (0.4810, 0.4828, 0.4782, 0.4806), (0.4807, 0.4835, 0.4793, 0.4835)]
    xrp = Barriers({0: 0.02, 60: 0.01, 180: 0.004}, -0.025, 288, 0.001, 5)
    on_tick = Candles.of(rows)
    on_tick.decimals = np.full(len(rows), 4, dtype=np.int8)
    outcome = both(xrp, on_tick, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price, outcome.exit_time) == (
        Barrier.STOPLOSS, 0.4782, T0 + 4 * FIVE)
    assert outcome.profit_ratio == pytest.approx(-0.02682595, abs=1e-8)
    assert both(xrp, Candles.of(rows), T0) is None  # without the tick, no stop yet
    short_stop = xrp.position(0.4904, "short", decimals=4).stop_price
    assert short_stop == 0.5026  # 0.50266 rounded down, toward the entry's side


def test_price_decimals_are_freqtrades_historic_tick() -> None:
    """The vectorised estimate equals Freqtrade's get_tick_size_over_time, month by month."""
    rng = np.random.default_rng(5)
    dates = pd.date_range("2024-01-01", periods=3_000, freq="1h", tz="UTC")
    price = 30 * np.exp(np.cumsum(rng.normal(0, 0.01, dates.size)))
    digits = np.where(dates.month == 2, 3, np.where(dates.month == 3, 1, 2))
    frame = pd.DataFrame({"date": dates})
    for name, factor in (("open", 1.0), ("high", 1.004), ("low", 0.996), ("close", 1.001)):
        frame[name] = [round(p * factor, int(d)) for p, d in zip(price, digits, strict=True)]
    frame.loc[frame.date.dt.month == 4, ["open", "high", "low", "close"]] = 7.0  # no decimals
    times = pd.DatetimeIndex(frame["date"]).as_unit("ms").asi8
    ours = price_decimals(times, *(frame[c].to_numpy() for c in ("open", "high", "low", "close")))
    ticks = get_tick_size_over_time(frame.copy())
    theirs = np.array([ticks.asof(d) for d in dates])
    assert set(ours.tolist()) == {1, 2, 3}  # April, without decimals, keeps March's
    np.testing.assert_allclose(10.0 ** -ours.astype(float), theirs, rtol=1e-12)


def test_a_start_before_the_first_candle_enters_on_the_first() -> None:
    candles = Candles.of([FLAT, (100, 100.2, 94, 95)], start=T0 + FIVE)
    early = T0 - timedelta(hours=1)
    outcome = both(rules(), candles, ShadowSignal(sid(early), early))
    assert outcome is not None and outcome.entry_time == T0 + FIVE
