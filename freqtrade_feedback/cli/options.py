"""Options shared by the commands that run backtests, defined once (as Freqtrade does)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("user_data/config.json")
DEFAULT_STRATEGY = "FeedbackSampleStrategy"


def add_backtest_options(parser: argparse.ArgumentParser) -> None:
    """``--config --strategy --strategy-path --datadir --userdir --timerange -v --json``."""
    parser.add_argument("-c", "--config", type=Path, default=DEFAULT_CONFIG,
                        help="Freqtrade config file (default: %(default)s)")
    parser.add_argument("-s", "--strategy", default=None,
                        help=f"strategy class (default: the config's, else {DEFAULT_STRATEGY})")
    parser.add_argument("--strategy-path", type=Path, default=None,
                        help="additional folder to look for the strategy in")
    parser.add_argument("--datadir", type=Path, default=None,
                        help="folder with the candle data (default: the config's)")
    parser.add_argument("--userdir", type=Path, default=None,
                        help="Freqtrade user_data folder (default: user_data)")
    parser.add_argument("--timerange", default=None, help="backtest timerange, e.g. 20240101-")
    parser.add_argument("-v", "--verbose", action="store_true", help="show Freqtrade's log")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def backtest_config_from(args: argparse.Namespace, feedback: dict[str, Any]) -> dict[str, Any]:
    """Freqtrade's processed config for these options, with ``feedback`` merged in."""
    from freqtrade_feedback.backtest import backtest_config

    if not args.config.is_file():
        from freqtrade_feedback.exceptions import ConfigError

        raise ConfigError(f"Config file {str(args.config)!r} not found. Pass --config PATH.")
    config = backtest_config(
        args.config,
        strategy=args.strategy or _config_strategy(args.config) or DEFAULT_STRATEGY,
        datadir=args.datadir,
        timerange=args.timerange,
        strategy_path=args.strategy_path,
        user_data_dir=args.userdir,
        overrides={"feedback": feedback},
    )
    if not args.verbose:  # after Freqtrade's own logging setup, which the config triggers
        for name, level in QUIET.items():
            logging.getLogger(name).setLevel(level)
    return config


QUIET = {"freqtrade": logging.WARNING, "freqtrade_feedback.offline": logging.ERROR}
"""Loggers turned down while a command runs many backtests, unless ``--verbose``."""


@contextmanager
def restored_log_levels() -> Iterator[None]:
    """Give the quietened loggers their levels back when a command ends."""
    saved = {name: logging.getLogger(name).level for name in QUIET}
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _config_strategy(path: Path) -> str | None:
    from freqtrade.configuration.load_config import load_config_file

    return load_config_file(str(path)).get("strategy")


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0, with a message argparse prints as a usage error."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value
