"""Market lists for Freqtrade without the network: derived from candle files, or saved snapshots.

Freqtrade refuses to start without the exchange's market list ("Could not load markets,
therefore cannot start"), even for a backtest that never talks to the exchange. The list is
what lets it validate pairs, round prices and amounts, and compute the minimum stake, so a
guessed list must err on the side of changing trading as little as possible:

- the price tick is at most a millionth of the lowest price seen for the pair, so rounding
  moves any price by at most half a millionth (typically no more than the real tick would);
  it is never below ``MIN_PRICE_TICK``, because Freqtrade treats a tick of 1e-11 or less
  as untradable;
- the amount step is ``AMOUNT_STEP`` (1e-8), finer than exchanges' usual steps, so amounts
  are hardly truncated;
- the minimum order cost is the usual exchange minimum for well-known quote currencies
  (5 USDT, 0.0001 BTC, ...), see ``MIN_COST``;
- fees are left out, so ccxt fills in the exchange's published default schedule, exactly as it
  does for markets it loads itself.

A saved snapshot (``freqtrade-feedback markets save`` while online) has none of this guesswork;
it is plain JSON in the shape ccxt's ``load_markets`` returns, keyed by symbol.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from freqtrade.data.history import get_datahandler
from freqtrade.data.history.datahandlers.idatahandler import IDataHandler
from freqtrade.enums import CandleType, TradingMode
from freqtrade.exceptions import OperationalException

logger = logging.getLogger(__name__)

PRICE_DIGITS: Final = 6
"""The price tick is ``10 ** (floor(log10(lowest price)) - PRICE_DIGITS)``."""

MIN_PRICE_TICK: Final = 1e-10
"""Smallest tick we emit; Freqtrade drops markets whose tick is 1e-11 or less."""

AMOUNT_STEP: Final = 1e-8
"""Amount step (and minimum amount) of every derived market."""

MIN_COST: Final[Mapping[str, float]] = {
    **dict.fromkeys(("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USD", "EUR"), 5.0),
    "BTC": 0.0001,
    "ETH": 0.001,
    "BNB": 0.01,
}
"""Minimum order cost per quote currency; other quotes get no cost limit."""

DERIVED_MARKER: Final = "freqtrade_feedback_derived_from"
"""Key in a derived market's ``info``: the data folder it was derived from."""

DATA_FORMATS: Final = ("feather", "parquet", "json", "jsongz")
PRICE_CANDLE_TYPES: Final = frozenset(
    {CandleType.SPOT, CandleType.FUTURES, CandleType.MARK, CandleType.INDEX}
)


def snapshot_path(user_data_dir: Path, exchange: str) -> Path:
    """Where the market list of ``exchange`` is saved: ``<user_data_dir>/markets/<exchange>.json``.

    Examples
    --------
    >>> snapshot_path(Path("user_data"), "Binance").as_posix()
    'user_data/markets/binance.json'
    """
    return Path(user_data_dir) / "markets" / f"{exchange.lower()}.json"


def derive_markets(datadir: Path, stake_currency: str | None = None) -> dict[str, Any]:
    """Build ccxt-style markets for every pair with candles in a Freqtrade data folder.

    Spot files sit in ``datadir`` and futures files in ``datadir/futures``, in any format
    Freqtrade writes (feather, parquet, json, jsongz). With ``stake_currency`` only the pairs
    quoted in it are kept: Freqtrade cannot trade the others with that stake anyway.
    Returns an empty dict when nothing matches; the caller decides whether that is an error.
    """
    lowest = _lowest_prices(Path(datadir))
    return {
        symbol: _market(symbol, price, datadir=Path(datadir))
        for symbol, price in sorted(lowest.items())
        if stake_currency is None or _split_symbol(symbol)[1] == stake_currency
    }


def is_derived(markets: Mapping[str, Any]) -> bool:
    """Whether any market was guessed by :func:`derive_markets` rather than loaded by ccxt."""
    return any(DERIVED_MARKER in (market.get("info") or {}) for market in markets.values())


def save_snapshot(markets: Mapping[str, Any], path: Path) -> None:
    """Write ``markets`` as JSON, atomically, so a crash never leaves half a snapshot behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial")
    partial.write_text(json.dumps(markets, indent=1, sort_keys=True), encoding="utf-8")
    partial.replace(path)


def load_snapshot(path: Path) -> dict[str, Any]:
    """Read a snapshot written by :func:`save_snapshot`; a malformed file raises, naming it."""
    path = Path(path)
    try:
        markets = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OperationalException(f"Markets snapshot {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _malformed(path, str(error)) from error
    if not isinstance(markets, dict) or not markets:
        raise _malformed(path, "expected a non-empty JSON object of markets keyed by symbol")
    for symbol, market in markets.items():
        problem = _market_problem(symbol, market)
        if problem:
            raise _malformed(path, f"market {symbol!r} {problem}")
    return markets


def fetch_markets(
    exchange_name: str, ccxt_config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Load the live market list with ccxt's ``load_markets`` (needs the network).

    ``ccxt_config`` is passed to the ccxt constructor (proxies, hostname, ...); leave API keys
    out, the market list is public.
    """
    import ccxt

    exchange_class = getattr(ccxt, exchange_name.lower(), None)
    if not isinstance(exchange_class, type):
        raise OperationalException(f"ccxt {ccxt.__version__} has no exchange {exchange_name!r}.")
    api = exchange_class(dict(ccxt_config or {}))
    try:
        markets = api.load_markets()
    except ccxt.BaseError as error:
        raise OperationalException(
            f"Could not load the markets of {exchange_name} ({type(error).__name__}: {error}). "
            "Saving a snapshot needs the network; run this while online."
        ) from error
    return dict(markets)


def _malformed(path: Path, reason: str) -> OperationalException:
    return OperationalException(
        f"Markets snapshot {path} is malformed: {reason}. Fix or delete the file, or save it "
        "again while online with `freqtrade-feedback markets save --config <config>`."
    )


def _market_problem(symbol: str, market: object) -> str | None:
    if not isinstance(market, dict):
        return "is not a JSON object"
    missing = [key for key in ("symbol", "base", "quote") if not market.get(key)]
    if missing:
        return f"has no {', '.join(missing)}"
    if market["symbol"] != symbol:
        return f"is stored under the wrong key (its symbol is {market['symbol']!r})"
    return None


def _available_candles(
    datadir: Path,
) -> Iterator[tuple[IDataHandler, str, str, CandleType]]:
    """Yield ``(handler, pair, timeframe, candle_type)`` for every price file in ``datadir``."""
    for data_format in DATA_FORMATS:
        handler = get_datahandler(datadir, data_format)
        for mode in (TradingMode.SPOT, TradingMode.FUTURES):
            for pair, timeframe, candle_type in handler.ohlcv_get_available_data(datadir, mode):
                if candle_type in PRICE_CANDLE_TYPES and "/" in pair:
                    yield handler, pair, timeframe, candle_type


def _lowest_prices(datadir: Path) -> dict[str, float]:
    """Lowest positive price per pair over all its candle files; pairs without one are left out."""
    lowest: dict[str, float] = {}
    for handler, pair, timeframe, candle_type in _available_candles(datadir):
        # Freqtrade's readers log and return no rows for an unreadable file.
        candles = handler.ohlcv_load(
            pair, timeframe, candle_type, fill_missing=False, warn_no_data=False
        )
        prices = candles[["open", "high", "low", "close"]].to_numpy().ravel()
        prices = prices[prices > 0]
        if prices.size:
            lowest[pair] = min(float(prices.min()), lowest.get(pair, math.inf))
        else:
            logger.warning(
                "No usable prices for %s %s in %s; no market derived from it.",
                pair,
                timeframe,
                datadir,
            )
    return lowest


def _split_symbol(symbol: str) -> tuple[str, str, str | None]:
    base, _, rest = symbol.partition("/")
    quote, _, settle = rest.partition(":")
    return base, quote, settle or None


def _price_tick(lowest_price: float) -> float:
    exponent = math.floor(math.log10(lowest_price)) - PRICE_DIGITS
    return max(float(f"1e{exponent}"), MIN_PRICE_TICK)


def _market(symbol: str, lowest_price: float, *, datadir: Path) -> dict[str, Any]:
    """One market in the shape ccxt's ``load_markets`` returns (spot, or linear/inverse swap)."""
    base, quote, settle = _split_symbol(symbol)
    tick = _price_tick(lowest_price)
    is_swap = settle is not None
    return {
        "id": f"{base}{quote}",
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "settle": settle,
        "baseId": base,
        "quoteId": quote,
        "settleId": settle,
        "type": "swap" if is_swap else "spot",
        "spot": not is_swap,
        "margin": False,
        "swap": is_swap,
        "future": False,
        "option": False,
        "active": True,
        "contract": is_swap,
        "linear": settle == quote if is_swap else None,
        "inverse": settle == base if is_swap else None,
        "contractSize": 1.0 if is_swap else None,
        "expiry": None,
        "expiryDatetime": None,
        "strike": None,
        "optionType": None,
        "precision": {"amount": AMOUNT_STEP, "price": tick},
        "limits": {
            "amount": {"min": AMOUNT_STEP, "max": None},
            "price": {"min": tick, "max": None},
            "cost": {"min": MIN_COST.get(quote), "max": None},
            "leverage": {"min": None, "max": None},
        },
        "created": None,
        "info": {DERIVED_MARKER: str(datadir.resolve()), "lowest_price": lowest_price},
    }
