"""The Freqtrade strategy mixin: the callbacks Freqtrade calls, each handed to one adapter.

:class:`FeedbackMixin` keeps what Freqtrade must find on the strategy class (the callbacks,
the hyperoptable ``feedback_*`` parameters, the plot subplot) and nothing per run: that is
the :class:`~freqtrade_feedback.adapter.FeedbackAdapter` it builds at ``bot_start``, where
the callback map, the per-run reset and the error fence are described.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from freqtrade.persistence import Order, Trade
from freqtrade.strategy import (
    BooleanParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
    IStrategy,
)
from pandas import DataFrame

from freqtrade_feedback.adapter import FeedbackAdapter, settings_of
from freqtrade_feedback.feature_sets import informative_pairs
from freqtrade_feedback.loop import FeedbackLoop
from freqtrade_feedback.parameters import KEYS, SPACE, default
from freqtrade_feedback.plotting import with_feedback_subplot


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

    feedback_min_edge = DecimalParameter(-0.002, 0.004, decimals=4, space=SPACE,
                                         default=default("feedback_min_edge"))
    feedback_skip_confidence = DecimalParameter(0.0, 3.0, decimals=1, space=SPACE,
                                                default=default("feedback_skip_confidence"))
    feedback_threshold = DecimalParameter(0.35, 0.70, decimals=2, space=SPACE, optimize=False,
                                          default=default("feedback_threshold"))
    """Used by the probability rule only, so not searched by default: redefine it with
    ``optimize=True`` on a strategy that sets ``rule: "probability"``."""
    feedback_min_outcomes = IntParameter(10, 100, space=SPACE,
                                         default=default("feedback_min_outcomes"))
    feedback_explore_share = DecimalParameter(0.0, 0.20, decimals=2, space=SPACE,
                                              default=default("feedback_explore_share"))
    feedback_stake_scaling = BooleanParameter(space=SPACE,
                                              default=default("feedback_stake_scaling"))
    feedback_stake_factor_min = DecimalParameter(0.2, 1.0, decimals=1, space=SPACE,
                                                 default=default("feedback_stake_factor_min"))
    feedback_stake_factor_max = DecimalParameter(1.0, 2.0, decimals=1, space=SPACE,
                                                 default=default("feedback_stake_factor_max"))
    feedback_holdout_share = DecimalParameter(0.0, 0.20, decimals=2, space=SPACE,
                                              default=default("feedback_holdout_share"))
    feedback_guard_alpha = CategoricalParameter([0.001, 0.005, 0.01, 0.02, 0.05], space=SPACE,
                                                default=default("feedback_guard_alpha"))
    feedback_guard_cooldown = IntParameter(10, 200, space=SPACE,
                                           default=default("feedback_guard_cooldown"))

    _fb_adapter: FeedbackAdapter
    """Everything per run, built at ``bot_start`` (hyperopt pickles it with the strategy)."""

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
        return self._fb_adapter.loop

    def informative_pairs(self) -> list[tuple[str, str]]:
        """The strategy's own informative pairs, and the market pair of the ``market``
        features (so that Freqtrade downloads and caches its candles in dry-run and live)."""
        own = super().informative_pairs()
        extra = informative_pairs(settings_of(self), self.config, self.timeframe)
        return [*own, *(p for p in extra if p not in own)]

    def ft_bot_start(self, **kwargs: Any) -> None:
        self._fb_adapter = FeedbackAdapter(self)  # the loop before bot_start, which may use it
        super().ft_bot_start(**kwargs)
        self._fb_adapter.start(self)  # Freqtrade loaded the parameter values in between

    def ft_bot_cleanup(self) -> None:
        super().ft_bot_cleanup()
        if "_fb_adapter" in vars(self):  # none when the bot failed before bot_start
            self._fb_adapter.cleanup(self)

    def ft_advise_signals(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        # Freqtrade calls this at the start of every backtest and hyperopt epoch, never live.
        self._fb_adapter.new_run()
        return super().ft_advise_signals(dataframe, metadata)

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        self._fb_adapter.bot_loop_start(self, current_time)
        super().bot_loop_start(current_time=current_time, **kwargs)

    def advise_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe = super().advise_indicators(dataframe, metadata)
        return self._fb_adapter.indicators(self, dataframe, str(metadata.get("pair")))

    def advise_exit(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        # the last step of every analysis: the signals the shadows exit on are in the frame
        dataframe = super().advise_exit(dataframe, metadata)
        return self._fb_adapter.advised(dataframe, str(metadata.get("pair")))

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float,
                            proposed_stake: float, min_stake: float | None, max_stake: float,
                            leverage: float, entry_tag: str | None, side: str,
                            **kwargs: Any) -> float:
        stake = super().custom_stake_amount(
            pair=pair, current_time=current_time, current_rate=current_rate,
            proposed_stake=proposed_stake, min_stake=min_stake, max_stake=max_stake,
            leverage=leverage, entry_tag=entry_tag, side=side, **kwargs)
        return self._fb_adapter.scale_stake(self, stake, pair, current_time, side, entry_tag)

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag: str | None,
                            side: str, **kwargs: Any) -> bool:
        confirmed = super().confirm_trade_entry(
            pair=pair, order_type=order_type, amount=amount, rate=rate,
            time_in_force=time_in_force, current_time=current_time, entry_tag=entry_tag,
            side=side, **kwargs)
        return self._fb_adapter.confirm_entry(self, pair, current_time, side, entry_tag,
                                              bool(confirmed))

    def order_filled(self, pair: str, trade: Trade, order: Order, current_time: datetime,
                     **kwargs: Any) -> None:
        super().order_filled(pair=pair, trade=trade, order=order, current_time=current_time,
                             **kwargs)
        self._fb_adapter.order_filled(self, pair, trade, order, current_time)


class FeedbackStrategy(FeedbackMixin, IStrategy):
    """A ready base: subclass it and write ``populate_*`` as in any Freqtrade strategy."""

    INTERFACE_VERSION = 3
