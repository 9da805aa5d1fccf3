"""The options several commands share, each defined once, and what they turn into.

The one module of ``cli/`` that is not a command. It holds what would otherwise be copied
into every command: the flags with their help texts (a table, as Freqtrade's own
``freqtrade.commands.cli_options`` keeps its flags), the argparse types, and the step from
parsed options to what a command works on: Freqtrade's backtest config
(:func:`backtest_config_from`) or a bot (:func:`bot_from`, the rule of
:mod:`freqtrade_feedback.bot`). A command adds its shared flags by name with
:func:`add_options` and defines only its own.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from freqtrade_feedback.bot import DEFAULT_CONFIG, DEFAULT_STRATEGY, Bot, find_bot

STOP_THE_BOT = (
    "Stop the bot first: a running bot keeps its own copy of the learner and the guard in "
    "memory and overwrites the checkpoint with it."
)
"""The epilog of the commands that write a bot's checkpoint (freeze, unfreeze, reset)."""

OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "config": (("-c", "--config"), {
        "type": Path, "default": DEFAULT_CONFIG,
        "help": "Freqtrade config file (default: %(default)s)"}),
    "configs": (("-c", "--config"), {
        "type": Path, "action": "append", "default": None,
        "help": "Freqtrade config file; repeat to merge several, as with freqtrade "
                f"(default: {DEFAULT_CONFIG})"}),
    "strategy": (("-s", "--strategy"), {
        "default": None,
        "help": f"strategy class name (default: the config's \"strategy\", else "
                f"{DEFAULT_STRATEGY})"}),
    "strategy_path": (("--strategy-path",), {
        "type": Path, "default": None, "help": "additional folder to look for the strategy in"}),
    "datadir": (("--datadir",), {
        "type": Path, "default": None,
        "help": "folder with the candle data (default: the config's \"datadir\", else "
                "<userdir>/data/<exchange>)"}),
    "userdir": (("--userdir",), {
        "type": Path, "default": None,
        "help": "Freqtrade user_data folder (default: the config's \"user_data_dir\", else "
                "user_data)"}),
    "db_url": (("--db-url",), {
        "default": None,
        "help": "Freqtrade's trade database (default: the config's \"db_url\", else "
                "Freqtrade's: sqlite:///tradesv3.dryrun.sqlite in dry-run)"}),
    "timerange": (("--timerange",), {
        "default": None, "help": "candles to use, e.g. 20240101-20240201 (default: all)"}),
    "verbose": (("-v", "--verbose"), {"action": "store_true", "help": "show Freqtrade's log"}),
    "json": (("--json",), {"action": "store_true", "help": "print JSON instead of tables"}),
    "reason": (("--reason",), {
        "default": "operator",
        "help": "why, recorded with the guard event (default: %(default)s)"}),
}
"""Every shared flag by name: its option strings and ``add_argument`` keywords."""

BACKTEST = ("config", "strategy", "strategy_path", "datadir", "userdir", "timerange", "verbose",
            "json")
"""The options of the commands that run backtests (compare, benchmark)."""
BOT = ("configs", "strategy", "userdir")
"""The options that name a bot (replay, status, freeze, unfreeze, reset, export)."""


def add_options(parser: argparse.ArgumentParser, *names: str) -> None:
    """Add the shared options ``names`` (keys of :data:`OPTIONS`) to ``parser``."""
    for name in names:
        flags, keywords = OPTIONS[name]
        parser.add_argument(*flags, **keywords)


def bot_from(args: argparse.Namespace) -> Bot:
    """The bot the :data:`BOT` options (and ``--db-url`` where a command has it) name."""
    return find_bot(args.config, strategy=args.strategy, userdir=args.userdir,
                    db_url=getattr(args, "db_url", None))


def backtest_config_from(args: argparse.Namespace, feedback: dict[str, Any], *,
                         datadir: Path | None = None) -> dict[str, Any]:
    """Freqtrade's processed config for the :data:`BACKTEST` options, with ``feedback``
    merged in (and ``datadir`` instead of ``--datadir`` when given)."""
    from freqtrade.configuration.load_config import load_config_file

    from freqtrade_feedback.backtest import backtest_config
    from freqtrade_feedback.bot import strategy_name

    if not args.config.is_file():
        from freqtrade_feedback.exceptions import ConfigError

        raise ConfigError(f"Config file {str(args.config)!r} not found. Pass --config PATH.")
    config = backtest_config(
        args.config,
        strategy=strategy_name(args.strategy, load_config_file(str(args.config))),
        datadir=datadir or args.datadir,
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
