"""The Freqtrade adapter: translate strategy callbacks into :class:`FeedbackLoop` calls.

This is the only module of the package a running bot needs that imports Freqtrade. It holds
no logic of its own beyond the translation, the per-run reset and the error fence: an
exception escaping ``confirm_trade_entry`` would make Freqtrade take the trade silently
(``strategy_safe_wrapper(default_retval=True)``), so every callback here catches, logs once
and applies the configured fallback.

Callback map (see ``docs/how-it-works.md``)::

    advise_indicators   -> default fb_* features, feature columns checked once per pair;
                           the plotted feedback_probability and feedback_guard columns
    custom_stake_amount -> loop.on_signal (only when stake scaling is on) -> stake factor
    confirm_trade_entry -> loop.on_signal -> take or skip
    order_filled(entry) -> signal id attached to the trade (set_custom_data)
    order_filled(exit)  -> loop.on_trade_closed with the profit computed from the fill
    bot_loop_start      -> a new backtest or hyperopt epoch starts from a fresh loop, built
                           with that run's hyperoptable ``feedback`` parameters
    bot_start (dry-run, live) -> the journal: loop restored from the ledger, trades closed
                           while the bot was down reconciled; every event then goes through
                           the journal (ledger first), and bot_cleanup writes a checkpoint
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_prev_date, timeframe_to_seconds
from freqtrade.strategy import (
    BooleanParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
    IStrategy,
)
from pandas import DataFrame

from freqtrade_feedback import runs
from freqtrade_feedback.config import FeedbackSettings, load_settings
from freqtrade_feedback.exceptions import FeedbackError
from freqtrade_feedback.features import (
    FeatureTable,
    add_default_features,
    check_feature_columns,
    feature_columns,
)
from freqtrade_feedback.journal import ClosedTrade, Journal
from freqtrade_feedback.loop import Decision, FeedbackLoop, Signal, trade_signal_id
from freqtrade_feedback.parameters import KEYS, SPACE, parameter_overrides, with_overrides
from freqtrade_feedback.plotting import (
    GUARD_CODES,
    GUARD_COLUMN,
    PROBABILITY_COLUMN,
    ProbabilityCache,
    with_feedback_subplot,
)
from freqtrade_feedback.shadow import Barriers
from freqtrade_feedback.shadow.feed import ShadowFeed, candle_arrays

logger = logging.getLogger(__name__)

SIGNAL_KEY = "feedback_signal_id"
"""Custom-data key that carries a trade's signal id from its entry to its exit."""

TRADE_MODES = (RunMode.DRY_RUN, RunMode.LIVE)
PLOTTED_MODES = (*TRADE_MODES, RunMode.PLOT)
"""Run modes that score every analyzed row for the plot; simulations leave NaN (speed)."""
DEFAULT_FEE = 0.001
"""Fee per side for shadow outcomes when the config sets none (Binance spot's default)."""


class FeedbackMixin(IStrategy):
    """Gate any Freqtrade strategy's entries with an online learner fed by its closed trades.

    Put it first in the bases, before your strategy: ``class MyGated(FeedbackMixin, MyStrategy)``.
    It derives from ``IStrategy`` although it is a mixin: hyperopt registers every module of a
    strategy's base classes, up to ``IStrategy``, for pickling by value, and a mixin based on
    ``object`` would have it pickle ``builtins`` by value (a ``RecursionError`` with ``-j 2``).
    Configure it with the ``"feedback"`` section of the Freqtrade config. If your strategy
    overrides ``confirm_trade_entry``, ``custom_stake_amount``, ``order_filled`` or
    ``bot_loop_start`` itself, those still run: the mixin calls them first (your
    ``confirm_trade_entry`` can veto a signal before it reaches the gate).

    The ``feedback_*`` parameters (space ``feedback``) let hyperopt tune the gate and the
    guard; they replace a config key only when hyperopt or a parameter file sets them (see
    :mod:`freqtrade_feedback.parameters`). Defaults equal the settings' defaults.
    """

    feedback_threshold = DecimalParameter(0.35, 0.70, decimals=2, default=0.5, space=SPACE)
    feedback_min_outcomes = IntParameter(10, 100, default=30, space=SPACE)
    feedback_explore_share = DecimalParameter(0.0, 0.20, decimals=2, default=0.05, space=SPACE)
    feedback_stake_scaling = BooleanParameter(default=False, space=SPACE)
    feedback_stake_factor_min = DecimalParameter(0.2, 1.0, decimals=1, default=0.5, space=SPACE)
    feedback_stake_factor_max = DecimalParameter(1.0, 2.0, decimals=1, default=1.5, space=SPACE)
    feedback_holdout_share = DecimalParameter(0.0, 0.20, decimals=2, default=0.05, space=SPACE)
    feedback_guard_alpha = CategoricalParameter([0.001, 0.005, 0.01, 0.02, 0.05], default=0.01,
                                                space=SPACE)
    feedback_guard_cooldown = IntParameter(10, 200, default=50, space=SPACE)

    _fb_loop: FeedbackLoop
    _fb_journal: Journal | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """When a strategy class is made: give it its own copy of each ``feedback_*``
        parameter it does not define itself, because Freqtrade writes loaded values into the
        parameter object and one shared by two strategies (``--strategy-list``) would carry
        one's parameter file into the other; and add the ``feedback`` subplot to its
        ``plot_config``, which a class attribute of the strategy's own would otherwise hide
        (FreqUI reads it from a strategy that never started)."""
        super().__init_subclass__(**kwargs)
        for name in KEYS:
            if name not in cls.__dict__:
                setattr(cls, name, copy.deepcopy(getattr(cls, name)))
        cls.plot_config = with_feedback_subplot(getattr(cls, "plot_config", None))

    @property
    def feedback_loop(self) -> FeedbackLoop:
        """The loop: the journal's in dry-run and live (it may rebuild it from the ledger)."""
        return self._fb_journal.loop if self._fb_journal is not None else self._fb_loop

    # -- start and reset ---------------------------------------------------------------

    def ft_bot_start(self, **kwargs: Any) -> None:
        self._feedback_setup()
        super().ft_bot_start(**kwargs)  # type: ignore[misc]
        self._feedback_start()

    def ft_bot_cleanup(self) -> None:
        super().ft_bot_cleanup()  # type: ignore[misc]
        journal = self._fb_journal
        if journal is None:
            return
        try:
            journal.checkpoint(now=datetime.now(UTC))
        except Exception as error:  # the fence: the ledger keeps every step to replay anyway
            self._fb_warn("checkpoint", "no checkpoint at shutdown (%r); the next start "
                          "learns again from the ledger", error)
        journal.ledger.close()

    def _feedback_setup(self) -> None:
        """The loop from the config section, before ``bot_start`` (which may use it)."""
        config = self.config  # type: ignore[attr-defined]
        settings = self._fb_settings()
        self._fb_loop = FeedbackLoop(settings)
        runs.register(self._fb_loop)
        self._fb_journal = None
        self._fb_trade_mode = config.get("runmode") in TRADE_MODES
        self._fb_timeframe = timedelta(seconds=timeframe_to_seconds(self.timeframe))  # type: ignore[attr-defined]
        self._fb_columns: tuple[str, ...] | None = None
        self._fb_checked: set[str] = set()
        self._fb_tables: dict[str, FeatureTable] = {}
        self._fb_plotted = ProbabilityCache()
        self._fb_entry: dict[str, str] = {}
        self._fb_warned: set[str] = set()
        self._fb_last: datetime | None = None
        self._fb_reset_pending = False
        self._fb_ledger_failed = False
        self._fb_shadows = self._fb_shadow_feed(settings)
        self._fb_events = 0

    def _feedback_start(self) -> None:
        """After Freqtrade loaded the parameter values (it does so after ``bot_start``): the
        settings with the parameters a file sets, then the journal in dry-run and live."""
        settings = self._fb_settings()
        self._fb_loop.reconfigure(settings)
        if settings.enabled and self._fb_trade_mode:
            self._fb_open_journal(settings)
        if settings.enabled:
            logger.info(
                "freqtrade-feedback: enabled, learner=%s, scope=%s, threshold=%s, "
                "min_outcomes=%s, explore_share=%s",
                settings.learner, settings.scope, settings.threshold,
                settings.min_outcomes, settings.explore_share,
            )
        else:
            logger.info("freqtrade-feedback: disabled, the strategy trades alone")
        if self.feedback_loop.supervisor is not None:
            logger.info("freqtrade-feedback guard: %s", self.feedback_loop.supervisor.short_desc())

    def _fb_settings(self) -> FeedbackSettings:
        """The config's ``"feedback"`` section with the parameters set for this run written
        in, validated: a bad value stops the run with the key (and the parameter) named."""
        overrides = parameter_overrides(self)
        try:
            return load_settings(with_overrides(self.config.get("feedback"), overrides))  # type: ignore[attr-defined]
        except FeedbackError as error:
            source = f" (set by the parameters {', '.join(sorted(overrides))})" if overrides else ""
            raise OperationalException(f"{error}{source}") from error

    def _fb_open_journal(self, settings: Any) -> None:
        """Dry-run and live: restore the loop from the ledger and reconcile the trades that
        closed while the bot was down. A ledger that cannot be opened leaves the plain loop
        in memory and every signal to the fallback rule (fail-open or fail-closed)."""
        try:
            user_data = self.config.get("user_data_dir") or "user_data"  # type: ignore[attr-defined]
            journal = Journal.open(settings, user_data, self.get_strategy_name(),  # type: ignore[attr-defined]
                                   shadows=self._fb_shadows)
            new = journal.reconcile(self._fb_closed_trades())
        except Exception as error:
            self._fb_ledger_failed = True
            self._fb_warn("ledger-open", "the ledger cannot be used (%s); every signal gets "
                          "the fallback '%s' until the bot restarts", error, settings.fallback)
            return
        self._fb_journal = journal
        self._fb_shadows = journal.shadows  # pending shadow outcomes from the checkpoint
        supervisor = journal.loop.supervisor
        self._fb_events = len(supervisor.transitions) if supervisor is not None else 0
        counts = journal.ledger.counts()
        logger.info("freqtrade-feedback ledger %s: %d outcomes learned, %d trades reconciled "
                    "at start", journal.ledger.where, counts["learned"], new)

    @staticmethod
    def _fb_closed_trades() -> Iterator[ClosedTrade]:
        """Freqtrade's closed trades, as reconciliation reads them (keyed by the closing
        order, as ``order_filled`` reports them)."""
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

    def ft_advise_signals(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        # Freqtrade calls this at the start of every backtest and hyperopt epoch, never live.
        self._fb_reset_pending = True
        return super().ft_advise_signals(dataframe, metadata)  # type: ignore[misc]

    def _fb_shadow_feed(self, settings: Any) -> ShadowFeed | None:
        """Shadow outcomes with the strategy's own exits, when the guard is on."""
        if not (settings.enabled and settings.guard.enabled):
            return None
        barriers = Barriers.from_strategy(
            self.minimal_roi, self.stoploss, self.timeframe,  # type: ignore[attr-defined]
            settings.guard.shadow_max_candles, float(self.config.get("fee") or DEFAULT_FEE),  # type: ignore[attr-defined]
        )
        return ShadowFeed(barriers, ahead=not self._fb_trade_mode)

    def _fb_tick(self, now: datetime) -> None:
        """Start from a fresh loop whenever a new simulated run begins (never live), then
        hand the loop the shadow outcomes whose touch candle has closed by ``now``."""
        if not self._fb_trade_mode and (
            self._fb_reset_pending or (self._fb_last is not None and now < self._fb_last)
        ):
            self._fb_loop.reconfigure(self._fb_settings())  # hyperopt set this epoch's values
            self._fb_loop.reset()
            runs.register(self._fb_loop)  # a hyperopt worker's copy was never registered
            self._fb_entry.clear()
            if self._fb_shadows is not None:
                self._fb_shadows.reset()
            self._fb_events = 0
            self._fb_reset_pending = False
        self._fb_last = now
        if self._fb_shadows is not None and self._fb_shadows.waiting:
            try:
                events = self._fb_journal or self._fb_loop
                for shadow in self._fb_shadows.release(now=now):
                    events.on_shadow(shadow.signal_id, profit_ratio=shadow.profit_ratio,
                                     now=now, pair=shadow.pair)
                self._fb_report_transitions()
            except Exception as error:  # the fence: a guard failure never touches trading
                self._fb_warn(f"shadow:{type(error).__name__}", "shadow outcomes not "
                              "recorded: %r", error)

    def _fb_report_transitions(self) -> None:
        """Log every new guard transition, and send it through Freqtrade's notifications
        (a no-op outside dry-run and live)."""
        supervisor = self.feedback_loop.supervisor
        if supervisor is None:
            return
        history = supervisor.transitions
        for transition in history[self._fb_events:]:
            logger.warning("freqtrade-feedback guard: %s", transition)
            self.dp.send_msg(f"freqtrade-feedback guard: {transition}")  # type: ignore[attr-defined]
        self._fb_events = len(history)

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        self._fb_tick(current_time)
        if self._fb_journal is not None:
            try:
                self._fb_journal.maintain(now=current_time)
            except Exception as error:  # the fence: the ledger keeps every step to replay
                self._fb_warn("checkpoint", "checkpoint not written (%r); the next start "
                              "learns again from the ledger", error)
        super().bot_loop_start(current_time=current_time, **kwargs)  # type: ignore[misc]

    # -- features ------------------------------------------------------------------------

    def advise_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe = super().advise_indicators(dataframe, metadata)  # type: ignore[misc]
        settings = self.feedback_loop.settings
        if not settings.enabled:
            return dataframe
        if settings.default_features:
            dataframe = add_default_features(dataframe)
        pair = str(metadata.get("pair"))
        if self._fb_columns is None:
            self._fb_columns = feature_columns(dataframe.columns, settings.feature_columns)
        if pair not in self._fb_checked:
            try:
                check_feature_columns(dataframe.columns, self._fb_columns, pair)
            except FeedbackError as error:
                raise OperationalException(str(error)) from error
            self._fb_checked.add(pair)
        self._fb_tables[pair] = FeatureTable.from_frame(dataframe, self._fb_columns)
        if self._fb_shadows is not None:
            self._fb_shadows.set_candles(pair, candle_arrays(dataframe))
        return self._fb_plot_columns(dataframe, pair)

    def _fb_plot_columns(self, dataframe: DataFrame, pair: str) -> DataFrame:
        """The plotted columns (:mod:`freqtrade_feedback.plotting`): scored in dry-run, live
        and plot-dataframe; NaN in backtests and hyperopt, which would pay a prediction per
        candle for a column nobody looks at."""
        loop = self.feedback_loop
        if self.config.get("runmode") in PLOTTED_MODES:  # type: ignore[attr-defined]
            dataframe[PROBABILITY_COLUMN] = self._fb_plotted.probabilities(
                pair, loop.decider_for(pair), self._fb_tables[pair])
            dataframe[GUARD_COLUMN] = GUARD_CODES[loop.guard_state]
        else:
            dataframe[PROBABILITY_COLUMN] = math.nan
            dataframe[GUARD_COLUMN] = math.nan
        return dataframe

    def _fb_signal_candle(self, now: datetime) -> datetime:
        """Open time of the last closed candle at ``now``: the candle a signal is made on."""
        return timeframe_to_prev_date(self.timeframe, now) - self._fb_timeframe  # type: ignore[attr-defined]

    def _fb_signal(self, pair: str, now: datetime, side: str, tag: str | None) -> Signal:
        """The signal made on the last closed candle, with that candle's features.

        Features come from the table built at analysis time, by the signal candle's open
        time. Without a table row (a hyperopt worker that did not analyse), the analyzed
        frame is read instead: it ends at the last closed candle in every mode, and a frame
        whose last row is not the signal candle (stale, live) gives no features, so the
        signal goes to the fallback rule rather than being scored on the wrong candle.
        """
        candle = self._fb_signal_candle(now)
        table = self._fb_tables.get(pair)
        features = table.row(candle) if table is not None else None
        if features is not None:
            return Signal(pair, candle, side, tag, features)  # type: ignore[arg-type]
        frame, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)  # type: ignore[attr-defined]
        features = None
        if len(frame) and frame["date"].iat[-1] == candle:
            features = {c: float(frame[c].iat[-1]) for c in self._fb_columns or ()}
        elif len(frame):
            self._fb_warn(f"stale:{pair}", "no analyzed candle %s for %s (last is %s)", candle,
                          pair, frame["date"].iat[-1])
        return Signal(pair, candle, side, tag, features)  # type: ignore[arg-type]

    # -- the gate ------------------------------------------------------------------------

    def _fb_decide(self, pair: str, now: datetime, side: str, tag: str | None) -> Decision:
        self._fb_tick(now)
        try:
            if self._fb_ledger_failed:
                raise FeedbackError("the ledger could not be opened at start")
            signal = self._fb_signal(pair, now, side, tag)
            decision = (self._fb_journal or self._fb_loop).on_signal(signal, now=now)
        except Exception as error:  # the fence: Freqtrade would take the trade silently
            self._fb_warn(f"decide:{type(error).__name__}", "gate failed on %s: %r; fallback "
                          "'%s' applied", pair, error, self.feedback_loop.settings.fallback)
            sid = Signal(pair, self._fb_signal_candle(now), side).signal_id  # type: ignore[arg-type]
            return self.feedback_loop.error_decision(sid, now=now)
        if self._fb_shadows is not None:
            try:  # a shadow that cannot be tracked never changes the decision
                self._fb_shadows.add(signal.signal_id, pair, signal.candle)
            except Exception as error:
                self._fb_warn(f"shadow-add:{type(error).__name__}", "no shadow outcome for "
                              "%s: %r", signal.signal_id, error)
        return decision

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float,
                            proposed_stake: float, min_stake: float | None, max_stake: float,
                            leverage: float, entry_tag: str | None, side: str,
                            **kwargs: Any) -> float:
        stake = super().custom_stake_amount(  # type: ignore[misc]
            pair=pair, current_time=current_time, current_rate=current_rate,
            proposed_stake=proposed_stake, min_stake=min_stake, max_stake=max_stake,
            leverage=leverage, entry_tag=entry_tag, side=side, **kwargs)
        settings = self.feedback_loop.settings
        if not (settings.enabled and settings.stake_scaling):
            return stake
        decision = self._fb_decide(pair, current_time, side, entry_tag)
        return stake * self.feedback_loop.stake_factor(decision)

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag: str | None,
                            side: str, **kwargs: Any) -> bool:
        confirmed = super().confirm_trade_entry(  # type: ignore[misc]
            pair=pair, order_type=order_type, amount=amount, rate=rate,
            time_in_force=time_in_force, current_time=current_time, entry_tag=entry_tag,
            side=side, **kwargs)
        if not self.feedback_loop.settings.enabled:
            return bool(confirmed)
        if not confirmed:
            # A stake-scaling decision may already exist for this signal: no trade will come.
            candle = self._fb_signal_candle(current_time)
            self.feedback_loop.forget_signal(Signal(pair, candle, side).signal_id)  # type: ignore[arg-type]
            return False
        decision = self._fb_decide(pair, current_time, side, entry_tag)
        if decision.take:
            self._fb_entry[pair] = decision.signal_id
        return decision.take

    # -- outcomes ------------------------------------------------------------------------

    def order_filled(self, pair: str, trade: Any, order: Any, current_time: datetime,
                     **kwargs: Any) -> None:
        super().order_filled(  # type: ignore[misc]
            pair=pair, trade=trade, order=order, current_time=current_time, **kwargs)
        if not self.feedback_loop.settings.enabled:
            return
        try:
            self._fb_tick(current_time)
            if order.ft_order_side == trade.entry_side:
                self._fb_on_entry(pair, trade)
            elif (not trade.is_open) or math.isclose(order.safe_amount_after_fee, trade.amount):
                self._fb_on_exit(pair, trade, order, current_time)
        except Exception as error:  # the fence: never let a learning error touch trading
            self._fb_warn(f"fill:{type(error).__name__}", "outcome of trade %s on %s not "
                          "recorded: %r", getattr(trade, "id", "?"), pair, error)

    def _fb_on_entry(self, pair: str, trade: Any) -> None:
        signal_id = self._fb_entry.pop(pair, None)
        if signal_id is not None:
            trade.set_custom_data(SIGNAL_KEY, signal_id)

    def _fb_on_exit(self, pair: str, trade: Any, order: Any, now: datetime) -> None:
        """Learn from the closing fill; the profit comes from the fill price, because in
        backtesting this runs before Freqtrade marks the trade closed."""
        signal_id = trade.get_custom_data(SIGNAL_KEY)
        if signal_id is None:
            self._fb_warn(f"nosignal:{pair}", "trade %s on %s closed without a signal id "
                          "(opened before the plugin ran?); recorded, not learned", trade.id, pair)
            signal_id = trade_signal_id(pair, trade.id)
        profit = trade.calc_profit_ratio(order.safe_price)
        exit_reason = str(trade.exit_reason or "")
        if self._fb_journal is not None:
            self._fb_journal.on_trade_closed(
                str(signal_id), trade_id=trade.id, exit_order_id=str(order.order_id),
                profit_ratio=profit, now=now, exit_reason=exit_reason, pair=pair)
        else:
            self._fb_loop.on_trade_closed(str(signal_id), profit_ratio=profit, now=now,
                                          exit_reason=exit_reason, trade_id=trade.id, pair=pair)
        self._fb_report_transitions()

    def _fb_warn(self, key: str, message: str, *args: Any) -> None:
        """Log a warning once per key (Freqtrade's log_once is muted during backtests) and, in
        dry-run and live, send it through Freqtrade's notifications."""
        if key in self._fb_warned:
            return
        self._fb_warned.add(key)
        logger.warning("freqtrade-feedback: " + message, *args)
        if self._fb_trade_mode:
            try:
                self.dp.send_msg("freqtrade-feedback: " + message % args)  # type: ignore[attr-defined]
            except Exception as error:  # no notification channel yet: the log line stays
                logger.debug("freqtrade-feedback: notification not sent: %r", error)


class FeedbackStrategy(FeedbackMixin, IStrategy):
    """A ready base: subclass it and write ``populate_*`` as in any Freqtrade strategy."""

    INTERFACE_VERSION = 3
