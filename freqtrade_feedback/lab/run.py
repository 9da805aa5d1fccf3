"""Drive a policy's ``FeedbackLoop`` through a scenario, as the bot would, and record it all.

At every step ``t`` (one signal of the primary strategy, one 5-minute candle):

1. the outcomes of the signals that close at ``t`` are delivered, in signal order: for each,
   the shadow outcome first (``loop.on_shadow``), then, if the signal was taken, the realized
   one (``loop.on_trade_closed``, with the profit ratio the bot observes). Shadow first
   because the plugin resolves shadow outcomes when a candle arrives (``bot_loop_start``),
   before Freqtrade processes the exit fills of that candle;
2. the new signal is decided (``loop.on_signal``); a taken one gets ``loop.stake_factor``
   of the base stake (reduced for exploration) and is filled by the scenario's executor.

The guard's state (``loop.guard_state``, ``"off"`` without a guard) is read after every call,
so a freeze is dated to the trade during which it happened. **Trades** count signals of the
primary strategy: trade ``t`` is step ``t``, whether or not the gate took it. A freeze's
delay after the onset thus includes the time outcomes take to close (``delay`` steps on
average), which no detector can avoid. Trades still open after the last signal close after
it, at their own steps, so every fill is both booked and reported to the loop.

The profit of a run is the sum over taken signals of ``stake * booked`` profit ratio, in
units of one base stake (1.0 = 100% of one stake).

**Shared beginnings.** Most scenarios are the stationary market until their onset (same seed,
same signals, same fills: ``Scenario.stationary_prefix``), and a loop is deterministic, so
every policy's run of such a scenario is, up to the onset, its run of ``Stationary``.
:func:`run_worlds` therefore runs each policy once through the stationary market, keeps a
copy of its loop at each onset (pickled, as a checkpoint pickles it), and runs each scenario
on from there: about a third less work for the lab's six scenarios, and the same results as
running each from the start (a test checks it).
"""

from __future__ import annotations

import math
import pickle
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from freqtrade_feedback.lab.market import START, STEP, Fill, MarketSignal, Scenario
from freqtrade_feedback.lab.policies import POLICIES, make_loop
from freqtrade_feedback.lab.scenarios import SCENARIOS, Stationary
from freqtrade_feedback.loop import FeedbackLoop, Signal

_Floats: TypeAlias = npt.NDArray[np.float64]
_Bools: TypeAlias = npt.NDArray[np.bool_]

FROZEN: Final = "frozen"
GUARD_STATES: Final = ("off", "learning", "suspect", "frozen", "probation")


@dataclass(frozen=True, eq=False)
class LabResult:
    """One policy's run through one scenario: per-step series and the summary figures.

    Series have one entry per signal (step). ``probability`` is NaN where the model was not
    asked; ``observed`` (the realized profit ratio reported to the loop) is NaN where the
    signal was not taken; ``stake`` and ``booked`` (stake times booked profit ratio) are 0
    there. ``guard_state`` is the state at the end of each step.
    """

    scenario: str
    policy: str
    seed: int
    biased: bool
    onset_trade: int | None
    take: _Bools
    stake: _Floats
    probability: _Floats
    observed: _Floats
    booked: _Floats
    shadow: _Floats
    p_win: _Floats
    breakout: _Bools
    """Whether each signal is in the breakout region (``MarketSignal.breakout``)."""
    guard_state: tuple[str, ...]
    freezes: tuple[int, ...]
    """Trades at which the guard entered FROZEN, in order."""
    seconds: float
    """Wall time of the run, a shared beginning included (not deterministic; everything else
    is)."""

    @property
    def n(self) -> int:
        return len(self.take)

    @property
    def profit(self) -> float:
        """Booked profit, in units of one base stake."""
        return float(self.booked.sum())

    @property
    def trades(self) -> int:
        return int(self.take.sum())

    @property
    def first_freeze_trade(self) -> int | None:
        return self.freezes[0] if self.freezes else None

    @property
    def detect_trade(self) -> int | None:
        """First freeze at or after the onset (any freeze when nothing has an onset)."""
        start = self.onset_trade or 0
        return next((t for t in self.freezes if t >= start), None)

    @property
    def frozen(self) -> bool:
        """The guard froze at or after the onset."""
        return self.detect_trade is not None

    @property
    def detection_delay(self) -> int | None:
        """Trades from the onset to the first freeze after it."""
        if self.detect_trade is None or self.onset_trade is None:
            return None
        return self.detect_trade - self.onset_trade

    @property
    def false_freeze(self) -> bool:
        """A freeze before the onset, or any freeze where no self-referential bias was injected."""
        if not self.biased:
            return bool(self.freezes)
        return any(t < (self.onset_trade or 0) for t in self.freezes)

    def acceptance(self, start: int = 0, stop: int | None = None) -> float:
        """Share of the signals in ``[start, stop)`` that the gate took."""
        window = self.take[start:stop]
        return float(window.mean()) if len(window) else math.nan


class _Tape:
    """The per-step series of a run, appended step by step."""

    def __init__(self) -> None:
        self.take: list[bool] = []
        self.stake: list[float] = []
        self.probability: list[float] = []
        self.observed: list[float] = []
        self.booked: list[float] = []
        self.state: list[str] = []


class _GuardWatch:
    """Reads the loop's guard state after every call and dates each entry into FROZEN."""

    def __init__(self, loop: FeedbackLoop) -> None:
        self._loop = loop
        self.state = self._read()
        self.freezes: list[int] = []

    def _read(self) -> str:
        return self._loop.guard_state

    def poll(self, trade: int) -> None:
        state = self._read()
        if state == FROZEN and self.state != FROZEN:
            self.freezes.append(trade)
        self.state = state


_Pending: TypeAlias = tuple[MarketSignal, str, Fill | None]
_Stream: TypeAlias = Sequence[tuple[MarketSignal, Signal]]
"""A scenario's signals, each with the loop's ``Signal`` for it (made once, shared by every
policy's loop: it is immutable)."""


def _stream(scenario: Scenario) -> list[tuple[MarketSignal, Signal]]:
    return [(s, Signal(s.pair, s.time, features=s.features)) for s in scenario]


class _Runner:
    """One policy's loop part of the way through a scenario: run on, copy, finish."""

    def __init__(self, scenario: Scenario, policy: str, seed: int) -> None:
        self.scenario = scenario
        self.policy = policy
        self.seed = seed
        self.loop = make_loop(policy, seed)
        self.tape = _Tape()
        self.watch = _GuardWatch(self.loop)
        self.pending: defaultdict[int, list[_Pending]] = defaultdict(list)
        self.step = 0
        self.seconds = 0.0

    def advance(self, stream: _Stream, stop: int) -> None:
        """Run the steps from the current one up to ``stop`` (excluded)."""
        started = time.perf_counter()
        loop, scenario, tape, watch, pending = (
            self.loop, self.scenario, self.tape, self.watch, self.pending
        )
        for t in range(self.step, stop):
            signal, entry = stream[t]
            closing = pending.pop(t, None)
            if closing:
                _close(loop, closing, t, watch)
            signal_id, fill = _enter(loop, scenario, signal, entry, tape)
            watch.poll(t)
            pending[signal.closes].append((signal, signal_id, fill))
            tape.state.append(watch.state)
        self.step = max(self.step, stop)
        self.seconds += time.perf_counter() - started

    def snapshot(self) -> bytes:
        """The run so far, as bytes: :meth:`resume` goes on from it in another scenario.

        Signals settled before the last ``max_lag`` steps leave the loop first
        (``FeedbackLoop.forget_settled``, as before a journal's checkpoint): no event will
        come for them, and a loop of a thousand signals pickles in a tenth of the time.
        """
        settled = self.step - self.scenario.max_lag
        if settled > 0:
            self.loop.forget_settled(before=START + settled * STEP)
        state = (self.loop, self.tape, self.watch, self.pending, self.step, self.seconds)
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def resume(cls, blob: bytes, scenario: Scenario, policy: str, seed: int) -> _Runner:
        """A run restored from :meth:`snapshot`, going on through ``scenario``."""
        runner = cls.__new__(cls)
        runner.scenario, runner.policy, runner.seed = scenario, policy, seed
        (runner.loop, runner.tape, runner.watch, runner.pending, runner.step,
         runner.seconds) = pickle.loads(blob)  # noqa: S301 - bytes this process just wrote
        return runner

    def finish(self, stream: _Stream) -> LabResult:
        """Close the trades still open after the last signal, and the result."""
        started = time.perf_counter()
        for step in sorted(self.pending):
            _close(self.loop, self.pending[step], step, self.watch)
        self.pending.clear()
        self.seconds += time.perf_counter() - started
        scenario, tape = self.scenario, self.tape
        signals = [signal for signal, _ in stream]
        return LabResult(
            scenario=scenario.name,
            policy=self.policy,
            seed=self.seed,
            biased=scenario.biased,
            onset_trade=scenario.onset_trade,
            take=np.array(tape.take, dtype=bool),
            stake=np.array(tape.stake),
            probability=np.array(tape.probability),
            observed=np.array(tape.observed),
            booked=np.array(tape.booked),
            shadow=np.array([s.shadow for s in signals]),
            p_win=np.array([s.p_win for s in signals]),
            breakout=np.array([s.breakout for s in signals], dtype=bool),
            guard_state=tuple(tape.state),
            freezes=tuple(self.watch.freezes),
            seconds=self.seconds,
        )


def run_scenario(scenario: Scenario, policy_name: str, seed: int) -> LabResult:
    """Run a fresh loop of the policy ``policy_name`` (seeded with ``seed``) through
    ``scenario``.

    Examples
    --------
    >>> from freqtrade_feedback import lab
    >>> from freqtrade_feedback.lab.run import run_scenario
    >>> result = run_scenario(lab.Stationary(n=300, seed=1), "naive", seed=1)
    >>> result.n, result.trades, round(result.profit, 2), result.guard_state[-1]
    (300, 202, 0.45, 'off')
    """
    stream = _stream(scenario)
    runner = _Runner(scenario, policy_name, seed)
    runner.advance(stream, scenario.n)
    return runner.finish(stream)


def _enter(
    loop: FeedbackLoop, scenario: Scenario, signal: MarketSignal, entry: Signal, tape: _Tape
) -> tuple[str, Fill | None]:
    """Decide on the signal (``entry`` is the loop's view of it); fill it if taken."""
    decision = loop.on_signal(entry, now=signal.time)
    probability = math.nan if decision.probability is None else decision.probability
    tape.probability.append(probability)
    if not decision.take:
        tape.take.append(False)
        tape.stake.append(0.0)
        tape.observed.append(math.nan)
        tape.booked.append(0.0)
        return entry.signal_id, None
    stake = loop.stake_factor(decision)
    fill = scenario.fill(signal, stake)
    tape.take.append(True)
    tape.stake.append(stake)
    tape.observed.append(fill.observed)
    tape.booked.append(stake * fill.booked)
    return entry.signal_id, fill


def _close(loop: FeedbackLoop, closing: Iterable[_Pending], step: int, watch: _GuardWatch) -> None:
    """Deliver the outcomes that became known at ``step``: shadow first, then realized."""
    now = START + step * STEP
    for signal, signal_id, fill in closing:
        loop.on_shadow(signal_id, profit_ratio=signal.shadow, now=now, pair=signal.pair)
        watch.poll(step)
        if fill is not None:
            exit_reason = "roi" if fill.observed > 0 else "stop_loss"
            loop.on_trade_closed(
                signal_id,
                profit_ratio=fill.observed,
                now=now,
                exit_reason=exit_reason,
                pair=signal.pair,
            )
            watch.poll(step)


def _shares_beginning(world: Scenario, base: Scenario) -> int:
    """Steps of ``world`` a run may take over from a run of ``base`` (a stationary market)."""
    if world.seed != base.seed or world.delay != base.delay:
        return 0
    return min(world.stationary_prefix, base.n)


def run_worlds(
    worlds: Sequence[Scenario], policies: Sequence[str] = POLICIES
) -> list[dict[str, LabResult]]:
    """Every policy through every scenario of ``worlds``, each loop seeded with its scenario's
    seed (``0`` for ``None``); one mapping of results by policy per scenario, in order.

    Beginnings shared with the stationary market are run once per policy (see the module's
    docstring); every result is the one :func:`run_scenario` gives.
    """
    streams = [_stream(world) for world in worlds]
    base = _base(worlds)
    cuts = [0 if world is base else _shares_beginning(world, base) for world in worlds]
    own = next((i for i, world in enumerate(worlds) if world is base), None)
    base_stream = streams[own] if own is not None else _stream(base)
    results: list[dict[str, LabResult]] = [{} for _ in worlds]
    for policy in policies:
        runner = _Runner(base, policy, base.seed or 0)
        snapshots = {}
        for cut in sorted(set(cuts) - {0}):
            runner.advance(base_stream, cut)
            snapshots[cut] = runner.snapshot()
        if own is not None:
            runner.advance(base_stream, base.n)
            results[own][policy] = runner.finish(base_stream)
        for i, (world, cut) in enumerate(zip(worlds, cuts, strict=True)):
            if i == own:
                continue
            seed = world.seed or 0
            run = _Runner.resume(snapshots[cut], world, policy, seed) if cut else _Runner(
                world, policy, seed
            )
            run.advance(streams[i], world.n)
            results[i][policy] = run.finish(streams[i])
    return results


def _base(worlds: Sequence[Scenario]) -> Scenario:
    """The stationary market the others share their beginnings with: the first
    ``Stationary`` of ``worlds``, else one as long as the longest beginning to share."""
    for world in worlds:
        if type(world) is Stationary:
            return world
    first = worlds[0] if worlds else Stationary()
    return Stationary(
        n=max([w.stationary_prefix for w in worlds] + [1]), delay=first.delay, seed=first.seed
    )


def run_seed(
    seed: int, scenarios: Sequence[str] = tuple(SCENARIOS), policies: Sequence[str] = POLICIES
) -> dict[str, dict[str, LabResult]]:
    """Every policy through each named scenario (default parameters, ``seed``): results by
    scenario, then by policy. A top-level function of plain arguments, for worker processes.
    """
    for name in scenarios:
        if name not in SCENARIOS:
            raise ValueError(
                f"The 'scenario' parameter must be one of {', '.join(map(repr, SCENARIOS))}. "
                f"Got {name!r} instead."
            )
    worlds = [SCENARIOS[name](seed=seed) for name in scenarios]
    return dict(zip(scenarios, run_worlds(worlds, policies), strict=True))


def run_policies(
    scenario: str, seed: int, policies: Sequence[str] = POLICIES
) -> dict[str, LabResult]:
    """Every policy through the scenario named ``scenario`` (default parameters, ``seed``)."""
    return run_seed(seed, [scenario], policies)[scenario]
