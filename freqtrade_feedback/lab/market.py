"""A seeded market of entry signals whose ground truth is known: the world of the bias lab.

Every step emits one signal of a primary strategy: a UTC time, a pair, four scale-free
features (z-scores), the true probability that it wins, and its *shadow* outcome, the profit
ratio it makes in the market without us. Outcomes become known a few steps later, as trades
close, and out of order. What our own action does to the outcome we get (the *realized*
outcome) is the scenario's :meth:`Scenario.fill`, the executor; the shadow outcome never
depends on it.

**Ground truth.** The log-odds of a win are

``-0.5 + 0.5 trend + 0.3 momentum - 0.2 volume + g(volatility)``

where ``g`` describes two kinds of market:

- *normal*: ``g(v) = +2.0`` in the breakout region ``v > 0.5`` (31% of signals, about 80%
  winners), else ``-0.3 v`` (the calmer the slightly better; about 42% winners);
- *flipped*: breakouts fail, ``g(v) = -1.0`` for ``v > 0.5`` (about 20% winners), and calm
  markets pay, ``g(v) = -0.3 v + 1.5`` for ``v < -0.5`` (31% of signals, about 78% winners).

Taking every signal wins 53% of the time in the normal market and 45% in the flipped one.

The truth is not linear in the features, as no real market is, so what a linear learner
believes about a region depends on where it samples: the root of selection bias.

A winner makes ``+1%`` times a Gamma(2, 0.5) magnitude (mean 1%, most between 0.2% and
2.4%), a loser loses as much (``StationaryHeavy`` draws heavy-tailed magnitudes instead).
Outcomes close ``delay // 2`` to ``delay + delay // 2`` steps after the signal.

**Common random numbers.** Every scenario draws the same random numbers in the same order
(features, win coin, magnitude, pair, closing lag), so the same seed gives the same signals
in every scenario and the scenarios differ only in their truth and executor: comparisons
between scenarios are paired.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Final, TypeAlias

import numpy as np
import numpy.typing as npt

from freqtrade_feedback.typing import Features
from freqtrade_feedback.validation import check_count

_Floats: TypeAlias = npt.NDArray[np.float64]
_Bools: TypeAlias = npt.NDArray[np.bool_]

FEATURES: Final = ("trend", "momentum", "volatility", "volume")
PAIRS: Final = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")
START: Final = datetime(2024, 1, 1, tzinfo=UTC)
STEP: Final = timedelta(minutes=5)
"""One signal per step: step ``t`` is at ``START + t * STEP``."""

INTERCEPT: Final = -0.5
WEIGHTS: Final = (0.5, 0.3, 0.0, -0.2)
"""Linear weights of the features, in ``FEATURES`` order (volatility acts through ``g``)."""
BREAKOUT_AT: Final = 0.5
BREAKOUT_LIFT: Final = 2.0
CALM_SLOPE: Final = -0.3
FLIPPED_BREAKOUT: Final = -1.0
CALM_AT: Final = -0.5
FLIPPED_CALM_LIFT: Final = 1.5
PROFIT: Final = 0.01
"""Mean size of a win or a loss, as a profit ratio."""
MAGNITUDE_SHAPE: Final = 2.0

NORMAL, FLIPPED = "normal", "flipped"


@dataclass(frozen=True)
class MarketSignal:
    """One signal of the primary strategy, with what only the lab knows about it."""

    step: int
    time: datetime
    """Open time of the signal candle (UTC)."""
    pair: str
    features: Features
    p_win: float
    """True probability that the signal wins (its shadow outcome is positive)."""
    shadow: float
    """Profit ratio the signal makes in the market without us: the same whatever we do."""
    closes: int
    """Step at which the outcomes (shadow and, if taken, realized) become known."""
    regime: str
    """``"normal"`` or ``"flipped"``: which truth drew the outcome."""

    @property
    def breakout(self) -> bool:
        """In the breakout region, the one the regime flips and the shock hits."""
        return self.features["volatility"] > BREAKOUT_AT

    def __str__(self) -> str:
        return (
            f"#{self.step} {self.time:%Y-%m-%dT%H:%M}Z {self.pair} p_win={self.p_win:.2f} "
            f"shadow={self.shadow:+.4f} closes=#{self.closes} {self.regime}"
        )


@dataclass(frozen=True)
class Fill:
    """What a taken signal gives us, per unit of stake.

    ``observed`` is the profit ratio the bot computes and reports to the loop (the realized
    outcome the learner learns from); ``booked`` is what the account really earns, the figure
    the lab's profit columns add up (times the stake). They differ only where a scenario says
    so (``SelfFulfilling``).
    """

    observed: float
    booked: float


def _sigmoid(z: _Floats) -> _Floats:
    return 1.0 / (1.0 + np.exp(-z))


def true_logit(x: _Floats, flipped: _Bools) -> _Floats:
    """Log-odds of a win for feature rows ``x`` (``FEATURES`` order), in either market."""
    v = x[:, FEATURES.index("volatility")]
    linear = INTERCEPT + x @ np.asarray(WEIGHTS)
    normal = np.where(v > BREAKOUT_AT, BREAKOUT_LIFT, CALM_SLOPE * v)
    calm = CALM_SLOPE * v + np.where(v < CALM_AT, FLIPPED_CALM_LIFT, 0.0)
    upside_down = np.where(v > BREAKOUT_AT, FLIPPED_BREAKOUT, calm)
    return np.asarray(linear + np.where(flipped, upside_down, normal), dtype=np.float64)


@dataclass(frozen=True)
class _Draws:
    x: _Floats
    coin: _Floats
    magnitude: _Floats
    pair: npt.NDArray[np.int64]
    lag: npt.NDArray[np.int64]


class Scenario:
    """Base of the lab's scenarios: a stream of :class:`MarketSignal` and an executor.

    Subclasses say where the market is flipped (``_flipped``), how outcomes are scaled
    (``_size``) and what our orders do to our fills (``fill``). Iterating starts from
    the seed every time, so two iterations give the same signals.

    Parameters
    ----------
    n
        Signals in the stream.
    delay
        Mean steps between a signal and its outcomes.
    seed
        Random seed; the same seed gives the same signals.
    """

    biased: ClassVar[bool] = False
    """Whether the scenario injects self-referential bias (ground truth for the guard)."""
    name: ClassVar[str] = "scenario"

    def __init__(self, n: int = 2000, delay: int = 12, seed: int | None = None) -> None:
        self.n = n
        self.delay = delay
        self.seed = seed
        check_count(type(self).__name__, "n", n, 1)
        check_count(type(self).__name__, "delay", delay, 1)

    @property
    def onset_trade(self) -> int | None:
        """First trade (signal step) the injected change affects; ``None`` if nothing changes."""
        return None

    @property
    def max_lag(self) -> int:
        """The most steps between a signal and its outcomes: every signal of a step before
        ``t - max_lag`` has closed by step ``t``."""
        return self.delay + self.delay // 2

    def __repr__(self) -> str:
        params = inspect.signature(type(self).__init__).parameters
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in params if p != "self")
        return f"{type(self).__name__}({args})"

    # -- the stream ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[MarketSignal]:
        steps = np.arange(self.n)
        draws = self._draw()
        flipped = self._flipped(steps)
        p = _sigmoid(true_logit(draws.x, flipped))
        win = draws.coin < p
        size = self._size(steps, draws.x)
        shadow = np.where(win, PROFIT, -PROFIT) * draws.magnitude * size
        for t in range(self.n):
            yield MarketSignal(
                step=t,
                time=START + t * STEP,
                pair=PAIRS[int(draws.pair[t])],
                features=dict(zip(FEATURES, draws.x[t].tolist(), strict=True)),
                p_win=float(p[t]),
                shadow=float(shadow[t]),
                closes=t + int(draws.lag[t]),
                regime=FLIPPED if flipped[t] else NORMAL,
            )

    def take(self, k: int) -> list[MarketSignal]:
        """The first ``k`` signals."""
        return list(itertools.islice(self, k))

    def _draw(self) -> _Draws:
        """One random stream per component, spawned from the seed: a longer ``n`` extends
        the stream without changing the signals it shares with a shorter one."""
        features, coin, magnitude, pair, lag = (
            np.random.default_rng(child) for child in np.random.SeedSequence(self.seed).spawn(5)
        )
        n = self.n
        return _Draws(
            x=features.standard_normal((n, len(FEATURES))),
            coin=coin.random(n),
            magnitude=self._magnitudes(magnitude, n),
            pair=pair.integers(0, len(PAIRS), n),
            lag=lag.integers(max(1, self.delay // 2), self.max_lag + 1, n),
        )

    def _magnitudes(self, rng: np.random.Generator, n: int) -> _Floats:
        """Sizes of the outcomes relative to ``PROFIT``: Gamma(2, 0.5) by default (mean 1)."""
        return rng.gamma(MAGNITUDE_SHAPE, 1.0 / MAGNITUDE_SHAPE, n)

    @property
    def stationary_prefix(self) -> int:
        """Leading signals (and fills) that are those of ``Stationary`` with the same seed and
        delay: a run may start from a stationary run's state at this step (``lab.run``).
        None are promised by default."""
        return 0

    @property
    def collapse_window(self) -> tuple[int, int] | None:
        """Signals over which the lab measures a selection collapse (``None``: not measured)."""
        return None

    def _flipped(self, steps: npt.NDArray[np.int64]) -> _Bools:
        """Where the flipped truth draws the outcome (nowhere by default)."""
        return np.zeros(len(steps), dtype=bool)

    def _size(self, steps: npt.NDArray[np.int64], x: _Floats) -> _Floats:
        """Factor on the size of outcomes (1 by default)."""
        return np.ones(len(steps))

    # -- the executor --------------------------------------------------------------------

    def fill(self, signal: MarketSignal, stake: float) -> Fill:
        """What taking ``signal`` with ``stake`` (a factor of the base stake) gives us.

        By default the market does not notice us: the realized outcome is the shadow one.
        A signal we do not take has no realized outcome, so it is never filled.
        """
        return Fill(signal.shadow, signal.shadow)
