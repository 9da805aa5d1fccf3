"""Let Freqtrade's real ``Exchange`` start without the network.

Freqtrade needs the network at startup for exactly two things, both in
``freqtrade.exchange.exchange.Exchange.__init__``:

- ``reload_markets`` → ``_load_async_markets``: ccxt's ``load_markets``. Without markets
  ``validate_stakecurrency`` stops the bot with "Could not load markets, therefore cannot
  start", in every mode that builds an exchange (backtesting, hyperopt, trade, ...).
- ``check_time_offset`` (trade modes only): ccxt's ``fetch_time``, to warn about a skewed
  system clock. Offline it fails and is skipped with a debug message anyway; we skip it
  explicitly so the log says why.

:func:`install` replaces only these two methods. ``reload_markets`` stays real: it copies the
markets we hand to the async ccxt instance into ``Exchange._markets``, the sync instance and the
websocket instance, exactly as after a real download. Everything that needs the network later
(candles, tickers, order books in trade mode) is untouched and still fails offline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ccxt import TICK_SIZE
from freqtrade.exceptions import OperationalException
from freqtrade.exchange.exchange import Exchange

from freqtrade_feedback.offline import markets as _markets

logger = logging.getLogger(__name__)

_PATCHED = ("_load_async_markets", "check_time_offset")
_originals: dict[str, Any] = {}


def install() -> None:
    """Patch ``Exchange`` to read markets from disk; calling it again changes nothing."""
    if _originals:
        return
    for name in _PATCHED:
        _originals[name] = Exchange.__dict__[name]
    Exchange._load_async_markets = _load_markets_from_disk  # type: ignore[method-assign]
    Exchange.check_time_offset = _skip_time_offset_check  # type: ignore[method-assign]
    logger.debug("freqtrade_feedback.offline installed: markets come from disk.")


def uninstall() -> None:
    """Restore the original ``Exchange`` methods (for tests and embedding); idempotent."""
    for name, original in _originals.items():
        setattr(Exchange, name, original)
    _originals.clear()


def is_installed() -> bool:
    """Whether :func:`install` is in effect."""
    return bool(_originals)


def offline_markets(config: Mapping[str, Any], exchange: str) -> dict[str, Any]:
    """The market list for ``exchange``: the saved snapshot if any, else derived from the data.

    The snapshot is ``snapshot_path(config["user_data_dir"], exchange)``; the data folder is
    ``config["datadir"]`` (spot files, plus ``futures/``), filtered to
    ``config["stake_currency"]``.
    """
    user_data_dir = config.get("user_data_dir")
    path = _markets.snapshot_path(Path(user_data_dir), exchange) if user_data_dir else None
    if path is not None and path.is_file():
        return _snapshot_markets(path, exchange)
    return _derived_markets(config, exchange, path)


def _snapshot_markets(path: Path, exchange: str) -> dict[str, Any]:
    markets = _markets.load_snapshot(path)
    logger.info("Loaded %d markets of %s from %s.", len(markets), exchange, path)
    if _markets.is_derived(markets):
        logger.warning(
            "The markets snapshot %s was derived from candle data, not saved from %s: "
            "prices and amounts use conservative precision.",
            path,
            exchange,
        )
    return markets


def _derived_markets(config: Mapping[str, Any], exchange: str, path: Path | None) -> dict[str, Any]:
    datadir = config.get("datadir")
    stake = config.get("stake_currency")
    markets = _markets.derive_markets(Path(datadir), stake) if datadir else {}
    if not markets:
        raise OperationalException(_no_markets_message(exchange, path, datadir, stake))
    logger.warning(
        "No markets snapshot at %s: derived %d %s markets from the data folder %s with "
        "conservative precision (price tick <= 1e-%d of the lowest price, amount step %g). "
        "To use the exchange's real market list, run `freqtrade-feedback markets save "
        "--config <config>` once while online.",
        path,
        len(markets),
        exchange,
        datadir,
        _markets.PRICE_DIGITS,
        _markets.AMOUNT_STEP,
    )
    return markets


def _load_markets_from_disk(self: Exchange, reload: bool = False) -> None:
    """Stand-in for ``Exchange._load_async_markets``: hand the disk markets to ccxt."""
    markets = offline_markets(self._config, self.id)
    if _markets.is_derived(markets) and self.precisionMode != TICK_SIZE:
        raise OperationalException(
            f"Markets derived from candle data use ccxt's TICK_SIZE precision, but {self.name} "
            f"uses precision mode {self.precisionMode}. Save the real market list with "
            "`freqtrade-feedback markets save --config <config>` while online."
        )
    self._api_async.set_markets(markets)


def _skip_time_offset_check(self: Exchange) -> None:
    """Stand-in for ``Exchange.check_time_offset``, which asks the exchange for its clock."""
    logger.info("Offline: not comparing the system clock with %s.", self.name)


def _no_markets_message(
    exchange: str, path: Path | None, datadir: object, stake: str | None
) -> str:
    quoted = f" quoted in {stake}" if stake else ""
    return (
        f"No markets for {exchange} offline: no snapshot at {path} and no candle data{quoted} "
        f"in the data folder {datadir}. Get candles with `freqtrade download-data` (online) or "
        "`freqtrade-feedback generate-data` (synthetic), or save the market list with "
        "`freqtrade-feedback markets save --config <config>` while online."
    )
