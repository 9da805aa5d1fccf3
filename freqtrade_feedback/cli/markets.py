"""``freqtrade-feedback markets save|derive``: write the market list that offline runs read.

- ``save`` downloads the exchange's real market list with ccxt (online) into
  ``<user_data_dir>/markets/<exchange>.json``; later offline runs use it as is.
- ``derive`` writes the list guessed from the candle files instead (works offline), so it can
  be inspected or edited; it refuses to overwrite an existing snapshot without ``--force``,
  because that may be a real one.

The exchange and user data folder come from the Freqtrade config (comments allowed), as
Freqtrade resolves them: ``--userdir``, else ``user_data_dir``, else ``./user_data``; the data
folder is ``--datadir``, else ``<user_data_dir>/data/<exchange>``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Two actions sharing ``--config``, ``--exchange`` and ``--userdir``."""
    actions = parser.add_subparsers(dest="markets_action", metavar="ACTION", required=True)
    save = actions.add_parser("save", help="download the exchange's market list (online)")
    derive = actions.add_parser("derive", help="derive a market list from the candle files")
    for action in (save, derive):
        action.add_argument(
            "-c",
            "--config",
            action="append",
            required=True,
            metavar="PATH",
            help="Freqtrade config file (repeat to merge several)",
        )
        action.add_argument("--exchange", help="exchange name (default: from the config)")
        action.add_argument(
            "--userdir",
            "--user-data-dir",
            dest="userdir",
            metavar="PATH",
            help="user data folder (default: from the config, or ./user_data)",
        )
    derive.add_argument(
        "-d", "--datadir", metavar="PATH", help="data folder (default: <userdir>/data/<exchange>)"
    )
    derive.add_argument("--force", action="store_true", help="overwrite an existing snapshot")


def run(args: argparse.Namespace) -> int:
    """Write the snapshot; Freqtrade errors (bad config, no network, no data) exit with 2."""
    from freqtrade.exceptions import FreqtradeException

    try:
        return _save(args) if args.markets_action == "save" else _derive(args)
    except FreqtradeException as error:
        logger.error("%s", error)
        return 2


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], str, Path]:
    """The merged config, the exchange name and the user data folder."""
    from freqtrade.configuration.load_config import load_from_files
    from freqtrade.exceptions import ConfigurationError

    config = load_from_files(args.config)
    exchange = (args.exchange or config.get("exchange", {}).get("name") or "").lower()
    if not exchange:
        raise ConfigurationError("No exchange: set exchange.name in the config or pass --exchange.")
    userdir = args.userdir or config.get("user_data_dir") or Path.cwd() / "user_data"
    return config, exchange, Path(userdir)


def _save(args: argparse.Namespace) -> int:
    from freqtrade_feedback.offline import markets

    config, exchange, userdir = _settings(args)
    exchange_config = config.get("exchange", {})
    ccxt_config = {
        **exchange_config.get("ccxt_config", {}),
        **exchange_config.get("ccxt_sync_config", {}),
    }
    found = markets.fetch_markets(exchange, ccxt_config)
    path = markets.snapshot_path(userdir, exchange)
    markets.save_snapshot(found, path)
    print(f"Saved {len(found)} markets of {exchange} to {path}")
    return 0


def _derive(args: argparse.Namespace) -> int:
    from freqtrade.exceptions import OperationalException

    from freqtrade_feedback.offline import markets

    config, exchange, userdir = _settings(args)
    path = markets.snapshot_path(userdir, exchange)
    if path.exists() and not args.force:
        raise OperationalException(f"{path} exists; pass --force to overwrite it.")
    datadir = Path(args.datadir) if args.datadir else userdir / "data" / exchange
    stake = config.get("stake_currency")
    derived = markets.derive_markets(datadir, stake)
    if not derived:
        quoted = f" quoted in {stake}" if stake else ""
        raise OperationalException(
            f"No candle data{quoted} in {datadir}. Get some with `freqtrade download-data` "
            "(online) or `freqtrade-feedback generate-data`."
        )
    markets.save_snapshot(derived, path)
    print(f"Derived {len(derived)} markets of {exchange} from {datadir} into {path}")
    return 0
