"""``freqtrade-feedback offline <freqtrade command> ...``: any Freqtrade command, no network.

The arguments after ``offline`` go to Freqtrade's own ``main`` unchanged; the only difference
is that the exchange's market list comes from disk (see :mod:`freqtrade_feedback.offline`).
"""

from __future__ import annotations

import argparse
import sys

USAGE_HINT = (
    "usage: freqtrade-feedback offline FREQTRADE_COMMAND [ARGS ...]\n"
    "example: freqtrade-feedback offline backtesting --config user_data/config.json "
    "--strategy MyStrategy --cache none"
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Everything after ``offline`` is Freqtrade's, so take it as one opaque remainder."""
    parser.add_argument(
        "freqtrade_args",
        nargs=argparse.REMAINDER,
        metavar="FREQTRADE_ARGS",
        help="a freqtrade subcommand and its options, passed on unchanged",
    )


def run(args: argparse.Namespace) -> int:
    """Install the offline markets, then run Freqtrade's ``main`` and return its exit code."""
    freqtrade_args = list(args.freqtrade_args)
    if freqtrade_args[:1] == ["--"]:
        freqtrade_args = freqtrade_args[1:]
    if not freqtrade_args:
        print(USAGE_HINT, file=sys.stderr)
        return 2

    return run_freqtrade(freqtrade_args)


def run_freqtrade(freqtrade_args: list[str]) -> int:
    """Freqtrade's own ``main`` on ``freqtrade_args`` with the market list read from disk;
    its exit code (``hyperopt`` runs it too, inside a cluster's backend)."""
    from freqtrade.main import main as freqtrade_main

    from freqtrade_feedback import offline

    offline.install()
    try:
        freqtrade_main(freqtrade_args)
    except SystemExit as exit_:
        return exit_code(exit_.code)
    return 0


def exit_code(code: object) -> int:
    """Map a ``SystemExit.code`` to a process exit code, as the interpreter does.

    Freqtrade's ``main`` always ends in ``sys.exit(return_code)``; ``None`` means success
    (note that Freqtrade leaves it ``None`` after a ``ConfigurationError`` too).

    Examples
    --------
    >>> exit_code(None), exit_code(2), exit_code("fatal")
    (0, 2, 1)
    """
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
