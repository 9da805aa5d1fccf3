"""The options several commands share, each defined once, and what they turn into.

The one module of ``cli/`` that is not a command. It holds what would otherwise be copied
into every command: the flags with their help texts (a table, as Freqtrade's own
``freqtrade.commands.cli_options`` keeps its flags), the argparse types, and the step from
parsed options to what a command works on: the ``-c`` files merged as Freqtrade merges them
with ``-p`` and ``--timeframe`` applied (:func:`merged_config`), Freqtrade's backtest config
(:func:`backtest_config_from`) or a bot (:func:`bot_from`, the rule of
:mod:`freqtrade_feedback.bot`). A command adds its shared flags by name with
:func:`add_options` and defines only its own.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from freqtrade_feedback.bot import (
    DEFAULT_CONFIG,
    DEFAULT_STRATEGY,
    Bot,
    config_files,
    find_bot,
    strategy_name,
)
from freqtrade_feedback.exceptions import ConfigError

STOP_THE_BOT = (
    "Stop the bot first: a running bot keeps its own copy of the learner and the guard in "
    "memory and overwrites the checkpoint with it."
)
"""The epilog of the commands that write a bot's checkpoint (freeze, unfreeze, reset)."""

OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
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
    "pairs": (("-p", "--pairs"), {
        "nargs": "+", "default": None, "metavar": "PAIR",
        "help": "pairs to backtest, as with freqtrade -p, e.g. BTC/USDT ETH/USDT (default: the "
                "config's pair_whitelist)"}),
    "timeframe": (("-i", "--timeframe"), {
        "default": None,
        "help": "candle timeframe, as with freqtrade -i, e.g. 1h (default: the config's)"}),
    "verbose": (("-v", "--verbose"), {"action": "store_true", "help": "show Freqtrade's log"}),
    "json": (("--json",), {"action": "store_true", "help": "print JSON instead of tables"}),
    "reason": (("--reason",), {
        "default": "operator",
        "help": "why, recorded with the guard event (default: %(default)s)"}),
}
"""Every shared flag by name: its option strings and ``add_argument`` keywords."""

BACKTEST = ("configs", "strategy", "strategy_path", "datadir", "userdir", "timerange", "pairs",
            "timeframe", "verbose", "json")
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


def merged_config(args: argparse.Namespace) -> dict[str, Any]:
    """The ``-c`` files merged as ``freqtrade`` merges them (its own loader: later files win,
    key by key, ``add_config_files`` included), with ``-p`` and ``--timeframe`` applied as
    Freqtrade applies its ``-p`` and ``-i`` (the pairs become the ``pair_whitelist``): the one
    config every backtest of a command starts from."""
    from freqtrade.configuration.load_config import load_from_files

    files = config_files(args.config)
    for name in files:
        if not Path(name).is_file():
            raise ConfigError(f"Config file {name!r} not found. Pass --config PATH.")
    with quieted(args.verbose):  # the loader logs each file at INFO
        config = load_from_files(files)
    for key in ("add_config_files", "config_files"):  # merged in already; paths of the sources
        config.pop(key, None)
    if args.pairs:
        config.setdefault("exchange", {})["pair_whitelist"] = list(args.pairs)
    if args.timeframe:
        config["timeframe"] = args.timeframe
    return config


def write_config(config: Mapping[str, Any], path: Path) -> Path:
    """``config`` as one JSON file with Freqtrade's secrets redacted (exchange keys, Telegram,
    API server), as ``freqtrade show-config`` shows them: what a command's workers load, so
    each gets the merged settings (a worker handed the user's first file would miss the
    others), and what a reader of the results sees the runs were made with."""
    from freqtrade.configuration.config_secrets import sanitize_config

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sanitize_config(dict(config)), indent=2, default=str),
                    encoding="utf-8")
    return path


def backtest_config_from(args: argparse.Namespace, config_file: Path, feedback: dict[str, Any],
                         *, datadir: Path | None = None) -> dict[str, Any]:
    """Freqtrade's processed backtest config of ``config_file`` (a :func:`write_config` of
    :func:`merged_config`) and the other :data:`BACKTEST` options, with ``feedback`` merged
    into its ``feedback`` section (and ``datadir`` instead of ``--datadir`` when given)."""
    from freqtrade.configuration.load_config import load_config_file

    from freqtrade_feedback.backtest import backtest_config

    config = backtest_config(
        config_file,
        strategy=strategy_name(args.strategy, load_config_file(str(config_file))),
        datadir=datadir or args.datadir,
        timerange=args.timerange,
        strategy_path=args.strategy_path,
        user_data_dir=args.userdir,
        overrides={"feedback": feedback},
    )
    _quiet(args.verbose)
    return config


def _quiet(verbose: bool) -> None:
    """Turn Freqtrade's loggers down unless ``--verbose``: after Freqtrade's own logging setup,
    which every config load redoes."""
    if not verbose:
        for name, level in QUIET.items():
            logging.getLogger(name).setLevel(level)


QUIET = {"freqtrade": logging.WARNING, "freqtrade_feedback.offline": logging.ERROR}
"""Loggers turned down while a command runs many backtests, unless ``--verbose``."""


@contextmanager
def quieted(verbose: bool) -> Iterator[None]:
    """Freqtrade's loggers turned down (unless ``verbose``) while the block runs, and their
    levels given back after it."""
    with restored_log_levels():
        _quiet(verbose)
        yield


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


def read_config(path: Path) -> dict[str, Any]:
    """A Freqtrade config as Freqtrade reads it (comments and trailing commas allowed)."""
    try:
        config = parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Config file {str(path)!r} not found. Check --config.") from None
    except (OSError, ValueError) as error:
        raise ConfigError(f"Config file {str(path)!r} is not valid JSON: {error}") from error
    if not isinstance(config, dict):
        raise ConfigError(f"Config file {str(path)!r} must hold a JSON object.")
    return config


def parse(text: str) -> Any:
    """JSON text parsed as Freqtrade parses a config: rapidjson, comments and trailing commas
    allowed."""
    import rapidjson  # shipped with Freqtrade; imported here so --help stays light

    return rapidjson.loads(text, parse_mode=rapidjson.PM_COMMENTS | rapidjson.PM_TRAILING_COMMAS)
