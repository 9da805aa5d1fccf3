"""The bias lab's scenarios: one market (``lab.market``), six things that can happen to it.

Defaults: 2,000 signals (2,500 in ``SelectionCollapse``), outcomes known about 12 signals
later.

=====================  ======  ===========  ==================================================
scenario               biased  onset_trade  what happens (default magnitudes)
=====================  ======  ===========  ==================================================
``Stationary``         no      none         nothing
``StationaryHeavy``    no      none         nothing, but outcome sizes are heavy-tailed:
                                            Student-t(3), at the stationary market's variance
``RegimeFlip``         no      1000         the market flips for good, for everyone: shadow
                                            and realized outcomes alike
``SelectionCollapse``  yes     1800         a long quiet flipped spell over signals 300 to
                                            1799 (outcomes 0.2 times their size); a learner
                                            of realized labels keeps rejecting breakouts after
``ReflexiveImpact``    yes     1000         our orders worsen our fills:
                                            ``realized = shadow - 0.003 * stake``
``SelfFulfilling``     yes     1000         our buying lifts what we observe,
                                            ``observed = shadow + 0.01 * stake``, and the book
                                            takes it back: ``booked = shadow - 0.002 * stake``
=====================  ======  ===========  ==================================================

``biased`` is the ground truth a guard is scored against: where it is ``True`` the loop's
learner is misled by its own actions from ``onset_trade`` on, where it is ``False`` a freeze
is a false alarm.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from freqtrade_feedback.lab.market import MAGNITUDE_SHAPE, Fill, MarketSignal, Scenario
from freqtrade_feedback.validation import check_count, check_interval

_Steps = npt.NDArray[np.int64]

COLLAPSE_SIGNALS: Final = 300
"""Signals after the shock over which ``SelectionCollapse`` measures the collapse."""


class Stationary(Scenario):
    """Nothing happens: the normal market from the first signal to the last.

    Parameters
    ----------
    n
        Signals in the stream.
    delay
        Mean steps between a signal and its outcomes.
    seed
        Random seed.

    Examples
    --------
    >>> from freqtrade_feedback import lab
    >>> scenario = lab.Stationary(seed=7)
    >>> scenario.biased, scenario.onset_trade
    (False, None)
    >>> for signal in scenario.take(3):
    ...     print(signal)
    #0 2024-01-01T00:00Z ETH/USDT p_win=0.34 shadow=-0.0086 closes=#16 normal
    #1 2024-01-01T00:05Z XRP/USDT p_win=0.61 shadow=+0.0054 closes=#18 normal
    #2 2024-01-01T00:10Z ETH/USDT p_win=0.50 shadow=+0.0091 closes=#9 normal
    """

    name = "stationary"

    @property
    def stationary_prefix(self) -> int:
        return self.n


class StationaryHeavy(Scenario):
    """Nothing happens, but outcome sizes are heavy-tailed: a false alarm is all a guard can
    raise here.

    Each outcome's magnitude is ``|t| * c`` for ``t`` drawn from Student's t with ``df``
    degrees of freedom, ``c`` chosen so that the mean square magnitude is the stationary
    market's (1.5 for Gamma(2, 0.5); ``c = 0.71`` at ``df = 3``): the same spread, measured
    as the standard deviation, with far fatter tails: at ``df = 3`` the fourth moment is
    infinite, one outcome in 170 is over 5% (one in 2,000 in the stationary market), and the
    mean size is smaller (0.78%). Real crypto trades have such tails. Win or loss is drawn as
    in every scenario, so the probability of a win, what the learner learns, is unchanged.

    Parameters
    ----------
    n
        Signals in the stream.
    df
        Degrees of freedom of the magnitudes' t distribution, above 2 (a finite variance).
    delay
        Mean steps between a signal and its outcomes.
    seed
        Random seed.

    Examples
    --------
    >>> from freqtrade_feedback import lab
    >>> scenario = lab.StationaryHeavy(seed=7)
    >>> scenario.biased, scenario.onset_trade, scenario.stationary_prefix
    (False, None, 0)
    >>> for signal in scenario.take(3):
    ...     print(signal)
    #0 2024-01-01T00:00Z ETH/USDT p_win=0.34 shadow=-0.0002 closes=#16 normal
    #1 2024-01-01T00:05Z XRP/USDT p_win=0.61 shadow=+0.0066 closes=#18 normal
    #2 2024-01-01T00:10Z ETH/USDT p_win=0.50 shadow=+0.0038 closes=#9 normal

    Same seed, same signals as ``Stationary`` (pairs, features, wins and losses): only the
    sizes differ.
    """

    name = "stationary_heavy"

    def __init__(
        self, n: int = 2000, df: float = 3.0, delay: int = 12, seed: int | None = None
    ) -> None:
        super().__init__(n=n, delay=delay, seed=seed)
        self.df = df
        check_interval(type(self).__name__, "df", df, 2.01, 1000)

    def _magnitudes(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        gamma_square = (MAGNITUDE_SHAPE + 1) / MAGNITUDE_SHAPE  # E[m^2] of Gamma(k, 1/k)
        scale = math.sqrt(gamma_square * (self.df - 2) / self.df)  # E[t^2] = df / (df - 2)
        return np.abs(rng.standard_t(self.df, n)) * scale


class _FromOnset(Scenario):
    """A scenario whose change starts at signal ``onset``: the signals before it are those of
    the normal market, filled as the market fills anyone (``Scenario.fill``)."""

    def __init__(
        self, n: int = 2000, onset: int = 1000, delay: int = 12, seed: int | None = None
    ) -> None:
        super().__init__(n=n, delay=delay, seed=seed)
        self.onset = onset
        check_count(type(self).__name__, "onset", onset, 0, n - 1)

    @property
    def onset_trade(self) -> int:
        return self.onset

    @property
    def stationary_prefix(self) -> int:
        return self.onset

    def fill(self, signal: MarketSignal, stake: float) -> Fill:
        if signal.step < self.onset:
            return super().fill(signal, stake)
        return self._fill_from_onset(signal, stake)

    def _fill_from_onset(self, signal: MarketSignal, stake: float) -> Fill:
        """What a signal from ``onset`` on gives us (by default, what it gave before)."""
        return super().fill(signal, stake)


class RegimeFlip(_FromOnset):
    """An exogenous regime change: from ``onset`` on, the market is flipped for good.

    Breakouts stop paying and calm markets start to; the change is the market's, so shadow
    and realized outcomes change alike. A learner that keeps learning from its trades
    adapts (it sees its breakout trades fail), a frozen one keeps losing: freezing here is a
    false alarm.

    Parameters
    ----------
    n
        Signals in the stream.
    onset
        First signal drawn from the flipped market.
    delay
        Mean steps between a signal and its outcomes.
    seed
        Random seed.

    Examples
    --------
    >>> from freqtrade_feedback import lab
    >>> scenario = lab.RegimeFlip(n=6, onset=2, seed=7)
    >>> scenario.biased, scenario.onset_trade
    (False, 2)
    >>> for signal in scenario:
    ...     print(signal)
    #0 2024-01-01T00:00Z ETH/USDT p_win=0.34 shadow=-0.0086 closes=#16 normal
    #1 2024-01-01T00:05Z XRP/USDT p_win=0.61 shadow=+0.0054 closes=#18 normal
    #2 2024-01-01T00:10Z ETH/USDT p_win=0.82 shadow=+0.0091 closes=#9 flipped
    #3 2024-01-01T00:15Z BTC/USDT p_win=0.13 shadow=+0.0065 closes=#16 flipped
    #4 2024-01-01T00:20Z BTC/USDT p_win=0.26 shadow=+0.0104 closes=#18 flipped
    #5 2024-01-01T00:25Z BTC/USDT p_win=0.36 shadow=-0.0051 closes=#17 flipped

    The same seed draws the same signals in every scenario; only the truth differs (signal 3
    is a breakout: it would have been likely to win before the flip).
    """

    name = "regime_flip"

    def _flipped(self, steps: _Steps) -> npt.NDArray[np.bool_]:
        return steps >= self.onset


class SelectionCollapse(_FromOnset):
    """A long exogenous shock, then a collapse that a learner of its own trades inflicts on
    itself.

    From ``onset`` for ``duration`` signals the market is flipped, as in ``RegimeFlip``, and
    quiet: a choppy spell in which breakout trades are stopped out while calm markets pay,
    every outcome ``shock_size`` times its usual size. Then the normal market returns, and
    the breakout region is as profitable as before. A learner that learned the shock from
    its own trades (``labels: "realized"``) now rejects most breakout signals; it sees the
    recovery only through a trickle of exploration trades and the few breakout signals it
    still takes, and the calm trades it keeps taking (slightly better the calmer, in the
    normal market too) confirm what it believes, so it keeps rejecting a profitable region
    for hundreds of signals. The shock is long so that the learner's view of the market (its
    scaler, too, sees only what it took) is the shock's; it is quiet so that what it costs
    (or what adapting to it earns) is small next to what the self-inflicted part costs.
    Shadow outcomes show the recovery at once, so a learner of every signal's outcome (the
    default ``labels: "all"``) recovers within about a hundred signals.

    The lab measures the collapse (``collapse_window``): over the ``COLLAPSE_SIGNALS``
    signals after the shock, the selective learner's acceptance of breakout signals against
    that of a reference that learns every signal's shadow outcome (``lab.report``).

    Adapting during the shock is right (the change is the market's); rejecting breakouts after
    it is the self-inflicted part. So ``onset_trade``, where the self-referential bias starts,
    is the end of the shock, ``onset + duration``: a freeze during the shock is a false alarm.

    Parameters
    ----------
    n
        Signals in the stream.
    onset
        First signal of the shock.
    duration
        Signals the shock lasts.
    shock_size
        Size of the outcomes during the shock, relative to normal ones.
    delay
        Mean steps between a signal and its outcomes.
    seed
        Random seed.

    Examples
    --------
    >>> from freqtrade_feedback import lab
    >>> scenario = lab.SelectionCollapse(n=8, onset=2, duration=3, seed=7)
    >>> scenario.biased, scenario.onset, scenario.onset_trade, scenario.collapse_window
    (True, 2, 5, (5, 8))
    >>> for signal in scenario:
    ...     print(signal)
    #0 2024-01-01T00:00Z ETH/USDT p_win=0.34 shadow=-0.0086 closes=#16 normal
    #1 2024-01-01T00:05Z XRP/USDT p_win=0.61 shadow=+0.0054 closes=#18 normal
    #2 2024-01-01T00:10Z ETH/USDT p_win=0.82 shadow=+0.0018 closes=#9 flipped
    #3 2024-01-01T00:15Z BTC/USDT p_win=0.13 shadow=+0.0013 closes=#16 flipped
    #4 2024-01-01T00:20Z BTC/USDT p_win=0.26 shadow=+0.0021 closes=#18 flipped
    #5 2024-01-01T00:25Z BTC/USDT p_win=0.36 shadow=-0.0051 closes=#17 normal
    #6 2024-01-01T00:30Z BTC/USDT p_win=0.51 shadow=+0.0180 closes=#17 normal
    #7 2024-01-01T00:35Z SOL/USDT p_win=0.40 shadow=-0.0083 closes=#23 normal
    """

    biased = True
    name = "selection_collapse"

    def __init__(
        self,
        n: int = 2500,
        onset: int = 300,
        duration: int = 1500,
        shock_size: float = 0.2,
        delay: int = 12,
        seed: int | None = None,
    ) -> None:
        super().__init__(n=n, onset=onset, delay=delay, seed=seed)
        self.duration = duration
        self.shock_size = shock_size
        check_count(type(self).__name__, "duration", duration, 1, n - onset)
        check_interval(type(self).__name__, "shock_size", shock_size, 0.01, 1)

    @property
    def onset_trade(self) -> int:
        return self.onset + self.duration

    @property
    def collapse_window(self) -> tuple[int, int]:
        """The ``COLLAPSE_SIGNALS`` signals after the shock (fewer if the stream ends first)."""
        return self.onset_trade, min(self.n, self.onset_trade + COLLAPSE_SIGNALS)

    def _flipped(self, steps: _Steps) -> npt.NDArray[np.bool_]:
        return (steps >= self.onset) & (steps < self.onset + self.duration)

    def _size(self, steps: _Steps, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.where(self._flipped(steps), float(self.shock_size), 1.0)


class ReflexiveImpact(_FromOnset):
    """From ``onset`` on, our own orders worsen our fills in proportion to the stake.

    ``realized = shadow - impact * stake``, observed and booked alike: a thin order book
    that we walk on entry and exit. The shadow outcome, replayed on candles without our
    orders, does not change, so the learner learns its own impact as if it were the
    signals' quality, and most where it is most confident (stake scaling puts the largest
    stakes there). The default impact, 0.3% per unit of stake, eats half the edge of a
    breakout trade at the base stake (its mean shadow profit is 0.6%), three quarters at the
    largest stake.

    Parameters
    ----------
    n
        Signals in the stream.
    onset
        First signal whose fill our orders worsen.
    impact
        Profit ratio lost per unit of stake.
    delay
        Mean steps between a signal and its outcomes.
    seed
        Random seed.

    Examples
    --------
    >>> from freqtrade_feedback import lab
    >>> scenario = lab.ReflexiveImpact(n=4, onset=2, seed=7)
    >>> scenario.biased, scenario.onset_trade
    (True, 2)
    >>> for signal in scenario:
    ...     fill = scenario.fill(signal, stake=1.5)
    ...     print(signal.step, f"{signal.shadow:+.4f} {fill.observed:+.4f} {fill.booked:+.4f}")
    0 -0.0086 -0.0086 -0.0086
    1 +0.0054 +0.0054 +0.0054
    2 +0.0091 +0.0046 +0.0046
    3 +0.0065 +0.0020 +0.0020
    """

    biased = True
    name = "reflexive_impact"

    def __init__(
        self,
        n: int = 2000,
        onset: int = 1000,
        impact: float = 0.003,
        delay: int = 12,
        seed: int | None = None,
    ) -> None:
        super().__init__(n=n, onset=onset, delay=delay, seed=seed)
        self.impact = impact
        check_interval(type(self).__name__, "impact", impact, 0, 0.1)

    def _fill_from_onset(self, signal: MarketSignal, stake: float) -> Fill:
        realized = signal.shadow - self.impact * stake
        return Fill(realized, realized)


class SelfFulfilling(_FromOnset):
    """From ``onset`` on, our buying lifts the price of a thin market, so our trades look good.

    The loop is told ``observed = shadow + lift * stake``: the profit marked at the exit
    barrier on candles our own buying lifted (a backtest fills at such candle prices). The
    account books ``booked = shadow - cost * stake``: selling into the same thin book gives
    the lift back, and the round trip costs ``cost`` per unit of stake on top. The larger
    the stake, the better a trade looks and the worse it pays; with stake scaling, a
    learner that believes what it observes grows confident, stakes more and takes signals
    it used to reject. The defaults (a 1% lift and a 0.2% cost per unit of stake) turn 59% of
    the losers at the base stake into apparent winners, 80% at the largest stake.

    Parameters
    ----------
    n
        Signals in the stream.
    onset
        First signal whose observed outcome our buying lifts.
    lift
        Profit ratio added to the observed outcome per unit of stake.
    cost
        Profit ratio the account loses per unit of stake, once the lift has reversed.
    delay
        Mean steps between a signal and its outcomes.
    seed
        Random seed.

    Examples
    --------
    >>> from freqtrade_feedback import lab
    >>> scenario = lab.SelfFulfilling(n=4, onset=2, seed=7)
    >>> scenario.biased, scenario.onset_trade
    (True, 2)
    >>> for signal in scenario:
    ...     fill = scenario.fill(signal, stake=1.5)
    ...     print(signal.step, f"{signal.shadow:+.4f} {fill.observed:+.4f} {fill.booked:+.4f}")
    0 -0.0086 -0.0086 -0.0086
    1 +0.0054 +0.0054 +0.0054
    2 +0.0091 +0.0241 +0.0061
    3 +0.0065 +0.0215 +0.0035
    """

    biased = True
    name = "self_fulfilling"

    def __init__(
        self,
        n: int = 2000,
        onset: int = 1000,
        lift: float = 0.01,
        cost: float = 0.002,
        delay: int = 12,
        seed: int | None = None,
    ) -> None:
        super().__init__(n=n, onset=onset, delay=delay, seed=seed)
        self.lift = lift
        self.cost = cost
        check_interval(type(self).__name__, "lift", lift, 0, 0.1)
        check_interval(type(self).__name__, "cost", cost, 0, 0.1)

    def _fill_from_onset(self, signal: MarketSignal, stake: float) -> Fill:
        return Fill(signal.shadow + self.lift * stake, signal.shadow - self.cost * stake)


SCENARIOS: Final[dict[str, type[Scenario]]] = {
    cls.name: cls
    for cls in (
        Stationary,
        StationaryHeavy,
        RegimeFlip,
        SelectionCollapse,
        ReflexiveImpact,
        SelfFulfilling,
    )
}
"""Scenario classes by their command-line name."""
