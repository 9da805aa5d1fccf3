"""The Freqtrade adapter: one object that holds a strategy's feedback state for a run.

:class:`~freqtrade_feedback.strategy.FeedbackMixin` owns one :class:`FeedbackAdapter` and
hands each strategy callback to it. Everything per run lives here, typed: the loop (or the
journal that keeps it in dry-run and live), the feature tables, the shadow feed, the signal
ids of entries waiting for their fill, the warnings already given. The strategy itself is
passed to each call that needs it (its config, parameters, data provider) and never kept,
so the adapter pickles on its own: hyperopt sends it to its workers inside the strategy.

It holds no logic of its own beyond the translation, the per-run reset and the error fence:
an exception escaping ``confirm_trade_entry`` would make Freqtrade take the trade silently
(``strategy_safe_wrapper(default_retval=True)``), so every entry point here catches, logs
once and applies the configured fallback. A ledger that stops taking writes (its database
server restarted, say) is one warning whatever it hit, said again only after it came back;
the journal keeps what the ledger refused meanwhile and delivers it then.

Callback map (see ``docs/how-it-works.md``)::

    advise_indicators   -> default fb_* features, feature columns checked once per pair;
                           the plotted feedback_probability and feedback_guard columns
    advise_exit         -> the pair's candles and entry/exit signals for its shadows
    custom_stake_amount -> on_signal (only when stake scaling is on) -> stake factor
    confirm_trade_entry -> on_signal -> take or skip; the signal's shadow (side, leverage)
    order_filled(entry) -> signal id attached to the trade (set_custom_data)
    order_filled(exit)  -> on_trade_closed with the profit computed from the fill
    bot_loop_start      -> a new backtest or hyperopt epoch starts from a fresh loop, built
                           with that run's hyperoptable ``feedback`` parameters; shadow
                           outcomes whose touch candle closed go to on_shadow
    bot_start (dry-run, live) -> the journal: loop restored from the ledger, trades closed
                           while the bot was down reconciled; every event then goes through
                           the journal (ledger first), and bot_cleanup writes a checkpoint

The events go to a :class:`~freqtrade_feedback.events.FeedbackEvents`: the loop in memory,
or the journal; both answer them alike.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_prev_date, timeframe_to_seconds
from pandas import DataFrame

from freqtrade_feedback import runs
from freqtrade_feedback.config import FeedbackSettings, load_settings
from freqtrade_feedback.events import FeedbackEvents
from freqtrade_feedback.exceptions import FeedbackError, LedgerError
from freqtrade_feedback.feature_sets import add_feature_sets, informative_pairs
from freqtrade_feedback.features import (
    FeatureTable,
    check_feature_columns,
    feature_columns,
)
from freqtrade_feedback.journal import ClosedTrade, Journal
from freqtrade_feedback.loop import Decision, FeedbackLoop, Signal, trade_signal_id
from freqtrade_feedback.parameters import parameter_overrides, with_overrides
from freqtrade_feedback.plotting import (
    GUARD_CODES,
    GUARD_COLUMN,
    PROBABILITY_COLUMN,
    ProbabilityCache,
)
from freqtrade_feedback.shadow import Barriers
from freqtrade_feedback.shadow.feed import ShadowFeed, candle_arrays
from freqtrade_feedback.typing import Side

if TYPE_CHECKING:
    from freqtrade.persistence import Order, Trade
    from freqtrade.strategy import IStrategy

logger = logging.getLogger(__name__)

SIGNAL_KEY = "feedback_signal_id"
"""Custom-data key that carries a trade's signal id from its entry to its exit."""

TRADE_MODES = (RunMode.DRY_RUN, RunMode.LIVE)
PLOTTED_MODES = (*TRADE_MODES, RunMode.PLOT)
"""Run modes that score every analyzed row for the plot; simulations leave NaN (speed)."""
DEFAULT_FEE = 0.001
"""Fee per side for shadow outcomes when the config sets none (Binance spot's default)."""
LEDGER_DOWN = "ledger"
"""Warn-once key of every ledger failure while the bot runs: one warning per outage."""


def settings_of(strategy: IStrategy) -> FeedbackSettings:
    """The config's ``"feedback"`` section with the parameters set for this run written in,
    validated: a bad value stops the run with the key (and the parameter) named."""
    overrides = parameter_overrides(strategy)
    try:
        return load_settings(with_overrides(strategy.config.get("feedback"), overrides))
    except FeedbackError as error:
        source = f" (set by the parameters {', '.join(sorted(overrides))})" if overrides else ""
        raise OperationalException(f"{error}{source}") from error


def shadow_fee(strategy: IStrategy) -> float:
    """The fee per side Freqtrade's backtesting charges: the config's ``fee``, else the worst of
    the exchange's taker and maker fee for the first pair of the whitelist (``DEFAULT_FEE``
    when the market list does not say)."""
    if strategy.config.get("fee") is not None:
        return float(strategy.config["fee"])
    try:
        pairs = strategy.dp.current_whitelist()
    except (AttributeError, OperationalException):  # no data provider or pairlist yet
        pairs = strategy.config.get("exchange", {}).get("pair_whitelist") or []
    try:
        market = strategy.dp.market(pairs[0]) if pairs else None
    except (AttributeError, OperationalException):  # no exchange (utility modes)
        market = None
    fees = [market.get(kind) for kind in ("taker", "maker")] if market else []
    known = [float(fee) for fee in fees if fee is not None]
    return max(known) if known else DEFAULT_FEE


def shadow_barriers(strategy: IStrategy, settings: FeedbackSettings, fee: float) -> Barriers:
    """The strategy's exit rules as they stand now (hyperopt changes ROI and stoploss per
    epoch), with the fee and the shadows' time limit."""
    return Barriers.from_strategy(
        strategy.minimal_roi, strategy.stoploss, strategy.timeframe,
        settings.guard.shadow_max_candles, fee,
        use_exit_signal=bool(strategy.use_exit_signal),
        exit_profit_only=bool(strategy.exit_profit_only),
        exit_profit_offset=float(strategy.exit_profit_offset),
        ignore_roi_if_entry_signal=bool(strategy.ignore_roi_if_entry_signal),
    )


def shadow_feed(strategy: IStrategy, settings: FeedbackSettings, *,
                ahead: bool) -> ShadowFeed | None:
    """Shadow outcomes with the strategy's own exits for every signal, whenever the gate is
    on: skipped signals are learned from them, and the guard evaluates on them."""
    if not settings.enabled:
        return None
    return ShadowFeed(shadow_barriers(strategy, settings, shadow_fee(strategy)), ahead=ahead)


def signal_leverage(strategy: IStrategy, pair: str, now: datetime, side: Side,
                    tag: str | None) -> float:
    """The leverage the trade of this signal gets: 1 in spot, else the strategy's
    ``leverage()`` callback as Freqtrade calls it (proposed 1, at the last close), at least 1
    and at most the market's maximum when the market list states one."""
    if strategy.config.get("trading_mode", "spot") == "spot":
        return 1.0
    frame, _ = strategy.dp.get_analyzed_dataframe(pair, strategy.timeframe)
    rate = float(frame["close"].iat[-1]) if len(frame) else math.nan
    market = strategy.dp.market(pair) or {}
    most = ((market.get("limits") or {}).get("leverage") or {}).get("max") or math.inf
    chosen = strategy.leverage(pair=pair, current_time=now, current_rate=rate,
                               proposed_leverage=1.0, max_leverage=float(most), entry_tag=tag,
                               side=side)
    leverage = min(max(float(chosen), 1.0), float(most))
    if not math.isfinite(leverage):
        raise FeedbackError(f"The strategy's leverage() returned {chosen!r} for {pair}: the "
                            "shadow needs a finite leverage >= 1")
    return leverage


def closed_trades() -> Iterator[ClosedTrade]:
    """Freqtrade's closed trades, as reconciliation reads them (keyed by the closing order,
    as ``order_filled`` reports them)."""
    from freqtrade.persistence import Trade

    for trade in Trade.get_trades_proxy(is_open=False):
        exits = [o for o in trade.orders
                 if o.ft_order_side == trade.exit_side and o.status == "closed"]
        signal_id = trade.get_custom_data(SIGNAL_KEY)
        yield ClosedTrade(
            trade_id=trade.id,
            exit_order_id=str(exits[-1].order_id) if exits else "close",
            pair=trade.pair,
            profit_ratio=float(trade.close_profit or 0.0),
            closed_at=trade.close_date_utc,
            exit_reason=str(trade.exit_reason or ""),
            signal_id=None if signal_id is None else str(signal_id),
        )


class FeedbackAdapter:
    """A strategy's feedback state for one run, and the callbacks that change it.

    Built at ``bot_start`` from the strategy's config (the loop with the config's settings),
    then :meth:`start` once Freqtrade has loaded the parameter values. Each public method is
    one strategy callback's share; ``strategy`` is the one being served.
    """

    def __init__(self, strategy: IStrategy) -> None:
        settings = settings_of(strategy)
        self.trade_mode = strategy.config.get("runmode") in TRADE_MODES
        """Dry-run or live: a journal, notifications, no per-run reset."""
        self._timeframe = strategy.timeframe
        self._candle = timedelta(seconds=timeframe_to_seconds(strategy.timeframe))
        # simulated exits are stamped with their candle's open: held until the next one
        self._loop = FeedbackLoop(settings, candle=None if self.trade_mode else self._candle)
        runs.register(self._loop)
        self._journal: Journal | None = None
        self._events: FeedbackEvents = self._loop
        self._shadows = shadow_feed(strategy, settings, ahead=not self.trade_mode)
        self._columns: tuple[str, ...] | None = None
        self._checked: set[str] = set()
        self._tables: dict[str, FeatureTable] = {}
        self._plotted = ProbabilityCache()
        self._entry: dict[str, str] = {}
        """Pair -> signal id of the entry confirmed and waiting for its fill."""
        self._warned: set[str] = set()
        self._new_run = False
        self._ledger_failed = False
        self._reported = 0
        """Guard transitions already logged and notified."""

    @property
    def loop(self) -> FeedbackLoop:
        """The loop: the journal's in dry-run and live (it may rebuild it from the ledger)."""
        return self._journal.loop if self._journal is not None else self._loop

    # -- start, runs and shutdown --------------------------------------------------------------

    def start(self, strategy: IStrategy) -> None:
        """After Freqtrade loaded the parameter values (it does so after ``bot_start``): the
        settings with the parameters a file sets, then the journal in dry-run and live."""
        settings = settings_of(strategy)
        self._loop.reconfigure(settings)
        if settings.enabled and self.trade_mode:
            self._open_journal(strategy, settings)
        if settings.enabled:
            logger.info(
                "freqtrade-feedback: enabled, learner=%s, scope=%s, threshold=%s, "
                "min_outcomes=%s, explore_share=%s",
                settings.learner, settings.scope, settings.threshold,
                settings.min_outcomes, settings.explore_share,
            )
        else:
            logger.info("freqtrade-feedback: disabled, the strategy trades alone")
        supervisor = self.loop.supervisor
        if supervisor is not None:
            logger.info("freqtrade-feedback guard: %s", supervisor.short_desc())

    def _open_journal(self, strategy: IStrategy, settings: FeedbackSettings) -> None:
        """Dry-run and live: restore the loop from the ledger and reconcile the trades that
        closed while the bot was down. A ledger that cannot be opened leaves the plain loop
        in memory and every signal to the fallback rule (fail-open or fail-closed)."""
        try:
            user_data = strategy.config.get("user_data_dir") or "user_data"
            journal = Journal.open(settings, user_data, strategy.get_strategy_name(),
                                   shadows=self._shadows)
            new = journal.reconcile(closed_trades())
        except Exception as error:
            self._ledger_failed = True
            self._warn(strategy, "ledger-open", "the ledger cannot be used (%s); every signal "
                       "gets the fallback '%s' until the bot restarts", error, settings.fallback)
            return
        self._journal = self._events = journal
        self._shadows = journal.shadows  # pending shadow outcomes from the checkpoint
        supervisor = journal.loop.supervisor
        self._reported = supervisor.n_reports if supervisor is not None else 0
        counts = journal.ledger.counts()
        logger.info("freqtrade-feedback ledger %s: %d outcomes learned, %d trades reconciled "
                    "at start", journal.ledger.where, counts["learned"], new)

    def new_run(self) -> None:
        """A backtest or hyperopt epoch starts (Freqtrade analyses its whole range first): the
        next tick starts from a fresh loop."""
        self._new_run = True

    def tick(self, strategy: IStrategy, now: datetime) -> None:
        """Start from a fresh loop whenever a new simulated run begins (never live: Freqtrade
        analyses the whole range at the start of every backtest and hyperopt epoch, see
        ``new_run``), then hand the loop the shadow outcomes whose touch candle has closed by
        ``now``. Time may go back within a run: a pair whose candles end earlier has its last
        trade force-closed at its own last candle."""
        if not self.trade_mode and self._new_run:
            self._loop.reconfigure(settings_of(strategy))  # hyperopt set this epoch's values
            self._loop.reset()
            runs.register(self._loop)  # a hyperopt worker's copy was never registered
            self._entry.clear()
            if self._shadows is not None:
                # this epoch's exits; the fee found at the start (a hyperopt worker has no
                # exchange to ask)
                self._shadows.reset(shadow_barriers(strategy, self._loop.settings,
                                                    self._shadows.barriers.fee))
            self._reported = 0
            self._warned.clear()  # once per run: a backtest, or a hyperopt epoch in any worker
            self._new_run = False
        if self._shadows is not None and self._shadows.waiting:
            refused: LedgerError | None = None
            try:
                for shadow in self._shadows.release(now=now):
                    try:
                        self._events.on_shadow(shadow.signal_id, now=now, pair=shadow.pair,
                                               profit_ratio=shadow.profit_ratio)
                    except LedgerError as error:  # kept by the journal: the next go on
                        refused = error
                self._report_transitions(strategy)
                if refused is not None:
                    raise refused
            except Exception as error:  # the fence: a guard failure never touches trading
                self._fence(strategy, "shadow", "shadow outcomes not recorded", error)

    def bot_loop_start(self, strategy: IStrategy, now: datetime) -> None:
        """Every candle: the tick, then the journal's upkeep (what the ledger refused delivered
        again, a checkpoint when one is due) in dry-run and live."""
        self.tick(strategy, now)
        journal = self._journal
        if journal is not None:
            try:
                journal.maintain(now=now)
            except Exception as error:  # the fence: the ledger keeps every step to replay
                self._fence(strategy, "checkpoint", "checkpoint not written; the next start "
                            "learns again from the ledger", error)
            if LEDGER_DOWN in self._warned and journal.ledger_error is None:
                logger.info("freqtrade-feedback: the ledger %s takes writes again; the gate "
                            "decides again", journal.ledger.where)
                self._warned.discard(LEDGER_DOWN)  # the next outage is said again

    def cleanup(self, strategy: IStrategy) -> None:
        """Bot shutdown: the last checkpoint, and the ledger closed (dry-run and live)."""
        journal = self._journal
        if journal is None:
            return
        try:
            journal.checkpoint(now=datetime.now(UTC))
        except Exception as error:  # the fence: the ledger keeps every step to replay anyway
            self._fence(strategy, "checkpoint", "no checkpoint at shutdown; the next start "
                        "learns again from the ledger", error)
        journal.ledger.close()

    def _report_transitions(self, strategy: IStrategy) -> None:
        """Report every new guard event (a transition or a rollback). Only what the user must
        act on is loud (``loud``: a freeze, a thaw, a rollback): a WARNING line, and a message
        through Freqtrade's notifications (a no-op outside dry-run and live). The rest (a
        suspicion, its clearing, the start of probation) is an INFO line, never sent."""
        supervisor = self.loop.supervisor
        if supervisor is None:
            return
        for event in supervisor.new_reports(self._reported):
            if event.loud:
                logger.warning("freqtrade-feedback guard: %s", event)
                strategy.dp.send_msg(f"freqtrade-feedback guard: {event}")
            else:
                logger.info("freqtrade-feedback guard: %s", event)
        self._reported = supervisor.n_reports

    # -- features ------------------------------------------------------------------------

    def _market_candles(self, strategy: IStrategy, settings: FeedbackSettings) -> DataFrame | None:
        """The market pair's candles for the ``market`` features (``None`` without them); a
        market pair without candles is said once, and its signals get the fallback rule."""
        wanted = informative_pairs(settings, strategy.config, strategy.timeframe)
        if not wanted:
            return None
        (pair, timeframe), = wanted
        provider = getattr(strategy, "dp", None)  # none outside a bot (a strategy in a test)
        candles = (provider.get_pair_dataframe(pair=pair, timeframe=timeframe)
                   if provider is not None else DataFrame())
        if candles.empty:
            self._warn(strategy, f"market:{pair}", "no %s candles of the market pair %s for the "
                       "'market' features: download them, set feedback.market_pair, or drop "
                       "'market' from feedback.features; until then every signal gets the "
                       "fallback rule", timeframe, pair)
        return candles

    def indicators(self, strategy: IStrategy, dataframe: DataFrame, pair: str) -> DataFrame:
        """The analyzed frame with the default features, checked feature columns, the pair's
        feature table and candles for its shadows, and the plotted columns."""
        settings = self.loop.settings
        if not settings.enabled:
            return dataframe
        dataframe = add_feature_sets(dataframe, settings, timeframe=strategy.timeframe,
                                     market=self._market_candles(strategy, settings))
        if self._columns is None:
            self._columns = feature_columns(dataframe.columns, settings.feature_columns)
        if pair not in self._checked:
            try:
                check_feature_columns(dataframe.columns, self._columns, pair)
            except FeedbackError as error:
                raise OperationalException(str(error)) from error
            self._checked.add(pair)
        self._tables[pair] = FeatureTable.from_frame(dataframe, self._columns)
        return self._plot_columns(strategy, dataframe, pair)

    def advised(self, dataframe: DataFrame, pair: str) -> DataFrame:
        """The analyzed frame with the strategy's entry and exit signals (after
        ``advise_exit``, in every mode): the pair's candles and signals for its shadows."""
        if self._shadows is not None:
            self._shadows.set_candles(pair, candle_arrays(dataframe))
        return dataframe

    def _plot_columns(self, strategy: IStrategy, dataframe: DataFrame, pair: str) -> DataFrame:
        """The plotted columns (:mod:`freqtrade_feedback.plotting`): scored in dry-run, live
        and plot-dataframe; NaN in backtests and hyperopt, which would pay a prediction per
        candle for a column nobody looks at."""
        loop = self.loop
        if strategy.config.get("runmode") in PLOTTED_MODES:
            dataframe[PROBABILITY_COLUMN] = self._plotted.probabilities(
                pair, loop.decider_for(pair), self._tables[pair],
                lambda features: loop.model_input(pair, features))
            dataframe[GUARD_COLUMN] = GUARD_CODES[loop.guard_state]
        else:
            dataframe[PROBABILITY_COLUMN] = math.nan
            dataframe[GUARD_COLUMN] = math.nan
        return dataframe

    def _signal_candle(self, now: datetime) -> datetime:
        """Open time of the last closed candle at ``now``: the candle a signal is made on."""
        return timeframe_to_prev_date(self._timeframe, now) - self._candle

    def signal(self, strategy: IStrategy, pair: str, now: datetime, side: Side,
               tag: str | None) -> Signal:
        """The signal made on the last closed candle, with that candle's features.

        Features come from the table built at analysis time, by the signal candle's open
        time. Without a table row (a hyperopt worker that did not analyse), the analyzed
        frame is read instead: it ends at the last closed candle in every mode, and a frame
        whose last row is not the signal candle (stale, live) gives no features, so the
        signal goes to the fallback rule rather than being scored on the wrong candle.
        """
        candle = self._signal_candle(now)
        table = self._tables.get(pair)
        features = table.row(candle) if table is not None else None
        if features is not None:
            return Signal(pair, candle, side, tag, features)
        frame, _ = strategy.dp.get_analyzed_dataframe(pair, self._timeframe)
        if len(frame) and frame["date"].iat[-1] == candle:
            features = {c: float(frame[c].iat[-1]) for c in self._columns or ()}
        elif len(frame):
            self._warn(strategy, f"stale:{pair}", "no analyzed candle %s for %s (last is %s)",
                       candle, pair, frame["date"].iat[-1])
        return Signal(pair, candle, side, tag, features)

    # -- the gate ------------------------------------------------------------------------

    def _decide(self, strategy: IStrategy, pair: str, now: datetime, side: Side,
                tag: str | None) -> Decision:
        self.tick(strategy, now)
        try:
            if self._ledger_failed:
                raise FeedbackError("the ledger could not be opened at start")
            signal = self.signal(strategy, pair, now, side, tag)
            decision = self._events.on_signal(signal, now=now)
        except Exception as error:  # the fence: Freqtrade would take the trade silently
            self._fence(strategy, "decide", f"gate failed on {pair}", error)
            sid = Signal(pair, self._signal_candle(now), side).signal_id
            return self.loop.error_decision(sid, now=now)
        if self._shadows is not None:
            try:  # a shadow that cannot be tracked never changes the decision
                leverage = signal_leverage(strategy, pair, now, side, tag)
                self._shadows.add(signal.signal_id, pair, signal.candle, side=side,
                                  leverage=leverage)
            except Exception as error:
                self._warn(strategy, f"shadow-add:{type(error).__name__}", "no shadow outcome "
                           "for %s: %r", signal.signal_id, error)
        return decision

    def scale_stake(self, strategy: IStrategy, stake: float, pair: str, now: datetime,
                    side: str, tag: str | None) -> float:
        """``stake`` as the gate sizes it when stake scaling is on, else unchanged."""
        settings = self.loop.settings
        if not (settings.enabled and settings.stake_scaling):
            return stake
        decision = self._decide(strategy, pair, now, cast(Side, side), tag)
        return stake * self.loop.stake_factor(decision)

    def confirm_entry(self, strategy: IStrategy, pair: str, now: datetime, side: str,
                      tag: str | None, confirmed: bool) -> bool:
        """Whether to enter: the gate's decision on a signal the strategy ``confirmed``."""
        if not self.loop.settings.enabled:
            return confirmed
        if not confirmed:
            # A stake-scaling decision may already exist for this signal: no trade will come.
            candle = self._signal_candle(now)
            self.loop.forget_signal(Signal(pair, candle, cast(Side, side)).signal_id)
            return False
        decision = self._decide(strategy, pair, now, cast(Side, side), tag)
        if decision.take:
            self._entry[pair] = decision.signal_id
        return decision.take

    # -- outcomes ------------------------------------------------------------------------

    def order_filled(self, strategy: IStrategy, pair: str, trade: Trade, order: Order,
                     now: datetime) -> None:
        """An entry fill carries its signal id into the trade; the closing fill is learned."""
        if not self.loop.settings.enabled:
            return
        try:
            self.tick(strategy, now)
            if order.ft_order_side == trade.entry_side:
                signal_id = self._entry.pop(pair, None)
                if signal_id is not None:
                    trade.set_custom_data(SIGNAL_KEY, signal_id)
            elif (not trade.is_open) or math.isclose(order.safe_amount_after_fee, trade.amount):
                self.trade_closed(strategy, pair, trade, order, now)
        except Exception as error:  # the fence: never let a learning error touch trading
            self._fence(strategy, "fill", f"outcome of trade {getattr(trade, 'id', '?')} on "
                        f"{pair} not recorded", error)

    def trade_closed(self, strategy: IStrategy, pair: str, trade: Trade, order: Order,
                     now: datetime) -> None:
        """Learn from the closing fill; the profit comes from the fill price, because in
        backtesting this runs before Freqtrade marks the trade closed."""
        signal_id = trade.get_custom_data(SIGNAL_KEY)
        if signal_id is None:
            self._warn(strategy, f"nosignal:{pair}", "trade %s on %s closed without a signal "
                       "id (opened before the plugin ran?); recorded, not learned", trade.id, pair)
            signal_id = trade_signal_id(pair, trade.id)
        self._events.on_trade_closed(
            str(signal_id), profit_ratio=trade.calc_profit_ratio(order.safe_price), now=now,
            exit_reason=str(trade.exit_reason or ""), pair=pair, trade_id=trade.id,
            exit_order_id=str(order.order_id))
        self._report_transitions(strategy)

    def _fence(self, strategy: IStrategy, kind: str, what: str, error: Exception) -> None:
        """Say once what an exception at a fence cost: once per ``kind`` and exception type,
        and once for every ledger failure, whatever it hit (the database is gone or refuses
        writes: each event would say the same), until the ledger takes writes again."""
        fallback = self.loop.settings.fallback
        if isinstance(error, LedgerError):
            self._warn(strategy, LEDGER_DOWN, "%s: %r; fallback '%s' applied to every signal "
                       "until the ledger takes writes again, and the outcomes it refused "
                       "meanwhile are recorded (and learned) then", what, error, fallback)
        elif kind == "decide":
            self._warn(strategy, f"{kind}:{type(error).__name__}", "%s: %r; fallback '%s' "
                       "applied", what, error, fallback)
        else:
            self._warn(strategy, f"{kind}:{type(error).__name__}", "%s: %r", what, error)

    def _warn(self, strategy: IStrategy, key: str, message: str, *args: Any) -> None:
        """Log a warning once per key (Freqtrade's log_once is muted during backtests) and, in
        dry-run and live, send it through Freqtrade's notifications."""
        if key in self._warned:
            return
        self._warned.add(key)
        logger.warning("freqtrade-feedback: " + message, *args)
        if self.trade_mode:
            try:
                strategy.dp.send_msg("freqtrade-feedback: " + message % args)
            except Exception as error:  # no notification channel yet: the log line stays
                logger.debug("freqtrade-feedback: notification not sent: %r", error)


__all__ = ["SIGNAL_KEY", "FeedbackAdapter", "closed_trades", "settings_of", "shadow_barriers",
           "shadow_fee", "shadow_feed", "signal_leverage"]
