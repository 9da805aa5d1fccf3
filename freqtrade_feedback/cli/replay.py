"""``freqtrade-feedback replay``: Freqtrade's real dry-run bot over historic candles, offline.

The bot, its strategy callbacks, dry-run orders, wallets and trade database are Freqtrade's
own; only the exchange's network and the clock are simulated (see
:mod:`freqtrade_feedback.replay`). Run the same command again on the same database to
continue after the last candle the previous run finished. The options name the bot as for
``status``, ``export`` and the other operator commands (:mod:`freqtrade_feedback.bot`), so
they read what the replay wrote when given the same ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from freqtrade_feedback.cli.options import BOT, add_options, positive_int
from freqtrade_feedback.progress import progress_bar

EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C, as a shell reports a process ended by SIGINT."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_options(parser, *BOT, "db_url", "strategy_path", "datadir", "timerange", "json")
    parser.add_argument("--stop-after", type=positive_int, default=None, metavar="N",
                        help="stop after N candles (run again to continue)")


def run(args: argparse.Namespace) -> int:
    from freqtrade_feedback.bot import config_files
    from freqtrade_feedback.replay import run_replay

    last: list[datetime] = []
    with _progress() as show:

        def on_candle(done: int, total: int, candle: datetime) -> None:
            last[:] = [candle]
            show(done, total, candle)

        try:
            result = run_replay(config_files(args.config), args.datadir, args.timerange,
                                args.strategy, args.db_url, args.stop_after,
                                strategy_path=args.strategy_path, user_data_dir=args.userdir,
                                on_candle=on_candle)
        except KeyboardInterrupt:
            where = f"after {last[0]:%Y-%m-%d %H:%M} UTC" if last else "where it started"
            print(f"Interrupted. The same command continues {where}.", file=sys.stderr)
            return EXIT_INTERRUPTED
    summary = _summary(result)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print(summary)
    return 0


@contextmanager
def _progress() -> Iterator[Any]:
    """A progress bar on Freqtrade's log console when stderr is a terminal (so log lines
    scroll above it), else a no-op."""
    if not sys.stderr.isatty():
        yield lambda done, total, candle: None
        return
    from freqtrade.loggers import error_console

    with progress_bar("replay", "candles", "{task.fields[date]}",
                      console=error_console) as progress:
        task = progress.add_task("replay", total=None, date="")

        def show(done: int, total: int, candle: datetime) -> None:
            progress.update(task, completed=done, total=total, date=f"{candle:%Y-%m-%d %H:%M}")

        yield show


def _summary(result: Any) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "db_url": result.db_url,
        "ledger": result.ledger,
        "candles": result.candles,
        "first_candle": iso(result.first_candle),
        "last_candle": iso(result.last_candle),
        "resumed_from": iso(result.resumed_from),
        "trades_opened": result.trades_opened,
        "trades_closed": result.trades_closed,
        "seconds": round(result.seconds, 2),
        "candles_per_second": round(result.candles_per_second, 1),
        "feedback": result.feedback,
    }


def _print(summary: dict[str, Any]) -> None:
    resumed = summary["resumed_from"]
    print(f"Database: {summary['db_url']}"
          + (f" (resumed after the candle of {resumed})" if resumed else " (fresh)"))
    print(f"Ledger: {summary['ledger']}")
    if not summary["candles"]:
        print("Nothing to replay: the database is past the end of the timerange or data.")
        return
    print(f"Replayed {summary['candles']} candles, {summary['first_candle']} .. "
          f"{summary['last_candle']}, in {summary['seconds']} s "
          f"({summary['candles_per_second']} candles/s)")
    print(f"Trades opened {summary['trades_opened']}, closed {summary['trades_closed']}")
    if summary["feedback"]:
        print("Feedback loop: " + ", ".join(f"{k} {v}" for k, v in summary["feedback"].items()))
    print("Run the same command again to continue after the last candle.")
