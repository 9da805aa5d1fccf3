"""Only what a user must act on is loud: the adapter's report of the guard's moves.

A freeze, a thaw and a rollback are WARNING lines and notifications (``dp.send_msg``); a
suspicion, its clearing and the start of probation are INFO lines, never sent. Driven through
the sample strategy as Freqtrade loads it, with a dry-run DataProvider, whose notifications
queue up instead of reaching Telegram.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, GUARD_LINE, STRATEGIES
from guard_market import T0, drive, drive_worse_challenger

from freqtrade_feedback.guard.states import Rollback, Trigger


@pytest.fixture
def strategy(user_data: Path, tmp_path: Path) -> Any:
    from freqtrade.data.dataprovider import DataProvider
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import StrategyResolver

    from freqtrade_feedback.backtest import backtest_config

    config = backtest_config(CONFIG, strategy="FeedbackSampleStrategy", datadir=tmp_path,
                             strategy_path=STRATEGIES, user_data_dir=user_data,
                             overrides={"feedback": {"guard": {"enabled": True},
                                                     "min_outcomes": 20}})
    loaded = StrategyResolver.load_strategy(config)
    loaded.dp = DataProvider({**config, "runmode": RunMode.DRY_RUN}, None)
    loaded.ft_bot_start()
    return loaded


def _sent(strategy: Any) -> list[str]:
    return list(strategy.dp._msg_queue)  # Freqtrade's queue of messages for its RPC


def _guard_lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("freqtrade_feedback") and r.levelno == level
            and GUARD_LINE in r.getMessage()]


def test_suspicion_is_info_and_freezes_thaws_and_rollbacks_are_loud(
        strategy: Any, caplog: pytest.LogCaptureFixture) -> None:
    loop = strategy.feedback_loop
    supervisor = loop.supervisor
    drive(loop, 100)
    reported = len(supervisor.reports)
    for trigger in (Trigger.WARNING, Trigger.CLEAR, Trigger.MANUAL_FREEZE,
                    Trigger.COOLDOWN_ELAPSED, Trigger.PROBATION_PASSED):
        supervisor.fire(trigger, now=T0, reason="operator")
    drive_worse_challenger(loop, 400, start=100)
    moves = supervisor.reports[reported:]
    assert any(isinstance(m, Rollback) for m in moves)
    with caplog.at_level(logging.INFO, logger="freqtrade_feedback"):
        strategy._fb_adapter._report_transitions(strategy)
    warnings = _guard_lines(caplog, logging.WARNING)
    infos = _guard_lines(caplog, logging.INFO)
    assert len(warnings) + len(infos) == len(supervisor.reports)
    assert warnings == [f"{GUARD_LINE}{m}" for m in supervisor.reports if m.loud]
    assert _sent(strategy) == warnings  # sent: the loud ones, and only those
    assert infos and all(" -> suspect " in line or " -> probation " in line
                         or "suspect -> learning" in line for line in infos)
    assert any("learning -> suspect (warning)" in line for line in infos)
    assert any("suspect -> learning (clear)" in line for line in infos)
    loud = " ".join(warnings)
    assert "-> frozen (manual_freeze)" in loud and "probation -> learning" in loud
    assert " rollback: the challenger is worse than the champion" in loud


def test_each_move_is_reported_once(strategy: Any, caplog: pytest.LogCaptureFixture) -> None:
    supervisor = strategy.feedback_loop.supervisor
    adapter = strategy._fb_adapter
    with caplog.at_level(logging.INFO, logger="freqtrade_feedback"):
        supervisor.fire(Trigger.MANUAL_FREEZE, now=T0, reason="operator")
        adapter._report_transitions(strategy)
        adapter._report_transitions(strategy)
        supervisor.fire(Trigger.MANUAL_UNFREEZE, now=T0, reason="operator")
        adapter._report_transitions(strategy)
    freeze, thaw = _sent(strategy)
    assert " learning -> frozen (manual_freeze): operator" in freeze
    assert " frozen -> learning (manual_unfreeze): operator" in thaw
    assert _guard_lines(caplog, logging.WARNING) == [freeze, thaw]
