"""Shadow outcomes: the exit rules by hand, the live and the backtest path agree, and no
outcome is released before the candle it exits on has closed. Exit signals, shorts, leverage
and ticks have their own file (test_shadow_exits.py)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from freqtrade_feedback.shadow import (
    Barrier,
    Barriers,
    ShadowBook,
    ShadowOutcome,
    ShadowSchedule,
    ShadowSignal,
)
from freqtrade_feedback.shadow import candles as make_candles
from freqtrade_feedback.shadow.candles import Candles as ShadowCandles

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)
PAIR = "BTC/USDT"
BTC_5M = Path(__file__).resolve().parents[1].parent / "shared/data/binance-2024/BTC_USDT-5m.feather"


@dataclass
class Candles:
    """One pair's candles as the arrays a backtest builds once, with optional signal bits and
    tick decimals."""

    times: np.ndarray  # int64 ms
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    signals: np.ndarray | None = None
    decimals: np.ndarray | None = None

    @classmethod
    def of(cls, rows: Sequence[tuple[float, float, float, float]], start: datetime = T0,
           signals: Sequence[int] | None = None) -> Candles:
        ms = int(start.timestamp() * 1000)
        times = ms + np.arange(len(rows), dtype=np.int64) * 300_000
        o, h, low, c = (np.array(col, dtype=np.float64) for col in zip(*rows, strict=True))
        bits = None if signals is None else np.array(signals, dtype=np.uint8)
        return cls(times, o, h, low, c, bits)

    def take(self, mask: np.ndarray) -> Candles:
        return Candles(*(None if a is None else a[mask] for a in self.arrays()))

    def arrays(self) -> tuple[np.ndarray | None, ...]:
        return (self.times, self.open, self.high, self.low, self.close, self.signals,
                self.decimals)

    def shadow(self) -> ShadowCandles:
        return make_candles(*self.arrays())

    def row(self, i: int) -> tuple[float, float, float, float]:
        return (self.open[i], self.high[i], self.low[i], self.close[i])


def at(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(ms))


def sid(candle: datetime, side: str = "long") -> str:
    return f"{PAIR}|{side}|{candle:%Y-%m-%dT%H:%M}Z"


def as_signal(signal: datetime | ShadowSignal) -> ShadowSignal:
    """A bare signal candle is a long at leverage 1."""
    if isinstance(signal, ShadowSignal):
        return signal
    return ShadowSignal(sid(signal), signal)


def run_book(
    barriers: Barriers, candles: Candles, signals: Sequence[datetime | ShadowSignal]
) -> tuple[dict[str, ShadowOutcome], ShadowBook]:
    """Feed the candles one by one at their close, with their signal bits and tick, adding
    each signal just before the candle after it, as the live loop would."""
    book = ShadowBook(barriers)
    todo = sorted((as_signal(s) for s in signals), key=lambda s: s.candle)
    tf = timedelta(minutes=barriers.timeframe_minutes)
    found: dict[str, ShadowOutcome] = {}
    for i in range(len(candles.times)):
        open_time = at(candles.times[i])
        while todo and todo[0].candle < open_time:
            signal = todo.pop(0)
            book.add(signal.signal_id, PAIR, signal.candle, side=signal.side,
                     leverage=signal.leverage)
        bits = 0 if candles.signals is None else int(candles.signals[i])
        tick = -1 if candles.decimals is None else int(candles.decimals[i])
        for outcome in book.on_candle(PAIR, open_time, *candles.row(i), now=open_time + tf,
                                      signals=bits, decimals=tick):
            assert outcome.release_time == open_time + tf
            assert outcome.signal_id not in found
            found[outcome.signal_id] = outcome
    for signal in todo:
        book.add(signal.signal_id, PAIR, signal.candle, side=signal.side,
                 leverage=signal.leverage)
    return found, book


def run_ahead(
    barriers: Barriers, candles: Candles, signals: Sequence[datetime | ShadowSignal]
) -> tuple[dict[str, ShadowOutcome], ShadowSchedule]:
    schedule = ShadowSchedule(barriers)
    outcomes = schedule.resolve_ahead(PAIR, candles.shadow(), [as_signal(s) for s in signals])
    return {o.signal_id: o for o in outcomes}, schedule


def both(
    barriers: Barriers, candles: Candles, signal: datetime | ShadowSignal
) -> ShadowOutcome | None:
    """The single outcome of one signal, checked to be the same on both paths."""
    live, _ = run_book(barriers, candles, [signal])
    ahead, _ = run_ahead(barriers, candles, [signal])
    assert live == ahead
    return ahead.get(as_signal(signal).signal_id)


def simple(
    roi: dict[int, float] | None = None,
    *,
    stoploss: float = -0.02,
    max_candles: int = 10,
    fee: float = 0.0,
) -> Barriers:
    return Barriers({0: 0.01} if roi is None else roi, stoploss, max_candles, fee, 5)


# -- the barrier by hand ----------------------------------------------------------------------


def test_roi_hit_exits_at_the_roi_price() -> None:
    """Entry at the open of the candle after the signal; ROI 1% touched by the second candle."""
    candles = Candles.of(
        [
            (99, 100, 98, 100),  # signal candle
            (100, 100.5, 99.5, 100.4),  # entry candle: nothing touched
            (100.4, 101.2, 100.2, 101.1),  # high reaches 101.0
        ]
    )
    outcome = both(simple(), candles, T0)
    assert outcome == ShadowOutcome(
        sid(T0),
        PAIR,
        T0,
        T0 + FIVE,
        100.0,
        T0 + 2 * FIVE,
        T0 + 3 * FIVE,
        101.0,
        pytest.approx(0.01),
        Barrier.ROI,
        2,
    )


def test_roi_price_includes_both_fees() -> None:
    """The ROI price is the exit whose profit net of both fees is exactly the ROI level."""
    candles = Candles.of([(100, 100, 100, 100), (100, 101.1, 99.9, 101), (101, 101.3, 100.9, 101)])
    outcome = both(simple(fee=0.001), candles, T0)
    assert outcome is not None and outcome.barrier is Barrier.ROI
    assert outcome.exit_price == pytest.approx(100 * 1.01 * 1.001 / 0.999)
    assert outcome.profit_ratio == pytest.approx(0.01, abs=1e-12)


def test_profit_ratio_is_net_of_both_fees() -> None:
    position = simple(fee=0.001).position(100.0)
    assert position.profit_ratio(103.0) == pytest.approx(103 * 0.999 / (100 * 1.001) - 1)


def test_stoploss_hit_exits_at_the_stop_price() -> None:
    candles = Candles.of([(100, 100, 100, 100), (100, 100.5, 99, 99.5), (99.5, 99.8, 97.9, 98.5)])
    outcome = both(simple(), candles, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price, outcome.candles) == (Barrier.STOPLOSS, 98.0, 2)
    assert outcome.profit_ratio == pytest.approx(-0.02)


def test_stoploss_on_the_entry_candle_exits_at_the_stop_price() -> None:
    candles = Candles.of([(100, 100, 100, 100), (100, 100.2, 97.0, 97.5)])
    outcome = both(simple(), candles, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price, outcome.candles) == (Barrier.STOPLOSS, 98.0, 1)


def test_gap_down_through_the_stop_exits_at_the_open() -> None:
    """Freqtrade's backtesting exits at the open only when the whole candle lies below the
    stop; a candle that opens below it and trades back above exits at the stop price."""
    below = Candles.of([(100, 100, 100, 100), (100, 100.5, 99, 99.5), (97, 97.8, 96.5, 97.5)])
    outcome = both(simple(), below, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price) == (Barrier.STOPLOSS, 97.0)
    assert outcome.profit_ratio == pytest.approx(-0.03)
    back = Candles.of([(100, 100, 100, 100), (100, 100.5, 99, 99.5), (97, 98.5, 96.5, 98)])
    outcome = both(simple(), back, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price) == (Barrier.STOPLOSS, 98.0)


def test_both_barriers_in_one_candle_is_a_stoploss() -> None:
    candles = Candles.of([(100, 100, 100, 100), (100, 100.5, 99.5, 100), (100, 102, 97, 100)])
    outcome = both(simple(), candles, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price) == (Barrier.STOPLOSS, 98.0)


def test_time_limit_exits_at_the_close_of_the_last_candle() -> None:
    flat = [(100, 100.5, 99.5, 100.2)] * 6
    outcome = both(simple({0: 100.0}, max_candles=3), Candles.of(flat), T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price, outcome.candles) == (Barrier.TIME, 100.2, 3)
    assert outcome.exit_time == T0 + 3 * FIVE  # entry candle + 2


def test_roi_step_function_changes_with_time() -> None:
    """5% until minute 10, then 1%: the same high exits only once the lower level applies,
    at the open when the candle opens above the new ROI price."""
    candles = Candles.of(
        [
            (100, 100, 100, 100),
            (100, 101.5, 99.8, 101),  # elapsed 0: needs 105
            (101, 101.5, 100.6, 101.2),  # elapsed 5: needs 105
            (101.2, 101.5, 101.1, 101.3),  # elapsed 10: needs 101, opens above it
        ]
    )
    outcome = both(simple({0: 0.05, 10: 0.01}), candles, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price, outcome.candles) == (Barrier.ROI, 101.2, 3)


def test_roi_minus_one_exits_at_the_open_when_its_key_applies() -> None:
    candles = Candles.of(
        [(100, 100, 100, 100)] + [(100, 100.5, 99.5, 100)] * 2 + [(99.7, 99.9, 99, 99.5)]
    )
    outcome = both(simple({0: 100.0, 10: -1}), candles, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price, outcome.exit_time) == (
        Barrier.ROI,
        99.7,
        T0 + 3 * FIVE,
    )


def test_no_roi_before_the_first_key() -> None:
    candles = Candles.of([(100, 100, 100, 100), (100, 103, 99.5, 102), (102, 102.5, 101.8, 102)])
    outcome = both(simple({5: 0.01}), candles, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price, outcome.exit_time) == (
        Barrier.ROI,
        102.0,
        T0 + 2 * FIVE,
    )


def test_gaps_advance_elapsed_time() -> None:
    """A missing candle still counts: ROI 1% applies from minute 10, reached after the gap;
    and a time limit whose last candle is missing exits at the next candle's open."""
    rows = [
        (100, 100, 100, 100),
        (100, 100.5, 99.5, 100),
        (100, 100.5, 99.5, 100),
        (100, 101.5, 99.9, 101),
        (101, 101.2, 100.5, 100.8),
    ]
    keep = np.array([True, True, False, True, True])
    candles = Candles.of(rows).take(keep)
    outcome = both(simple({0: 0.05, 10: 0.01}), candles, T0)
    assert outcome is not None
    assert (outcome.barrier, outcome.exit_price, outcome.candles) == (Barrier.ROI, 101.0, 3)
    timed = both(simple({0: 100.0}, max_candles=2), candles, T0)
    assert timed is not None
    assert (timed.barrier, timed.exit_price, timed.exit_time) == (
        Barrier.TIME,
        100.0,
        T0 + 3 * FIVE,
    )


def test_entry_after_a_missing_candle_is_the_next_candle() -> None:
    rows = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100.5, 97, 99)]
    candles = Candles.of(rows).take(np.array([True, False, True]))
    outcome = both(simple(), candles, T0)
    assert outcome is not None
    assert (outcome.entry_time, outcome.barrier, outcome.candles) == (
        T0 + 2 * FIVE,
        Barrier.STOPLOSS,
        1,
    )


@pytest.mark.parametrize(("side", "leverage"), [("long", 1.0), ("short", 1.0), ("short", 3.0)])
def test_candidates_hold_every_candle_the_rule_exits_on(side: str, leverage: float) -> None:
    """The vectorised narrowing keeps every candle the scalar rule exits on, and only a few
    more (profit-only exit signals, levels within rounding): it decides nothing itself."""
    rng = np.random.default_rng(3)
    b = Barriers({0: 0.03, 15: 0.01, 40: -0.002, 60: -1}, -0.02, 14, 0.001, 5,
                 exit_profit_only=True, ignore_roi_if_entry_signal=True)
    position = b.position(100.0, side, leverage)  # type: ignore[arg-type]
    elapsed = rng.integers(0, 90, 5_000) // 5 * 5
    o = 100 * np.exp(rng.normal(0, 0.01, elapsed.size))
    high = o * np.exp(np.abs(rng.normal(0, 0.015, elapsed.size)))
    low = o * np.exp(-np.abs(rng.normal(0, 0.015, elapsed.size)))
    exits, enters = rng.random(elapsed.size) < 0.1, rng.random(elapsed.size) < 0.1
    mask = position.candidates(elapsed, high, low, exits, enters)
    rule = np.array([
        position.touch(int(e), float(x), float(h), float(lo), float(x), bool(ex), bool(en))
        is not None
        for e, x, h, lo, ex, en in zip(elapsed, o, high, low, exits, enters, strict=True)
    ])
    assert not (rule & ~mask).any()
    assert 0 < rule.sum() <= mask.sum() < min(1.1 * rule.sum(), mask.size)


# -- the two paths agree, and nothing is released early ---------------------------------------


def random_walk(seed: int, n: int = 600) -> Candles:
    """Valid OHLC candles with occasional gaps between a close and the next open, and a few
    missing candles."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.006, n)))
    jumps = np.where(rng.random(n) < 0.05, rng.normal(0, 0.02, n), 0.0)
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(jumps)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, n)))
    times = int(T0.timestamp() * 1000) + np.arange(n, dtype=np.int64) * 300_000
    keep = rng.random(n) > 0.03
    return Candles(times, open_, high, low, close).take(keep)


def random_case(seed: int) -> tuple[Barriers, Candles, list[ShadowSignal]]:
    """Random exit rules (ROI table, stoploss, time limit, fee, exit-signal settings), a
    random walk with sparse random signal bits, on a 0.01 tick for half the seeds, and long
    and short signals at leverage 1 to 5."""
    rng = np.random.default_rng(10_000 + seed)
    keys = sorted({0, *(int(k) * 5 for k in rng.integers(1, 30, 3))})
    levels = sorted(rng.uniform(-0.01, 0.04, len(keys)), reverse=True)
    roi = dict(zip(keys, (float(v) for v in levels), strict=True))
    if rng.random() < 0.3:
        roi[int(rng.integers(10, 40)) * 5] = -1.0
    barriers = Barriers(
        roi,
        -float(rng.uniform(0.005, 0.04)),
        int(rng.integers(1, 40)),
        float(rng.choice([0.0, 0.001])),
        5,
        use_exit_signal=bool(rng.random() < 0.8),
        exit_profit_only=bool(rng.random() < 0.3),
        exit_profit_offset=float(rng.choice([0.0, 0.005])),
        ignore_roi_if_entry_signal=bool(rng.random() < 0.3),
    )
    walk = random_walk(seed)
    n = walk.times.size
    walk.signals = np.where(rng.random(n) < 0.08, rng.integers(1, 16, n), 0).astype(np.uint8)
    if seed % 2:
        walk.decimals = np.full(n, 2, dtype=np.int8)
        for name in ("open", "high", "low", "close"):
            setattr(walk, name, np.round(getattr(walk, name), 2))
    picks = rng.integers(0, 600, 80)  # candle slots, missing ones and ones near the end too
    signals = []
    for candle in sorted({T0 + int(k) * FIVE for k in picks}):
        side = "short" if rng.random() < 0.5 else "long"
        leverage = float(rng.choice([1.0, 1.0, 2.5, 5.0]))
        signals.append(ShadowSignal(sid(candle, side), candle, side, leverage))  # type: ignore[arg-type]
    return barriers, walk, signals


def beyond_the_stop(barriers: Barriers, candles: Candles, outcome: ShadowOutcome) -> bool:
    """Whether a stoploss exit happened past the stop price (a candle wholly beyond it)."""
    entry = int(np.searchsorted(candles.times, int(outcome.entry_time.timestamp() * 1000)))
    tick = None if candles.decimals is None else int(candles.decimals[entry])
    stop = barriers.position(outcome.entry_price, outcome.side, outcome.leverage, tick).stop_price
    if outcome.side == "short":
        return outcome.exit_price > stop
    return outcome.exit_price < stop


def test_live_and_backtest_paths_give_identical_outcomes() -> None:
    """Over seeded random walks, random exit rules and signal bits, and many long and short
    signals with leverage, feeding candles one by one and computing ahead give the same
    outcomes, and leave the same signals pending."""
    seen: Counter[str] = Counter()
    for seed in range(40):
        barriers, candles, signals = random_case(seed)
        live, book = run_book(barriers, candles, signals)
        ahead, schedule = run_ahead(barriers, candles, signals)
        assert live == ahead, f"seed {seed}"
        assert book.pending == schedule.pending == len(signals) - len(ahead), f"seed {seed}"
        seen.update(f"{o.side} {o.barrier.value}" for o in ahead.values())
        seen.update(
            f"{o.side} gap stop"
            for o in ahead.values()
            if o.barrier is Barrier.STOPLOSS and beyond_the_stop(barriers, candles, o)
        )
    exits = {"roi", "stoploss", "exit_signal", "time", "gap stop"}
    assert set(seen) == {f"{side} {exit}" for side in ("long", "short") for exit in exits}, seen


def test_release_never_precedes_the_touch_candle_close() -> None:
    """Nor the close of an exit signal's exit candle, the candle after the signal."""
    for seed in range(5):
        barriers, candles, signals = random_case(seed)
        ahead, schedule = run_ahead(barriers, candles, signals)
        released: list[ShadowOutcome] = []
        grid = [T0 + k * timedelta(minutes=1, seconds=7) for k in range(-10, 3_200)]
        for now in grid:
            batch = schedule.release(now=now)
            assert all(o.release_time <= now for o in batch)
            assert all(o.exit_time + FIVE <= now for o in batch)
            assert all(o.exit_time > o.signal_candle for o in batch)
            released += batch
            assert {o.signal_id for o in released} == {
                o.signal_id for o in ahead.values() if o.release_time <= now
            }
        assert [o.release_time for o in released] == sorted(o.release_time for o in released)
        assert schedule.held == 0 and schedule.release(now=grid[-1]) == []


def test_truncating_later_candles_leaves_released_outcomes_unchanged() -> None:
    """Causality: an outcome released by t is computed from candles closed by t only."""
    for seed in range(5):
        barriers, candles, signals = random_case(seed)
        full, _ = run_ahead(barriers, candles, signals)
        for k in range(0, 640, 37):
            cut = T0 + k * FIVE + timedelta(minutes=2)
            closed = candles.times + 300_000 <= int(cut.timestamp() * 1000)
            truncated, _ = run_ahead(barriers, candles.take(closed), signals)
            assert all(o.release_time <= cut for o in truncated.values())
            expected = {s: o for s, o in full.items() if o.release_time <= cut}
            assert truncated == expected, f"seed {seed} cut {cut}"


# -- the live path's contract -------------------------------------------------------------------


def test_on_candle_refuses_a_candle_not_closed_yet() -> None:
    book = ShadowBook(simple())
    with pytest.raises(ValueError, match="closes at 2024-01-01 00:05"):
        book.on_candle(PAIR, T0, 100, 101, 99, 100, now=T0 + FIVE - timedelta(milliseconds=1))
    assert book.on_candle(PAIR, T0, 100, 101, 99, 100, now=T0 + FIVE) == []


def test_naive_times_are_refused() -> None:
    book = ShadowBook(simple())
    with pytest.raises(ValueError, match="'now'"):
        book.on_candle(PAIR, T0, 100, 101, 99, 100, now=datetime(2024, 1, 2))  # noqa: DTZ001
    with pytest.raises(ValueError, match="'signal_candle'"):
        book.add("x", PAIR, datetime(2024, 1, 1))  # noqa: DTZ001


def test_signal_past_the_end_of_data_stays_pending() -> None:
    candles = Candles.of([(100, 100.5, 99.5, 100)] * 5)
    last = at(candles.times[-1])
    near_end = at(candles.times[-3])
    live, book = run_book(simple(max_candles=10), candles, [last, near_end])
    ahead, schedule = run_ahead(simple(max_candles=10), candles, [last, near_end])
    assert live == ahead == {}
    assert book.pending == schedule.pending == 2
    assert schedule.release(now=T0 + timedelta(days=365)) == []
    longer = Candles.of([(100, 100.5, 99.5, 100)] * 14)
    [outcome] = schedule.resolve_ahead(PAIR, longer.shadow(), [(sid(near_end), near_end)])
    assert outcome.barrier is Barrier.TIME and schedule.pending == 1


def test_add_is_idempotent_and_refuses_a_late_signal() -> None:
    book = ShadowBook(simple())
    book.on_candle(PAIR, T0, 100, 100, 100, 100, now=T0 + FIVE)
    book.add(sid(T0), PAIR, T0)
    book.add(sid(T0), PAIR, T0)
    assert book.pending == 1
    [outcome] = book.on_candle(PAIR, T0 + FIVE, 100, 100.5, 97, 98, now=T0 + 2 * FIVE)
    book.add(sid(T0), PAIR, T0)
    assert (outcome.barrier, book.pending) == (Barrier.STOPLOSS, 0)
    with pytest.raises(ValueError, match="before feeding the candles that follow it"):
        book.add("late", PAIR, T0)
    book.reset()
    book.add(sid(T0), PAIR, T0)
    assert book.pending == 1


def test_signals_may_be_added_in_any_order_before_their_candles() -> None:
    candles = Candles.of([(100, 100, 100, 100), (100, 100.5, 97, 99), (99, 99.5, 96, 97)])
    book = ShadowBook(simple())
    book.add(sid(T0 + FIVE), PAIR, T0 + FIVE)
    book.add(sid(T0), PAIR, T0)
    found = []
    for i in range(3):
        open_time = at(candles.times[i])
        row = (candles.open[i], candles.high[i], candles.low[i], candles.close[i])
        found += book.on_candle(PAIR, open_time, *row, now=open_time + FIVE)
    ahead, _ = run_ahead(simple(), candles, [T0, T0 + FIVE])
    assert found == sorted(ahead.values(), key=lambda o: o.release_time)
    assert [o.entry_time for o in found] == [T0 + FIVE, T0 + 2 * FIVE]


def test_a_repeated_candle_is_ignored() -> None:
    book = ShadowBook(simple())
    book.on_candle(PAIR, T0, 100, 100, 100, 100, now=T0 + FIVE)
    book.add(sid(T0), PAIR, T0)
    assert book.on_candle(PAIR, T0 + FIVE, 100, 100.5, 99.5, 100, now=T0 + 2 * FIVE) == []
    assert book.on_candle(PAIR, T0 + FIVE, 100, 100.5, 97, 100, now=T0 + 3 * FIVE) == []
    assert book.pending == 1


def test_a_bad_side_or_leverage_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="'side'"):
        ShadowBook(simple()).add("x", PAIR, T0, side="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'leverage'"):
        ShadowBook(simple()).add("x", PAIR, T0, leverage=0.5)
    candles = Candles.of([(100, 100, 100, 100)] * 3)
    with pytest.raises(ValueError, match="'leverage'"):
        ShadowSchedule(simple()).resolve_ahead(
            PAIR, candles.shadow(), [ShadowSignal("x", T0, "short", float("nan"))])


def test_candles_check_their_arrays() -> None:
    candles = Candles.of([(100, 100, 100, 100)] * 3)
    with pytest.raises(ValueError, match="'open_times'"):
        make_candles(candles.times.astype(float), *candles.arrays()[1:5])
    with pytest.raises(ValueError, match="'low'"):
        make_candles(candles.times, candles.open, candles.high, candles.low[:2], candles.close)
    with pytest.raises(ValueError, match="'signals'"):
        make_candles(*candles.arrays()[:5], signals=np.zeros(2))
    with pytest.raises(ValueError, match="strictly increasing"):
        repeated = make_candles(*(a[[0, 1, 1]] for a in candles.arrays()[:5]))
        ShadowSchedule(simple()).resolve_ahead(PAIR, repeated, [(sid(T0), T0 - FIVE)])


# -- Barriers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("roi", {"roi": {-5: 0.01}}),
        ("roi", {"roi": {0: float("nan")}}),
        ("roi", {"roi": {0: -1.5}}),
        ("roi", {"roi": {"0": 0.01}}),
        ("roi", {"roi": [0.01]}),
        ("stoploss", {"stoploss": 0.02}),
        ("stoploss", {"stoploss": -1.5}),
        ("max_candles", {"max_candles": 0}),
        ("max_candles", {"max_candles": 2.0}),
        ("fee", {"fee": -0.001}),
        ("fee", {"fee": 1.0}),
        ("timeframe_minutes", {"timeframe_minutes": 0}),
    ],
)
def test_barriers_validation_names_the_field(field: str, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "roi": {0: 0.01},
        "stoploss": -0.02,
        "max_candles": 5,
        "fee": 0.001,
        "timeframe_minutes": 5,
    }
    with pytest.raises(ValueError, match=f"The '{field}' parameter of Barriers"):
        Barriers(**{**args, **kwargs})  # type: ignore[arg-type]


def test_from_strategy_parses_freqtrade_settings() -> None:
    b = Barriers.from_strategy({"30": 0.02, "0": 0.04, "60": 0}, -0.1, "1h", 24, 0.001)
    assert b == Barriers({0: 0.04, 30: 0.02, 60: 0.0}, -0.1, 24, 0.001, 60)
    assert list(b.roi) == [0, 30, 60] and hash(b) == hash(
        Barriers(dict(b.roi), -0.1, 24, 0.001, 60)
    )
    assert Barriers.from_strategy({"0": 1}, -0.1, "1d", 1, 0).timeframe_minutes == 1_440
    for bad in ("5x", "0m", "1M", "m", 5):
        with pytest.raises(ValueError, match="'timeframe'"):
            Barriers.from_strategy({"0": 0.01}, -0.1, bad, 24, 0.001)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'minimal_roi'"):
        Barriers.from_strategy({"ten": 0.01}, -0.1, "5m", 24, 0.001)


def test_roi_table_is_a_read_only_copy() -> None:
    table = {0: 0.02}
    b = simple(table)
    table[0] = 5.0
    assert b.roi[0] == 0.02
    with pytest.raises(TypeError):
        b.roi[0] = 1.0  # type: ignore[index]


def test_shadow_imports_without_freqtrade() -> None:
    code = "import sys; sys.modules['freqtrade'] = None\nimport freqtrade_feedback.shadow\n"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- real candles -------------------------------------------------------------------------------


def test_real_btc_year_outcomes_stay_within_the_barriers() -> None:
    """1,000 signals over the BTC 5m data: profits lie between the stoploss and the highest
    ROI level, up to fees and the small gaps of real candles, and the live path agrees."""
    if not BTC_5M.is_file():
        pytest.skip(f"real market data not found at {BTC_5M}")
    import pandas as pd

    df = pd.read_feather(BTC_5M)
    candles = Candles(
        df["date"].dt.tz_convert(None).to_numpy().astype("datetime64[ms]").view(np.int64),
        *(df[c].to_numpy(np.float64) for c in ("open", "high", "low", "close")),
    )
    rng = np.random.default_rng(11)
    rows = np.sort(rng.choice(len(df) - 1, 1_000, replace=False))
    signals = [at(candles.times[r]) for r in rows]
    fee = 0.001
    barriers = Barriers.from_strategy(
        {"0": 0.04, "30": 0.02, "60": 0.01, "120": 0}, -0.05, "5m", max_candles=288, fee=fee
    )
    ahead, schedule = run_ahead(barriers, candles, signals)
    assert len(ahead) + schedule.pending == 1_000 and len(ahead) > 990
    slack = 0.005
    profits = np.array([o.profit_ratio for o in ahead.values()])
    assert profits.min() >= barriers.stoploss - 2 * fee - slack
    assert profits.max() <= max(barriers.roi.values()) + slack
    live, _ = run_book(barriers, candles, signals)
    assert live == ahead
