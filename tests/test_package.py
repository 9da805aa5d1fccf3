"""Package-level contracts: the core runs without Freqtrade, and __all__ tells the truth."""

from __future__ import annotations

import inspect
import subprocess
import sys

import freqtrade_feedback

CORE = [
    "freqtrade_feedback",
    "freqtrade_feedback.config",
    "freqtrade_feedback.features",
    "freqtrade_feedback.labels",
    "freqtrade_feedback.learner",
    "freqtrade_feedback.ledger",
    "freqtrade_feedback.loop",
    "freqtrade_feedback.lab",
    "freqtrade_feedback.guard",
    "freqtrade_feedback.journal",
    "freqtrade_feedback.shadow",
    "freqtrade_feedback.supervisor",
]


def test_core_imports_without_freqtrade() -> None:
    """The lab and most tests drive the loop without the bot; a stray import would break them."""
    code = (
        "import sys; sys.modules['freqtrade'] = None\n"
        + "".join(f"import {name}\n" for name in CORE)
        + "from datetime import UTC, datetime\n"
        "loop = freqtrade_feedback.FeedbackLoop()\n"
        "t = datetime(2024, 1, 1, tzinfo=UTC)\n"
        "s = freqtrade_feedback.Signal('A/B', t, features={'x': 1.0})\n"
        "assert loop.on_signal(s, now=s.candle).take\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_api_matches_all() -> None:
    public = {
        name for name, value in vars(freqtrade_feedback).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    } - {"annotations", "Any"}
    assert public | set(freqtrade_feedback._ADAPTER) == set(freqtrade_feedback.__all__)


def test_guard_public_api_matches_all() -> None:
    from freqtrade_feedback import guard

    public = {
        name for name, value in vars(guard).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    } - {"annotations"}
    assert public == set(guard.__all__)


def test_adapter_classes_load_lazily() -> None:
    assert freqtrade_feedback.FeedbackMixin.__name__ == "FeedbackMixin"
    assert issubclass(freqtrade_feedback.FeedbackStrategy, freqtrade_feedback.FeedbackMixin)
