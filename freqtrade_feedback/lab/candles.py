"""Seeded synthetic OHLCV candles in Freqtrade's on-disk format: the offline demo's market.

The demo backtests a TA-Lib strategy and trains the gate on its trades, so the candles must
carry the structure such a strategy reacts to. A plain random walk has none: RSI and Bollinger
signals would be coin flips and the gate would learn noise. The model therefore layers what
real crypto markets show:

- a persistent Markov regime shared by the whole market (drift up, drift down, or a
  mean-reverting range), so EMA crossovers meet real trends and oscillators real ranges;
- GARCH(1,1) volatility clustering with Student-t innovations (fat tails);
- a common market factor plus an idiosyncratic part per pair, so pairs are correlated;
- intraday and weekend seasonality in volatility and volume, with volume rising with the
  bar's absolute return and the current volatility;
- high and low drawn from the Brownian bridge between open and close, so wicks are consistent
  with the bar's volatility and every candle obeys ``low <= min(open, close)`` and
  ``max(open, close) <= high``.

Every random stream is keyed by ``(seed, component)`` for the market and
``(seed, pair, component)`` for a pair, and the sequential recursions only look backwards. So a
pair's candles do not depend on which other pairs are generated, and a longer ``days`` extends
the series without changing the candles it shares with a shorter one.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from freqtrade_feedback.exceptions import ConfigError
from freqtrade_feedback.validation import check_count, invalid, is_int

_Floats: TypeAlias = npt.NDArray[np.float64]

OHLCV_COLUMNS: Final = ("date", "open", "high", "low", "close", "volume")
TIMEFRAME_UNITS: Final = {"m": 60, "h": 3_600, "d": 86_400}
_TIMEFRAME_HINT: Final = "'<n>m', '<n>h' or '<n>d', e.g. '1m', '5m', '15m', '1h', '4h', '1d'"
_TIMEFRAME_RE: Final = re.compile(r"^([1-9][0-9]*)([mhd])$")
_PAIR_RE: Final = re.compile(r"^([A-Za-z0-9.\-_]+)/([A-Za-z0-9.\-_]+)(:[A-Za-z0-9.\-_]+)?$")
_DAY: Final = 86_400

# Regimes, in code order. Durations and drifts are per day so every timeframe sees one market.
REGIMES: Final = ("range", "up", "down")
_MEAN_DAYS: Final = np.array([3.0, 2.5, 2.0])
_DRIFT_PER_DAY: Final = np.array([0.0, 0.02, -0.025])
_VOL_SCALE: Final = np.array([0.75, 1.0, 1.35])
_TRANSITIONS: Final = np.array([[0.0, 0.5, 0.5], [0.7, 0.0, 0.3], [0.7, 0.3, 0.0]])

_MARKET_DAILY_VOL: Final = 0.03
_T_DF: Final = 5.0
_ALPHA_SHARE: Final = 0.9
_VOL_AMPLITUDE: Final = 0.4
_SLOW_VOL: Final = 0.4
_SLOW_VOL_DAYS: Final = 5.0
_VOL_MEMORY_DAYS: Final = 1.0
_RANGE_HALF_LIFE_DAYS: Final = 1 / 3
_VOLUME_MEMORY_DAYS: Final = 0.25

# Asset -> (price in USD on 2024-01-01, market beta, idiosyncratic vol / market vol, daily
# quote volume in USD). Unknown assets get deterministic values from their name.
_ASSETS: Final = {
    "BTC": (42_000.0, 1.0, 0.35, 1.5e9),
    "ETH": (2_300.0, 1.05, 0.5, 8e8),
    "SOL": (100.0, 1.45, 1.4, 3e8),
    "BNB": (310.0, 0.8, 0.6, 1e8),
    "XRP": (0.6, 1.1, 0.9, 1.5e8),
    "ADA": (0.55, 1.25, 0.9, 6e7),
    "DOGE": (0.09, 1.3, 1.1, 1e8),
}
_STABLECOINS: Final = frozenset({"USDT", "USDC", "FDUSD", "BUSD", "DAI", "TUSD", "USD", "EUR"})


def timeframe_to_seconds(timeframe: str) -> int:
    """Length of one candle; only minute, hour and day timeframes exist in the lab.

    Examples
    --------
    >>> timeframe_to_seconds("5m"), timeframe_to_seconds("4h"), timeframe_to_seconds("1d")
    (300, 14400, 86400)
    """
    match = _TIMEFRAME_RE.match(timeframe) if isinstance(timeframe, str) else None
    if match is None:
        raise invalid("SyntheticMarket", "timeframe", f"one of {_TIMEFRAME_HINT}", timeframe)
    return int(match.group(1)) * TIMEFRAME_UNITS[match.group(2)]


HOUR_S: Final = 3600


def _resample_hourly(frame: pd.DataFrame, candle_s: int) -> pd.DataFrame:
    """Whole hours of ``frame`` as 1h candles, dated by their open time (Freqtrade's way)."""
    per_hour = HOUR_S // candle_s
    hours = frame.resample("1h", on="date", label="left", closed="left")
    out = hours.agg({"open": "first", "high": "max", "low": "min", "close": "last",
                     "volume": "sum"})
    complete = hours["close"].count() == per_hour
    return out[complete].reset_index()


def pair_to_filename(pair: str) -> str:
    """Freqtrade's ``misc.pair_to_filename``, copied so the core never imports the bot."""
    for char in ("/", " ", ".", "@", "$", "+", ":"):
        pair = pair.replace(char, "_")
    return pair


def _name_hash(name: str) -> int:
    # hash() is salted per process; the lab must give the same pair the same candles forever.
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class _Asset:
    price: float
    beta: float
    idio: float
    quote_volume: float


def _asset(symbol: str) -> _Asset:
    if symbol.upper() in _STABLECOINS:
        return _Asset(1.0, 0.0, 0.0, 1e9)
    if symbol.upper() in _ASSETS:
        return _Asset(*_ASSETS[symbol.upper()])
    u = np.random.default_rng(_name_hash(symbol.upper())).random(4)
    return _Asset(10 ** (-2 + 5 * u[0]), 0.9 + 0.7 * u[1], 0.5 + 0.7 * u[2], 10 ** (6.5 + 2 * u[3]))


@dataclass(frozen=True)
class _PairProfile:
    """A pair is its base asset priced in its quote asset: betas subtract, idio vols add."""

    price: float
    beta: float
    idio: float
    base_volume: float

    @classmethod
    def of(cls, pair: str) -> _PairProfile:
        base_symbol, quote_symbol = _parse_pair(pair)
        base, quote = _asset(base_symbol), _asset(quote_symbol)
        price = base.price / quote.price
        idio = max(math.hypot(base.idio, quote.idio), 0.1)
        return cls(price, base.beta - quote.beta, idio, base.quote_volume / base.price)


def _linear_recurrence(a: _Floats, b: _Floats, x0: float, block: int = 64) -> _Floats:
    """Solve ``x[t] = a[t] * x[t-1] + b[t]`` with ``x[-1] = x0``, vectorised in blocks.

    Within a block the solution is ``P * (x_prev + cumsum(b / P))`` with ``P = cumprod(a)``;
    short blocks keep ``P`` far from under- and overflow, so ``a`` only has to stay well above
    zero. Only the block boundaries are chained in Python. Blocks start at index 0, so a prefix
    of the input gives a prefix of the output, bit for bit.
    """
    n = len(a)
    rows = -(-n // block)
    pad = rows * block - n
    a2 = np.pad(np.asarray(a, float), (0, pad), constant_values=1.0).reshape(rows, block)
    b2 = np.pad(np.asarray(b, float), (0, pad)).reshape(rows, block)
    growth = np.cumprod(a2, axis=1)
    local = growth * np.cumsum(b2 / growth, axis=1)
    starts = np.empty(rows)
    previous = x0
    for row in range(rows):
        starts[row] = previous
        previous = growth[row, -1] * previous + local[row, -1]
    return (local + growth * starts[:, None]).ravel()[:n]


def _student_t(rng: np.random.Generator, n: int) -> _Floats:
    """Unit-variance Student-t draws: fat tails without changing the volatility scale."""
    return rng.standard_t(_T_DF, size=n) / math.sqrt(_T_DF / (_T_DF - 2.0))


def _garch_variance(z: _Floats, dt_days: float) -> _Floats:
    """GARCH(1,1) variance relative to its long-run level, driven by unit shocks ``z``.

    Persistence comes from a memory in days, so clustering means the same on every timeframe.
    ``alpha`` is kept at 90% of the bound for a finite fourth moment with t innovations, the
    strongest clustering whose kurtosis still converges.
    """
    persistence = math.exp(-dt_days / _VOL_MEMORY_DAYS)
    excess = 3.0 + 6.0 / (_T_DF - 4.0) - 1.0
    alpha = _ALPHA_SHARE * math.sqrt((1.0 - persistence**2) / excess)
    beta = persistence - alpha
    a = alpha * z[:-1] ** 2 + beta
    tail = _linear_recurrence(a, np.full(len(a), 1.0 - persistence), 1.0)
    return np.concatenate(([1.0], tail))


def _ar1(shocks: _Floats, phi: float) -> _Floats:
    return _linear_recurrence(np.full(len(shocks), phi), shocks, 0.0)


def _regime_codes(n: int, dt_days: float, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Persistent Markov regimes: geometric durations (in days) and a fixed transition table."""
    durations, nexts = rng.spawn(2)
    codes: list[int] = []
    lengths: list[int] = []
    state = int(nexts.integers(len(REGIMES)))
    while sum(lengths) < n:
        codes.append(state)
        lengths.append(int(durations.geometric(min(1.0, dt_days / _MEAN_DAYS[state]))))
        cumulative = np.cumsum(_TRANSITIONS[state])
        state = int(np.searchsorted(cumulative, nexts.random() * cumulative[-1], side="right"))
    return np.repeat(np.array(codes), lengths)[:n]


def _seasonality(
    epoch_s: npt.NDArray[np.int64], tf_s: int, amplitude: float, weekend: float
) -> _Floats:
    """Mean of a 24h cosine (peak 15:00 UTC) over each bar, times a weekend discount.

    Averaging over the bar, not sampling its start, keeps 4h and 1d bars unbiased.
    """
    omega = 2 * math.pi / _DAY
    phase = epoch_s - 15 * 3_600
    mean_cos = (np.sin(omega * (phase + tf_s)) - np.sin(omega * phase)) / (omega * tf_s)
    weekday = (epoch_s // _DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    return (1.0 + amplitude * mean_cos) * np.where(weekday >= 5, weekend, 1.0)


def _bridge_excursions(
    move: _Floats, sigma: _Floats, rng: np.random.Generator
) -> tuple[_Floats, _Floats]:
    """Maximum and minimum of a Brownian bridge from 0 to ``move`` (exact inverse-CDF draws).

    ``P(max > m) = exp(-2 m (m - move) / sigma^2)`` for ``m >= max(0, move)``.
    """
    # (n, 2) then transposed: the first k candles draw the same numbers for every n.
    u_high, u_low = 1.0 - rng.random((len(move), 2)).T  # in (0, 1]: log stays finite
    spread_high = np.sqrt(move**2 - 2 * sigma**2 * np.log(u_high))
    spread_low = np.sqrt(move**2 - 2 * sigma**2 * np.log(u_low))
    return (move + spread_high) / 2, (move - spread_low) / 2


class SyntheticMarket:
    """Seeded candles for several correlated pairs, written the way Freqtrade stores them.

    Parameters
    ----------
    pairs
        Pairs as Freqtrade spells them (``"BASE/QUOTE"``, optionally ``":SETTLE"``). BTC, ETH,
        SOL and a few other assets start near their 2024-01-01 prices; any other asset gets a
        price level, beta and volume derived from its name, so it is stable across runs.
    timeframe
        Candle length, ``<n>m``, ``<n>h`` or ``<n>d``.
    start
        UTC-aware time of the first candle, rounded up to the timeframe's grid (Freqtrade
        aligns candles to multiples of the timeframe since the epoch).
    days
        Length of the series in days; there are ``days * 86400 // timeframe_seconds`` candles.
    seed
        Seed of every random stream. ``None`` draws fresh entropy once per instance, so the
        pairs of one instance still share one market.

    Notes
    -----
    A pair's candles depend only on ``(seed, pair, timeframe, start, days)``: the market factor
    is keyed by the seed alone and each pair's own streams by the seed and its name, so adding a
    pair never changes the others. The candles shared by two values of ``days`` are identical.
    ``write`` stores spot candles only; futures backtests also need funding and mark candles.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from freqtrade_feedback import lab
    >>> market = lab.SyntheticMarket(pairs=["BTC/USDT", "ETH/USDT"], timeframe="1h", days=2,
    ...                              seed=7)
    >>> btc = market.frame("BTC/USDT")
    >>> btc.shape, str(btc["date"].dtype)
    ((48, 6), 'datetime64[ms, UTC]')
    >>> print(btc["date"].iloc[0], "to", btc["date"].iloc[-1])
    2024-01-01 00:00:00+00:00 to 2024-01-02 23:00:00+00:00
    >>> btc.iloc[:3, 1:].round(1)
          open     high      low    close  volume
    0  42000.0  42179.9  41796.2  42035.6   527.7
    1  42035.6  42096.0  41751.0  41833.6  1328.1
    2  41833.6  41883.6  41651.0  41843.6   358.6
    >>> market.regimes().value_counts().to_dict()
    {'range': 37, 'down': 11}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [path.name for path in market.write(Path(tmp))]
    ['BTC_USDT-1h.feather', 'ETH_USDT-1h.feather']
    """

    def __init__(
        self,
        pairs: Sequence[str] = ("BTC/USDT", "ETH/USDT", "SOL/USDT"),
        timeframe: str = "5m",
        start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
        days: int = 120,
        seed: int | None = 42,
    ) -> None:
        self.pairs = pairs
        self.timeframe = timeframe
        self.start = start
        self.days = days
        self.seed = seed
        self._validate()
        self._reset()

    def _validate(self) -> None:
        if isinstance(self.pairs, str) or not self.pairs:
            raise invalid(
                "SyntheticMarket",
                "pairs",
                "a non-empty sequence of 'BASE/QUOTE' pairs such as ['BTC/USDT', 'ETH/USDT']",
                self.pairs,
            )
        for pair in self.pairs:
            _parse_pair(pair)
        if len(set(self.pairs)) != len(self.pairs):
            raise ConfigError(
                f"The 'pairs' parameter of SyntheticMarket has duplicates: {self.pairs!r}."
            )
        timeframe_to_seconds(self.timeframe)
        if not isinstance(self.start, datetime) or self.start.utcoffset() is None:
            raise invalid(
                "SyntheticMarket",
                "start",
                "a timezone-aware datetime, e.g. datetime(2024, 1, 1, tzinfo=UTC)",
                self.start,
            )
        check_count("SyntheticMarket", "days", self.days, 1)
        if self.seed is not None and not (is_int(self.seed) and self.seed >= 0):  # type: ignore[operator]
            raise invalid("SyntheticMarket", "seed", "an int >= 0 or None", self.seed)

    def _reset(self) -> None:
        """Simulate the market factor and regimes once; every pair is built on top of them."""
        self._tf_s = timeframe_to_seconds(self.timeframe)
        self._dt = self._tf_s / _DAY
        first = -(-int(self.start.timestamp()) // self._tf_s) * self._tf_s
        n = self.days * _DAY // self._tf_s
        self._epoch_s = first + self._tf_s * np.arange(n, dtype=np.int64)
        self._entropy = np.random.SeedSequence(self.seed).entropy
        self._regime = _regime_codes(n, self._dt, self._rng(None, 1))
        z = _student_t(self._rng(None, 0), n)
        seasonal = _seasonality(self._epoch_s, self._tf_s, amplitude=_VOL_AMPLITUDE, weekend=0.85)
        self._scale = _VOL_SCALE[self._regime] * seasonal * self._slow_volatility(n)
        unit = _MARKET_DAILY_VOL * math.sqrt(self._dt)
        self._market_sigma = unit * np.sqrt(_garch_variance(z, self._dt)) * self._scale
        self._market_shock = self._market_sigma * z
        self._drift = _DRIFT_PER_DAY[self._regime] * self._dt

    def _slow_volatility(self, n: int) -> _Floats:
        phi = math.exp(-self._dt / _SLOW_VOL_DAYS)
        shocks = _SLOW_VOL * math.sqrt(1 - phi**2) * self._rng(None, 2).standard_normal(n)
        return np.exp(_ar1(shocks, phi) - _SLOW_VOL**2)

    def _rng(self, pair: str | None, component: int) -> np.random.Generator:
        key = [0] if pair is None else [1, _name_hash(pair)]
        return np.random.default_rng([self._entropy, *key, component])

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Open time of every candle (Freqtrade's ``date`` convention), in UTC milliseconds."""
        return pd.DatetimeIndex((self._epoch_s * 1_000).astype("datetime64[ms]")).tz_localize(UTC)

    def regimes(self) -> pd.Series:
        """The market regime of each candle, for tests and for labelling lab scenarios."""
        labels = np.array(REGIMES, dtype=object)[self._regime]
        return pd.Series(labels, index=self.dates, name="regime", dtype="str")

    def frame(self, pair: str) -> pd.DataFrame:
        """Candles of one pair; any well-formed pair works, listed in ``pairs`` or not."""
        _parse_pair(pair)
        profile = _PairProfile.of(pair)
        returns, sigma = self._log_returns(pair, profile)
        close = profile.price * np.exp(np.cumsum(returns))
        open_ = np.concatenate(([profile.price], close[:-1]))
        up, down = _bridge_excursions(returns, sigma, self._rng(pair, 1))
        high = np.maximum.reduce([open_ * np.exp(up), open_, close])
        low = np.minimum.reduce([open_ * np.exp(down), open_, close])
        volume = self._volume(pair, profile, np.abs(returns) / sigma, sigma, close)
        columns = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
        return pd.DataFrame({"date": self.dates, **columns})

    def frames(self) -> dict[str, pd.DataFrame]:
        """Candles of every pair in ``pairs``."""
        return {pair: self.frame(pair) for pair in self.pairs}

    def write(self, datadir: Path) -> list[Path]:
        """Write ``<datadir>/<BASE>_<QUOTE>-<timeframe>.feather`` per pair, as Freqtrade does.

        Mirrors ``FeatherDataHandler.ohlcv_store`` (index reset, OHLCV columns only, lz4 level
        9), so ``freqtrade backtesting --datadir <datadir>`` reads the files unchanged.
        Existing files are overwritten.
        """
        return self._store(datadir, self.timeframe,
                           {p: f.reset_index(drop=True) for p, f in self.frames().items()})

    def write_hourly(self, datadir: Path) -> list[Path]:
        """Write each pair's 1h candles, resampled from its own (a timeframe under an hour):
        the plugin's ``market`` features read the market pair's 1h candles, as a user
        downloads them with ``freqtrade download-data -t 5m 1h``."""
        if self._tf_s >= HOUR_S or HOUR_S % self._tf_s:
            raise ConfigError(f"Hourly candles are resampled from a timeframe that divides an "
                              f"hour; got {self.timeframe!r}.")
        return self._store(datadir, "1h", {p: _resample_hourly(f.reset_index(drop=True),
                                                               self._tf_s)
                                           for p, f in self.frames().items()})

    @staticmethod
    def _store(datadir: Path, timeframe: str, frames: dict[str, pd.DataFrame]) -> list[Path]:
        datadir = Path(datadir)
        datadir.mkdir(parents=True, exist_ok=True)
        paths = []
        for pair, frame in frames.items():
            path = datadir / f"{pair_to_filename(pair)}-{timeframe}.feather"
            frame.loc[:, list(OHLCV_COLUMNS)].to_feather(path, compression_level=9,
                                                          compression="lz4")
            paths.append(path)
        return paths

    def _log_returns(self, pair: str, profile: _PairProfile) -> tuple[_Floats, _Floats]:
        """Log returns and their conditional standard deviation.

        The shock is ``beta * market + idiosyncratic``. Trends add ``beta * drift``. In a range
        the price follows an AR(1) deviation from a moving anchor, ``d = phi * d_prev + shock``,
        whose increments ``(phi - 1) * d_prev + shock`` pull the price back; ``d`` runs all
        the time, so entering a range needs no reset and the anchor sits near the entry price.
        """
        z = _student_t(self._rng(pair, 0), len(self._epoch_s))
        unit = _MARKET_DAILY_VOL * math.sqrt(self._dt) * profile.idio
        idio_sigma = unit * np.sqrt(_garch_variance(z, self._dt)) * self._scale
        shock = profile.beta * self._market_shock + idio_sigma * z
        phi = math.exp(-math.log(2) * self._dt / _RANGE_HALF_LIFE_DAYS)
        deviation = np.concatenate(([0.0], _ar1(shock, phi)[:-1]))
        pull = np.where(self._regime == 0, (phi - 1.0) * deviation, 0.0)
        returns = shock + profile.beta * self._drift + pull
        return returns, np.hypot(profile.beta * self._market_sigma, idio_sigma)

    def _volume(
        self,
        pair: str,
        profile: _PairProfile,
        surprise: _Floats,
        sigma: _Floats,
        close: _Floats,
    ) -> _Floats:
        """Base-asset volume: a stationary quote volume that rises with volatility and moves.

        ``surprise`` is the bar's absolute return in units of its volatility; ``sigma`` over
        its long-run level is the activity of the hour. A persistent log-normal factor adds the
        slow swings of interest that volatility does not explain.
        """
        persistent, instant = self._rng(pair, 2).standard_normal((len(sigma), 2)).T
        phi = math.exp(-self._dt / _VOLUME_MEMORY_DAYS)
        mood = _ar1(0.3 * math.sqrt(1 - phi**2) * persistent, phi) + 0.25 * instant
        typical = math.hypot(profile.beta, profile.idio) * _MARKET_DAILY_VOL * math.sqrt(self._dt)
        activity = (sigma / typical) ** 0.7 * (0.4 + 0.6 * surprise)
        seasonal = _seasonality(self._epoch_s, self._tf_s, amplitude=0.35, weekend=0.7)
        cheaper = profile.price / close  # a steady quote volume buys more of a cheaper base
        return profile.base_volume * self._dt * cheaper * activity * seasonal * np.exp(mood)


def _parse_pair(pair: object) -> tuple[str, str]:
    match = _PAIR_RE.match(pair) if isinstance(pair, str) else None
    if match is None:
        raise ConfigError(
            "Each entry of the 'pairs' parameter of SyntheticMarket must look like 'BASE/QUOTE' "
            f"(e.g. 'BTC/USDT' or 'BTC/USDT:USDT'). Got {pair!r} instead."
        )
    return match.group(1), match.group(2)


__all__ = [
    "OHLCV_COLUMNS",
    "REGIMES",
    "SyntheticMarket",
    "pair_to_filename",
    "timeframe_to_seconds",
]
