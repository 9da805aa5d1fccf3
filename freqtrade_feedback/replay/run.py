"""Drive Freqtrade's real dry-run bot through historic candles, offline, resumable.

Everything that trades is Freqtrade's own code: ``FreqtradeBot.process()``, the strategy's
callbacks, dry-run orders and fills, wallets, pair locks, custom data, the RPC manager and
the SQLite trade database. Only the network (:mod:`freqtrade_feedback.replay.market`) and the
clock (``time-machine``) are replaced. The clock jumps from tick to tick, so the replay runs
as fast as the bot processes candles.

Each candle is processed in four ticks (open, two extremes, close). After its last tick
the candle's open time is written to the database (:mod:`freqtrade_feedback.replay.position`),
and the next run on the same database continues with the candle after it. Open trades need
nothing special: they are in the database, and the restarted bot manages them as a restarted
live bot would.

The replay is the config's dry-run bot: its trade database and its ledger are where
:mod:`freqtrade_feedback.bot` puts them for every command, so ``status``, ``export`` and the
other operator commands read what a replay wrote with the same options.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine
from freqtrade.configuration import Configuration, TimeRange
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_seconds
from freqtrade.freqtradebot import FreqtradeBot
from freqtrade.persistence import Trade
from freqtrade.resolvers import StrategyResolver

from freqtrade_feedback.bot import bot_for, config_files
from freqtrade_feedback.exceptions import FeedbackError
from freqtrade_feedback.ledger import Ledger
from freqtrade_feedback.ledger.engine import describe, sqlite_file
from freqtrade_feedback.offline import install as install_offline
from freqtrade_feedback.replay.market import TICK_FRACTIONS, ReplayMarket, serving
from freqtrade_feedback.replay.position import (
    mark_database,
    open_database,
    read_position,
    write_position,
)

logger = logging.getLogger(__name__)

CandleCallback = Callable[[int, int, datetime], None]
"""``on_candle(done, total, candle_open)``, called after every fully processed candle."""
Config = Path | str | Sequence[Path | str] | Mapping[str, Any]
"""A Freqtrade config file, several (merged as Freqtrade merges them), or a config's content."""


@dataclass(frozen=True)
class ReplayResult:
    """What one replay run did (counts are for this run only, not the whole database)."""

    db_url: str
    ledger: str
    """Where the plugin's ledger is (a file, or a URL without its password)."""
    candles: int
    """Candles fully processed by this run."""
    first_candle: datetime | None
    """Open time of the first candle this run processed (``None`` if it had nothing to do)."""
    last_candle: datetime | None
    """Open time of the last candle this run fully processed: where the next run resumes."""
    resumed_from: datetime | None
    """The last candle an earlier run had processed on this database (``None``: fresh)."""
    trades_opened: int
    trades_closed: int
    seconds: float
    """Wall time of the candle loop (the bot's start-up and clean-up excluded)."""
    feedback: dict[str, int] | None
    """The strategy's ``feedback_loop.summary()`` at the end (``None`` without the mixin)."""

    @property
    def candles_per_second(self) -> float:
        return self.candles / self.seconds if self.seconds > 0 else 0.0


def run_replay(
    config: Config,
    datadir: Path | str | None = None,
    timerange: str | None = None,
    strategy: str | None = None,
    db_url: str | None = None,
    stop_after: int | None = None,
    *,
    strategy_path: Path | str | None = None,
    user_data_dir: Path | str | None = None,
    on_candle: CandleCallback | None = None,
) -> ReplayResult:
    """Replay the candles of ``datadir`` through a dry-run bot, continuing where it stopped.

    Parameters
    ----------
    config
        A Freqtrade config file, several, or the same content as a dict. It must be a
        dry-run config (``"dry_run": true``).
    datadir
        Folder with the candles (Freqtrade's format) of every whitelisted pair (default: the
        config's ``datadir``, else ``<user_data_dir>/data/<exchange>``, as Freqtrade's).
    timerange
        Freqtrade timerange (``20240101-20240103``); candles that open in it are replayed.
        Without a start, the replay starts after the strategy's startup candles.
    strategy, db_url
        Strategy class and trade database; by default the config's, as
        :mod:`freqtrade_feedback.bot` picks them for every command (the database: the
        config's ``db_url``, else Freqtrade's ``sqlite:///tradesv3.dryrun.sqlite``).
    stop_after
        Process at most this many candles, then stop as after Ctrl-C (the next run resumes).
    strategy_path, user_data_dir
        As Freqtrade's ``--strategy-path`` and ``--userdir``.
    on_candle
        Progress callback, see :data:`CandleCallback`.

    Raises
    ------
    OperationalException
        Bad or live config, unknown strategy, a whitelisted pair without candles in
        ``datadir`` (the message names the pair and the file expected), a trade database a
        bot that is not a replay has used, or a new trade database with a ledger that
        already holds another run's signals.
    """
    settings = replay_config(config, datadir=datadir, strategy=strategy, db_url=db_url,
                             strategy_path=strategy_path, user_data_dir=user_data_dir)
    install_offline()
    probe = StrategyResolver.load_strategy(deepcopy(settings))
    timeframe, startup = probe.timeframe, int(probe.startup_candle_count)
    # history grows by the exchange's candle limit once the exchange exists (below).
    market = ReplayMarket(Path(settings["datadir"]), settings.get("dataformat_ohlcv", "feather"),
                          timeframe, settings["candle_type_def"], history=startup)
    ledger = bot_for(settings).ledger_url
    if not open_database(settings["db_url"]):
        _require_new_ledger(ledger, settings["db_url"])
        mark_database()
    resumed_from = read_position()
    candles = candle_grid(market, settings["exchange"]["pair_whitelist"], timerange,
                          startup, resumed_from)
    if stop_after is not None:
        candles = candles[:stop_after]
    logger.info("Replay of %s on %s: %d candles from %s%s.", settings["strategy"],
                settings["db_url"], len(candles), candles[0] if candles else "-",
                f", resuming after {resumed_from}" if resumed_from else "")
    if not candles:
        return ReplayResult(db_url=settings["db_url"], ledger=describe(ledger), candles=0,
                            first_candle=None, last_candle=None, resumed_from=resumed_from,
                            trades_opened=0, trades_closed=0, seconds=0.0, feedback=None)
    with serving(market), time_machine.travel(_tick_time(candles[0], timeframe, 0),
                                              tick=False) as clock:
        bot = FreqtradeBot(settings)
        # A live bot keeps the exchange's candle limit plus the startup candles per pair.
        market.history += bot.exchange.ohlcv_candle_limit(timeframe, settings["candle_type_def"])
        try:
            bot.startup()
            before = _trade_ids()
            started = time.perf_counter()
            done = _drive(bot, market, clock, candles, on_candle)
            seconds = time.perf_counter() - started
            opened, closed = (now - then for now, then in zip(_trade_ids(), before, strict=True))
            loop = getattr(bot.strategy, "feedback_loop", None)
            summary = loop.summary() if loop is not None else None
        finally:
            bot.cleanup()
    return ReplayResult(
        db_url=settings["db_url"], ledger=describe(ledger), candles=done,
        first_candle=candles[0] if done else None, last_candle=candles[done - 1] if done else None,
        resumed_from=resumed_from, trades_opened=len(opened), trades_closed=len(closed),
        seconds=seconds, feedback=summary,
    )


def _drive(bot: FreqtradeBot, market: ReplayMarket, clock: Any, candles: list[datetime],
           on_candle: CandleCallback | None) -> int:
    """Process every candle tick by tick; record each one once its last tick is done."""
    timeframe = market.timeframe
    for done, candle in enumerate(candles, start=1):
        for tick in range(len(TICK_FRACTIONS)):
            market.move_to(candle, tick)
            clock.move_to(_tick_time(candle, timeframe, tick))
            bot.process()
        write_position(candle)
        if on_candle is not None:
            on_candle(done, len(candles), candle)
    return len(candles)


def _tick_time(candle: datetime, timeframe: str, tick: int) -> datetime:
    """Simulated time of a tick: a second after the open, ..., ten seconds before the close."""
    seconds = timeframe_to_seconds(timeframe)
    offset = min(max(TICK_FRACTIONS[tick] * seconds, 1.0), seconds - 10.0)
    return candle + timedelta(seconds=offset)


def _trade_ids() -> tuple[set[int], set[int]]:
    """Ids of all trades in the database, and of the closed ones."""
    trades = Trade.get_trades_proxy()
    return {t.id for t in trades}, {t.id for t in trades if not t.is_open}


def candle_grid(market: ReplayMarket, pairs: list[str], timerange: str | None, startup: int,
                resumed_from: datetime | None) -> list[datetime]:
    """Open times of the candles to replay, one per timeframe step (gaps included: the bot
    simply sees no new candle for a pair without data then, as live)."""
    if not pairs:
        raise OperationalException("The config's exchange.pair_whitelist is empty: nothing to "
                                   "replay.")
    step = timedelta(seconds=timeframe_to_seconds(market.timeframe))
    data = [market.candles(pair, market.timeframe, market.candle_type) for pair in pairs]
    first = min(_open(d.opens_ms[0]) for d in data) + startup * step
    end = max(_open(d.opens_ms[-1]) for d in data) + step
    if timerange:
        parsed = TimeRange.parse_timerange(timerange)
        if parsed.startts:
            first = _open(parsed.startts * 1000)
        if parsed.stopts:
            end = _open(parsed.stopts * 1000)
    first = _align(first, step)
    if resumed_from is not None and first > resumed_from + step:
        logger.warning("The database stopped after the candle of %s but the timerange starts "
                       "at %s: the bot skips the candles between, like a bot that was offline.",
                       resumed_from, first)
    elif resumed_from is not None:
        first = resumed_from + step
    count = max(0, -(-(end - first) // step))
    return [first + i * step for i in range(count)]


def _open(ms: int) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def _align(moment: datetime, step: timedelta) -> datetime:
    """The first candle open at or after ``moment``."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + -(-(moment - epoch) // step) * step


def replay_config(
    config: Config,
    *,
    datadir: Path | str | None = None,
    strategy: str | None = None,
    db_url: str | None = None,
    strategy_path: Path | str | None = None,
    user_data_dir: Path | str | None = None,
) -> dict[str, Any]:
    """Freqtrade's processed dry-run config for a replay, with the strategy and the trade
    database of :func:`~freqtrade_feedback.bot.bot_for` (the rule of every command)."""
    if isinstance(config, Mapping):
        with tempfile.TemporaryDirectory(prefix="ffb-replay-") as folder:
            path = Path(folder) / "config.json"
            path.write_text(json.dumps(config), encoding="utf-8")
            return replay_config(path, datadir=datadir, strategy=strategy, db_url=db_url,
                                 strategy_path=strategy_path, user_data_dir=user_data_dir)
    files = config_files([config] if isinstance(config, str | Path) else config)
    for file in files:
        if not Path(file).is_file():
            raise OperationalException(f"Config file {file!r} not found.")
    args: dict[str, Any] = {"config": files}
    for key, value in (("datadir", datadir), ("strategy_path", strategy_path),
                       ("user_data_dir", user_data_dir)):
        if value is not None:
            args[key] = str(value)
    settings = Configuration(args, RunMode.DRY_RUN).get_config()
    if not settings.get("dry_run"):
        raise OperationalException(
            f"A replay runs a dry-run bot, but {', '.join(files)} sets no \"dry_run\": true "
            f"(a live bot's config, whose trade database and ledger a replay must not touch). "
            f"Add a config that sets it, with a db_url of its own: --config live.json "
            f"--config replay.json."
        )
    bot = bot_for(settings, strategy=strategy, db_url=db_url)
    settings["strategy"] = bot.strategy
    settings["db_url"] = bot.db_url
    settings["exchange"]["enable_ws"] = False  # no websocket thread: there is no network
    return settings


def _require_new_ledger(url: str, db_url: str) -> None:
    """A new replay database needs a ledger no other run has written: outcomes of another
    bot (or of a replay whose database was deleted) would be learned as this replay's."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        return
    try:
        with Ledger(url) as ledger:
            signals = ledger.counts()["signals"]
    except FeedbackError:  # a ledger the bot cannot use: it says so itself, by its fallback
        return
    if signals:
        raise OperationalException(
            f"The trade database {describe(db_url)} is new, but the ledger {describe(url)} "
            f"already holds {signals} signals of another run (a bot's, or a replay's whose "
            f"database was deleted). Move it aside with freqtrade-feedback reset, or give the "
            f"replay a ledger of its own (feedback.ledger_url, or another --userdir)."
        )
