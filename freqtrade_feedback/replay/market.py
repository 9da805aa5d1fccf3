"""The exchange's network layer, served from a candle folder at the simulated time.

A dry-run ``FreqtradeBot`` talks to the network for four things once it runs: candles
(``refresh_latest_ohlcv``), tickers (``fetch_ticker``, ``get_tickers``), order books
(``fetch_l2_order_book``, which dry-run fills read) and, every hour, the market list
(``reload_markets``). :func:`serving` replaces exactly those ``Exchange`` methods; pricing,
order creation, dry-run fills, fees, rounding and the candle cache's consumers stay real.

Causality: at simulated time ``now`` the bot receives only candles whose open is before the
open of the candle running at ``now`` (that is, candles that have closed), as a live bot
does after Freqtrade drops the exchange's incomplete last candle. Prices inside the running
candle come from :class:`ReplayMarket`'s tick path over that candle's own open, high, low
and close, so a tick never shows a price the candle has not reached by then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_prev_date
from freqtrade.exchange.exchange import Exchange
from freqtrade.util import dt_now
from pandas import DataFrame

BOOK_DEPTH: Final = 1e12
"""Volume at the single order-book level: any dry-run order fills at the tick's price."""

TICK_FRACTIONS: Final = (0.0, 0.2, 0.4, 1.0)
"""Where in a candle the four ticks fall (open, first extreme, second extreme, close)."""


@dataclass(frozen=True)
class Candles:
    """One pair's candles for one timeframe, with the open times as int64 ms for bisection."""

    frame: DataFrame
    opens_ms: np.ndarray

    @classmethod
    def from_frame(cls, frame: DataFrame) -> Candles:
        opens = frame["date"].dt.as_unit("ms").astype("int64").to_numpy()
        return cls(frame.reset_index(drop=True), opens)

    def closed_before(self, cutoff: datetime) -> int:
        """Number of candles that opened before ``cutoff`` (those that closed by then)."""
        return int(np.searchsorted(self.opens_ms, _ms(cutoff), side="left"))

    def row_at(self, candle_open: datetime) -> int | None:
        """Index of the candle that opens at ``candle_open``, if the data has one."""
        i = self.closed_before(candle_open)
        return i if i < len(self.opens_ms) and self.opens_ms[i] == _ms(candle_open) else None


class ReplayMarket:
    """Candles of a data folder, read lazily per (pair, timeframe, candle type), and the
    price of every pair at the current tick.

    Parameters
    ----------
    datadir
        Freqtrade data folder (as ``--datadir``).
    data_format
        Freqtrade's ``dataformat_ohlcv`` (``feather`` by default).
    timeframe
        The strategy's timeframe: ticks walk through these candles.
    candle_type
        The config's default candle type (``candle_type_def``): where prices come from.
    history
        Candles handed to the bot per request, as many as a live bot keeps
        (the exchange's candle limit plus the strategy's startup candles).
    """

    def __init__(self, datadir: Path, data_format: str, timeframe: str,
                 candle_type: CandleType, history: int) -> None:
        self.datadir = Path(datadir)
        self.timeframe = timeframe
        self.candle_type = candle_type
        self.history = history
        self._handler = get_datahandler(self.datadir, data_format)
        self._candles: dict[tuple[str, str, CandleType], Candles] = {}
        self.candle_open: datetime | None = None
        self.tick = 0

    def candles(self, pair: str, timeframe: str, candle_type: CandleType) -> Candles:
        """The pair's candles; a missing or empty file is an error naming both."""
        key = (pair, timeframe, candle_type)
        if key not in self._candles:
            frame = self._handler.ohlcv_load(pair, timeframe, candle_type, warn_no_data=False)
            if frame.empty:
                expected = self._handler._pair_data_filename(
                    self.datadir, pair, timeframe, candle_type
                )
                raise OperationalException(
                    f"No {timeframe} {candle_type.value} candles for {pair}: expected them in "
                    f"{expected}. Download them (freqtrade download-data) or point --datadir "
                    "at the folder that has them."
                )
            self._candles[key] = Candles.from_frame(frame)
        return self._candles[key]

    def move_to(self, candle_open: datetime, tick: int) -> None:
        """Enter tick ``tick`` (an index into :data:`TICK_FRACTIONS`) of a candle."""
        self.candle_open = candle_open
        self.tick = tick

    def price(self, pair: str) -> float:
        """The pair's price at the current tick; a gap in the data keeps the last close."""
        if self.candle_open is None:
            raise OperationalException("The replay asked for a price before its first tick.")
        data = self.candles(pair, self.timeframe, self.candle_type)
        row = data.row_at(self.candle_open)
        if row is None:
            last = data.closed_before(self.candle_open) - 1
            if last < 0:
                raise OperationalException(
                    f"No {self.timeframe} candle for {pair} at or before {self.candle_open}."
                )
            return float(data.frame["close"].iat[last])
        return tick_path(data.frame.iloc[row])[self.tick]

    def closed_count(self, pair: str, timeframe: str, candle_type: CandleType) -> int:
        """How many of the pair's candles have closed at the simulated time."""
        now_open = timeframe_to_prev_date(timeframe, dt_now())
        return self.candles(pair, timeframe, candle_type).closed_before(now_open)

    def window(self, pair: str, timeframe: str, candle_type: CandleType, end: int) -> DataFrame:
        """The ``history`` candles before index ``end``: what a live bot holds."""
        frame = self.candles(pair, timeframe, candle_type).frame
        return frame.iloc[max(0, end - self.history):end].reset_index(drop=True)


def tick_path(candle: Any) -> tuple[float, float, float, float]:
    """Open, then the nearer-by-convention extreme, the other extreme, and close.

    A rising candle is taken to dip first (open, low, high, close), a falling one to spike
    first (open, high, low, close): the usual assumption when only OHLC is known.

    Examples
    --------
    >>> tick_path({"open": 10, "high": 12, "low": 9, "close": 11})
    (10.0, 9.0, 12.0, 11.0)
    >>> tick_path({"open": 10, "high": 12, "low": 9, "close": 9.5})
    (10.0, 12.0, 9.0, 9.5)
    """
    o, h, low, c = (float(candle[k]) for k in ("open", "high", "low", "close"))
    return (o, low, h, c) if c >= o else (o, h, low, c)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _ticker(pair: str, price: float) -> dict[str, Any]:
    now = dt_now()
    return {
        "symbol": pair, "timestamp": _ms(now), "datetime": now.isoformat(),
        "bid": price, "ask": price, "last": price, "close": price,
        "bidVolume": BOOK_DEPTH, "askVolume": BOOK_DEPTH,
        "high": None, "low": None, "open": None, "vwap": None, "previousClose": None,
        "change": None, "percentage": None, "average": None,
        "baseVolume": None, "quoteVolume": None, "info": {},
    }


class _Network:
    """Stand-ins for ``Exchange``'s network methods; each takes the exchange first."""

    def __init__(self, market: ReplayMarket, load_from_disk: Callable[..., None]) -> None:
        self.market = market
        self.load_from_disk = load_from_disk
        self._served: dict[tuple[str, str, CandleType], int] = {}

    def refresh_latest_ohlcv(self, exchange: Exchange, pair_list: list, *,
                             since_ms: int | None = None, cache: bool = True,
                             drop_incomplete: bool | None = None) -> dict:
        """Closed candles per requested pair; the cache changes only when a candle closed."""
        result = {}
        for pair, timeframe, candle_type in pair_list:
            key = (pair, timeframe, CandleType.from_string(candle_type))
            end = self.market.closed_count(*key)
            if cache and key in exchange._klines and self._served.get(key) == end:
                result[key] = exchange._klines[key]
                continue
            result[key] = self.market.window(*key, end)
            if cache:
                exchange._klines[key] = result[key]
                self._served[key] = end
        return result

    def fetch_ticker(self, exchange: Exchange, pair: str) -> dict[str, Any]:
        return _ticker(pair, self.market.price(pair))

    def get_tickers(self, exchange: Exchange, symbols: list[str] | None = None, *,
                    cached: bool = False, market_type: Any = None) -> dict[str, Any]:
        pairs = symbols or sorted({p for p, _, _ in self.market._candles if p in exchange.markets})
        return {pair: _ticker(pair, self.market.price(pair)) for pair in pairs}

    def fetch_l2_order_book(self, exchange: Exchange, pair: str,
                            limit: int = 100) -> dict[str, Any]:
        price, now = self.market.price(pair), dt_now()
        return {"symbol": pair, "bids": [[price, BOOK_DEPTH]], "asks": [[price, BOOK_DEPTH]],
                "timestamp": _ms(now), "datetime": now.isoformat(), "nonce": None}

    def _load_async_markets(self, exchange: Exchange, reload: bool = False) -> None:
        # The hourly reload would re-read the whole data folder: the markets on disk are the
        # ones already loaded.
        if not exchange._api_async.markets:
            self.load_from_disk(exchange, reload)


PATCHED = ("refresh_latest_ohlcv", "fetch_ticker", "get_tickers", "fetch_l2_order_book",
           "_load_async_markets")


def _as_method(function: Callable[..., Any]) -> Callable[..., Any]:
    """A plain function around a bound method, so that it binds the exchange as ``self``."""
    return lambda exchange, *args, **kwargs: function(exchange, *args, **kwargs)


@contextmanager
def serving(market: ReplayMarket) -> Iterator[None]:
    """Patch ``Exchange``'s network methods to read ``market``; restore them on exit.

    Markets still come from :mod:`freqtrade_feedback.offline` (installed by the caller),
    read once per exchange instead of once per simulated hour.
    """
    originals = {name: Exchange.__dict__[name] for name in PATCHED}
    network = _Network(market, originals["_load_async_markets"])
    for name in PATCHED:
        setattr(Exchange, name, _as_method(getattr(network, name)))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(Exchange, name, function)
