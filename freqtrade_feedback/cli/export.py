"""``freqtrade-feedback export``: every ledger table of a bot to CSV or Parquet files.

For reports and notebooks without an SQLite client, and for a copy to keep before a
``reset``. Safe while the bot runs: exporting only reads the ledger.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from freqtrade_feedback.bot import utc_stamp
from freqtrade_feedback.cli.options import BOT, add_options, bot_from
from freqtrade_feedback.ledger.export import FORMATS


def configure(parser: argparse.ArgumentParser) -> None:
    add_options(parser, *BOT)
    parser.add_argument("--format", choices=FORMATS, default="csv",
                        help="file format (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder to write to (default: "
                             "user_data/feedback/<strategy>/export-<UTC time>)")


def run(args: argparse.Namespace) -> int:
    bot = bot_from(args)
    out = args.out or bot.folder / f"export-{utc_stamp(datetime.now(UTC))}"
    with bot.open_ledger() as ledger:
        paths = ledger.export(out, args.format)
    for path in paths:
        print(path)
    return 0
