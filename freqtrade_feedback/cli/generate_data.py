"""``freqtrade-feedback generate-data``: write the offline demo's synthetic candles.

The demo must run without internet, so its market comes from ``lab.SyntheticMarket`` and is
written where Freqtrade looks for downloaded data. Pairs, timeframe and data directory come from
the Freqtrade config, as ``freqtrade download-data`` takes them, so a following
``freqtrade backtesting`` finds the files without extra flags. The data starts
``--startup-candles`` before ``--start``: a backtest whose timerange starts at ``--start`` then
has its indicator warm-up and trades from the first day.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from freqtrade_feedback.cli.options import non_negative_int, positive_int, read_config
from freqtrade_feedback.exceptions import ConfigError
from freqtrade_feedback.lab import SyntheticMarket, timeframe_to_seconds

DEFAULT_CONFIG = Path("user_data/config.json")
HOURLY_S = 3600
DEFAULT_STARTUP_CANDLES = 500
"""Above the demo strategy's 200 and the common 400, so EMA-200 style warm-ups are covered."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options; defaults that come from the config stay ``None``."""
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        help=f"Freqtrade config to take pairs, timeframe and datadir from "
        f"(default: {DEFAULT_CONFIG} if it exists).",
    )
    parser.add_argument("--datadir", type=Path, help="Folder to write the .feather files to.")
    parser.add_argument("-p", "--pairs", nargs="+", metavar="PAIR", help="Pairs to generate.")
    parser.add_argument("-t", "--timeframe", help="Candle timeframe, e.g. 5m, 1h, 1d.")
    parser.add_argument(
        "--days", type=positive_int, default=120, help="Days after --start (default: 120)."
    )
    parser.add_argument(
        "--start",
        type=_yyyymmdd,
        default=datetime(2024, 1, 1, tzinfo=UTC),
        help="First backtestable day, YYYYMMDD in UTC (default: 20240101).",
    )
    parser.add_argument("--seed", type=non_negative_int, default=42, help="Seed (default: 42).")
    parser.add_argument(
        "--startup-candles",
        type=non_negative_int,
        default=DEFAULT_STARTUP_CANDLES,
        help="Extra candles before --start for the strategy's warm-up "
        f"(default: {DEFAULT_STARTUP_CANDLES}).",
    )


def run(args: argparse.Namespace) -> int:
    """Generate, write and report; bad pairs, timeframes or configs raise ``ConfigError``."""
    config = _load_config(args.config)
    if config.get("trading_mode", "spot") != "spot":
        raise ConfigError(
            "generate-data writes spot candles only; futures backtests also need funding-rate "
            "and mark candles. Set 'trading_mode' to 'spot' for the offline demo."
        )
    timeframe = args.timeframe or config.get("timeframe") or "5m"
    pairs = args.pairs or _whitelist(config) or ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    try:
        warmup = args.startup_candles * timeframe_to_seconds(timeframe)
        extra_days = math.ceil(warmup / 86_400)
        market = SyntheticMarket(
            pairs=pairs,
            timeframe=timeframe,
            start=args.start - timedelta(days=extra_days),
            days=args.days + extra_days,
            seed=args.seed,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from error
    datadir = _datadir(args.datadir, config)
    _report(market, datadir, market.write(datadir), args.start)
    if timeframe_to_seconds(timeframe) < HOURLY_S:  # the market features read 1h candles
        hourly = market.write_hourly(datadir)
        print(f"and {len(hourly)} files of 1h candles resampled from them (the plugin's market "
              "features read the market pair's 1h candles)")
    return 0


def _load_config(path: Path | None) -> Mapping[str, Any]:
    """Read a Freqtrade config with its comments and trailing commas, as Freqtrade does; no
    config at all when none is given and the default one does not exist."""
    if path is None:
        if not DEFAULT_CONFIG.is_file():
            return {}
        path = DEFAULT_CONFIG
    return read_config(path)


def _whitelist(config: Mapping[str, Any]) -> list[str]:
    pairs = list(config.get("exchange", {}).get("pair_whitelist", []))
    patterns = [pair for pair in pairs if any(char in pair for char in "*?[]()+^$|\\")]
    if patterns:
        raise ConfigError(
            f"'exchange.pair_whitelist' holds patterns {patterns!r}, which match no market "
            "offline. Pass the pairs explicitly with --pairs BTC/USDT ETH/USDT."
        )
    return pairs


def _datadir(datadir: Path | None, config: Mapping[str, Any]) -> Path:
    """Freqtrade's rule (``create_datadir``): ``datadir``, else ``<user_data>/data/<exchange>``."""
    if datadir is not None:
        return datadir
    if config.get("datadir"):
        return Path(config["datadir"])
    exchange = str(config.get("exchange", {}).get("name", "")).lower()
    return Path(config.get("user_data_dir", "user_data")) / "data" / exchange


def _report(market: SyntheticMarket, datadir: Path, paths: list[Path], start: datetime) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"Synthetic candles written to {datadir}"), box=box.SIMPLE)
    for column in ("pair", "timeframe", "candles", "from", "to", "file"):
        # Under ~90 columns the dates wrap at their space; nothing is ever cut short.
        wraps = column in ("from", "to")
        justify = "right" if column == "candles" else "left"
        table.add_column(
            column, justify=justify, no_wrap=not wraps, min_width=10 if wraps else None
        )
    dates = market.dates
    for pair, path in zip(market.pairs, paths, strict=True):
        table.add_row(
            pair,
            market.timeframe,
            str(len(dates)),
            f"{dates[0]:%Y-%m-%d %H:%M}",
            f"{dates[-1]:%Y-%m-%d %H:%M}",
            Text(path.name),  # a file name is not markup: "[" must print as is
        )
    console = Console()
    console.print(table)
    console.print(f"Backtest inside it, e.g. --timerange {start:%Y%m%d}-{dates[-1]:%Y%m%d}")


def _yyyymmdd(text: str) -> datetime:
    try:
        day = date(int(text[:4]), int(text[4:6]), int(text[6:8])) if len(text) == 8 else None
    except ValueError:
        day = None
    if day is None:
        raise argparse.ArgumentTypeError(f"expected a date as YYYYMMDD, got {text!r}")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
