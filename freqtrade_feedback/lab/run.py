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
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from freqtrade_feedback.lab.market import START, STEP, Fill, MarketSignal, Scenario
from freqtrade_feedback.lab.policies import POLICIES, make_loop
from freqtrade_feedback.lab.scenarios import SCENARIOS
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
    guard_state: tuple[str, ...]
    freezes: tuple[int, ...]
    """Trades at which the guard entered FROZEN, in order."""
    seconds: float
    """Wall time of the run (not deterministic; everything else is)."""

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
    """The per-step series of a run, filled as it goes."""

    def __init__(self, n: int) -> None:
        self.take = np.zeros(n, dtype=bool)
        self.stake = np.zeros(n)
        self.probability = np.full(n, math.nan)
        self.observed = np.full(n, math.nan)
        self.booked = np.zeros(n)
        self.shadow = np.zeros(n)
        self.p_win = np.zeros(n)
        self.state = ["off"] * n


class _GuardWatch:
    """Reads the loop's guard state after every call and dates each entry into FROZEN."""

    def __init__(self, loop: FeedbackLoop) -> None:
        self._loop = loop
        self.state = self._read()
        self.freezes: list[int] = []

    def _read(self) -> str:
        state = getattr(self._loop, "guard_state", "off")
        return str(getattr(state, "value", state))

    def poll(self, trade: int) -> None:
        state = self._read()
        if state == FROZEN and self.state != FROZEN:
            self.freezes.append(trade)
        self.state = state


_Pending: TypeAlias = tuple[MarketSignal, str, Fill | None]


def run_scenario(scenario: Scenario, policy_name: str, seed: int) -> LabResult:
    """Run a fresh loop of the policy ``policy_name`` (seeded with ``seed``) through
    ``scenario``.

    Examples
    --------
    >>> from freqtrade_feedback import lab
    >>> from freqtrade_feedback.lab.run import run_scenario
    >>> result = run_scenario(lab.Stationary(n=300, seed=1), "naive", seed=1)
    >>> result.n, result.trades, round(result.profit, 2), result.guard_state[-1]
    (300, 205, 0.42, 'off')
    """
    started = time.perf_counter()
    loop = make_loop(policy_name, seed)
    tape = _Tape(scenario.n)
    watch = _GuardWatch(loop)
    pending: defaultdict[int, list[_Pending]] = defaultdict(list)
    for signal in scenario:
        _close(loop, pending.pop(signal.step, ()), signal.step, watch)
        signal_id, fill = _enter(loop, scenario, signal, tape)
        watch.poll(signal.step)
        pending[signal.closes].append((signal, signal_id, fill))
        tape.state[signal.step] = watch.state
    for step in sorted(pending):
        _close(loop, pending[step], step, watch)
    return LabResult(
        scenario=scenario.name,
        policy=policy_name,
        seed=seed,
        biased=scenario.biased,
        onset_trade=scenario.onset_trade,
        take=tape.take,
        stake=tape.stake,
        probability=tape.probability,
        observed=tape.observed,
        booked=tape.booked,
        shadow=tape.shadow,
        p_win=tape.p_win,
        guard_state=tuple(tape.state),
        freezes=tuple(watch.freezes),
        seconds=time.perf_counter() - started,
    )


def _enter(
    loop: FeedbackLoop, scenario: Scenario, signal: MarketSignal, tape: _Tape
) -> tuple[str, Fill | None]:
    """Decide on the signal; fill it if taken."""
    t = signal.step
    tape.shadow[t], tape.p_win[t] = signal.shadow, signal.p_win
    entry = Signal(signal.pair, signal.time, features=signal.features)
    decision = loop.on_signal(entry, now=signal.time)
    if decision.probability is not None:
        tape.probability[t] = decision.probability
    if not decision.take:
        return entry.signal_id, None
    stake = loop.stake_factor(decision)
    fill = scenario.fill(signal, stake)
    tape.take[t], tape.stake[t] = True, stake
    tape.observed[t], tape.booked[t] = fill.observed, stake * fill.booked
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


def run_policies(
    scenario: str, seed: int, policies: Sequence[str] = POLICIES
) -> dict[str, LabResult]:
    """Every policy through the scenario named ``scenario`` (default parameters, ``seed``).

    A top-level function of plain arguments, so worker processes can run it.
    """
    if scenario not in SCENARIOS:
        raise ValueError(
            f"The 'scenario' parameter must be one of {', '.join(map(repr, SCENARIOS))}. "
            f"Got {scenario!r} instead."
        )
    world = SCENARIOS[scenario](seed=seed)
    return {policy: run_scenario(world, policy, seed) for policy in policies}
