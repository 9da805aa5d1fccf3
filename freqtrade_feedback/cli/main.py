"""Entry point of ``freqtrade-feedback``: parse, dispatch, map errors to exit codes.

Each subcommand lives in its own module under ``freqtrade_feedback.cli`` and exposes
``configure(parser)`` and ``run(args) -> int``. Modules are imported only when their command
runs, so ``freqtrade-feedback --help`` stays fast and a command's heavy imports (Freqtrade)
are paid only by the commands that need them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from freqtrade_feedback.exceptions import ConfigError, FeatureError, FeedbackError

logger = logging.getLogger("freqtrade_feedback")

COMMANDS: dict[str, str] = {
    "init": "Ready a Freqtrade user_data folder: the hyperopt loss, the config's feedback "
    "section, a gated copy of a strategy.",
    "generate-data": "Write seeded synthetic candles in Freqtrade's format (the offline demo).",
    "offline": "Run any freqtrade subcommand with the market list read from disk.",
    "hyperopt": "Freqtrade's hyperopt (offline markets), its epochs on a Dask cluster with "
    "--cluster.",
    "markets": "Save the exchange's market list to disk while online, for later offline runs.",
    "compare": "Primary alone, naive and guarded feedback side by side (backtest or hyperopt+OOS).",
    "benchmark": "Time a backtest with the gate off and on, in one run, and print the ratio.",
    "lab": "Run the guard on synthetic markets with known bias and score it against targets.",
    "replay": "Drive Freqtrade's real dry-run bot through historic candles, offline, resumable.",
    "status": "Show what a dry-run or live bot's feedback loop recorded, learned and why.",
    "freeze": "Stop a bot's learning by hand (stop the bot first).",
    "unfreeze": "Let a frozen, suspect or probation guard learn again (stop the bot first).",
    "reset": "Move a strategy's ledger and checkpoints aside: learning starts over.",
    "export": "Write every ledger table of a bot to CSV or Parquet files.",
}

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _module(command: str) -> object:
    return importlib.import_module(f"freqtrade_feedback.cli.{command.replace('-', '_')}")


def build_parser(commands: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the parser; only the named commands get their options (all when ``None``)."""
    parser = argparse.ArgumentParser(
        prog="freqtrade-feedback",
        description="Online learning from a Freqtrade bot's own closed trades.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if commands is None or name in commands:
            _module(name).configure(command_parser)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code (also used as the process exit code)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s - %(name)s - %(levelname)s - %(message)s"
    )
    requested = [a for a in argv if a in COMMANDS][:1]
    args = _parse(build_parser(requested), argv)
    try:
        return int(_module(args.command).run(args))  # type: ignore[attr-defined]
    except (ConfigError, FeatureError) as error:
        logger.error("%s", error)
        return EXIT_USAGE
    except FeedbackError as error:
        logger.error("%s", error)
        return EXIT_ERROR
    except Exception as error:
        if _is_freqtrade_usage_error(error):
            logger.error("%s", error)
            return EXIT_USAGE
        logger.exception("Unexpected error")
        return EXIT_ERROR


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """The parsed options, with the arguments no option took as ``unknown``: an error
    unless the command passes them on (``passes_unknown``: ``hyperopt`` hands them to
    Freqtrade, in their order)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "passes_unknown", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.unknown = unknown
    return args


def _is_freqtrade_usage_error(error: Exception) -> bool:
    """Freqtrade's OperationalException is how a bad config or strategy reaches us (the
    adapter translates our own errors into it inside the bot), so it is a usage error."""
    return any(
        cls.__name__ == "OperationalException" and cls.__module__ == "freqtrade.exceptions"
        for cls in type(error).__mro__
    )


if __name__ == "__main__":
    sys.exit(main())
