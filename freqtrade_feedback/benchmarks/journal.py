"""What the dry-run and live callbacks cost with the ledger: ``benchmark --journal``.

In dry-run and live every gate decision (``confirm_trade_entry``) records the signal and the
decision in the ledger, and every exit fill (``order_filled``) records the outcome, its
learning step and, every ``checkpoint_every`` steps, a checkpoint, each in one commit. Those
commits, not the learner, are the latency a bot feels. This measures both calls through the
journal on a SQLite file in a temporary folder, with the default learner and the guard on,
one seeded stream of signals on four pairs, and reports p50, p99 and the maximum. Target:
p99 under 10 ms for each callback. Checkpoints are written between the bot's iterations
(``bot_loop_start``), not inside a callback; their cost is shown beside, not in the target.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.journal import Journal
from freqtrade_feedback.ledger import Ledger
from freqtrade_feedback.loop import Signal

TARGET_P99_MS = 10.0
PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(seconds: list[float]) -> dict[str, Any]:
    ms = [s * 1e3 for s in seconds]
    return {"calls": len(ms), "p50_ms": _quantile(ms, 0.5), "p99_ms": _quantile(ms, 0.99),
            "max_ms": max(ms)}


def measure(n: int = 2000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Latency of ``on_signal`` and ``on_trade_closed`` through a journal on a SQLite file."""
    rng = random.Random(seed)
    settings = FeedbackSettings(min_outcomes=20, seed=seed, guard=GuardSettings(enabled=True))
    decide: list[float] = []
    close: list[float] = []
    checkpoint: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ffb-journal-") as folder:
        journal = Journal(settings, Ledger(f"sqlite:///{Path(folder) / 'ledger.sqlite'}"),
                          folder)
        pending: dict[int, list[tuple[int, Signal]]] = {}
        for i in range(n):
            now = T0 + FIVE * (i + 1)
            started = time.perf_counter()
            if journal.maintain(now=now):  # bot_loop_start, between iterations
                checkpoint.append(time.perf_counter() - started)
            for trade_id, signal in pending.pop(i, []):
                started = time.perf_counter()
                journal.on_trade_closed(signal.signal_id, trade_id=trade_id, exit_order_id="x",
                                        profit_ratio=rng.gauss(0.0, 0.01), now=now,
                                        pair=signal.pair)
                close.append(time.perf_counter() - started)
            features = {f"f{j}": rng.gauss(0.0, 1.0) for j in range(9)}
            signal = Signal(PAIRS[i % len(PAIRS)], T0 + FIVE * i, features=features)
            started = time.perf_counter()
            decision = journal.on_signal(signal, now=now)
            decide.append(time.perf_counter() - started)
            if decision.take:
                pending.setdefault(i + rng.randint(1, 24), []).append((i, signal))
        journal.ledger.close()
    return {
        "gate decision (confirm_trade_entry)": _summary(decide),
        "outcome + ledger commit (order_filled)": _summary(close),
        "checkpoint (bot_loop_start, not a callback)": _summary(checkpoint),
    }


def verdict(rows: dict[str, dict[str, Any]]) -> tuple[float, str]:
    """The worst p99 of the two callbacks (checkpoints are not a callback) against the target."""
    worst = max(row["p99_ms"] for name, row in rows.items() if "not a callback" not in name)
    return worst, "PASS" if worst < TARGET_P99_MS else "FAIL"
