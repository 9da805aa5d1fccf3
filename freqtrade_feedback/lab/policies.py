"""The five policies the bias lab compares: static, selective, naive and two guarded loops.

All five are ``FeedbackLoop``s with the same settings (``lab_settings``), so they differ only
in how they learn:

- ``static``: learns from its first ``STATIC_OUTCOMES`` closed trades, then never again;
- ``selective``: learns only from the trades it took (``labels: "realized"``, with 5%
  exploration): the loop as it shipped before labels came from every signal;
- ``naive``: the loop as it ships without a guard, learning every signal (a taken one from its
  trade, a skipped one from its shadow outcome);
- ``guarded``: the loop with its guard, built by :func:`guarded_loop`;
- ``guarded_selective``: the selective loop with its guard (``labels: "realized"``): where
  selection bias is not prevented at its root, the guard must catch it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from freqtrade_feedback.config import FeedbackSettings
from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.learner import OnlineLearner
from freqtrade_feedback.loop import FeedbackLoop
from freqtrade_feedback.typing import Features

STATIC_OUTCOMES: Final = 200
"""Closed trades the static policy learns from: done well before any scenario's onset."""


def lab_settings(seed: int, **overrides: Any) -> FeedbackSettings:
    """The settings every lab policy shares; ``overrides`` replace single keys.

    One learner for all pairs (``scope="global"``), so that a run of 2,000 signals teaches it
    something; a cold start of 50 outcomes; stakes scaled by confidence, so that a scenario in
    which our stake moves the outcome can bite; the default learner, decision rule and 5%
    exploration. The guard is off unless a policy turns it on (whatever its default), with
    its default settings then.

    Examples
    --------
    >>> s = lab_settings(3)
    >>> s.scope, s.min_outcomes, s.stake_scaling, s.explore_share, s.seed, s.guard.enabled
    ('global', 50, True, 0.05, 3, False)
    """
    params: dict[str, Any] = {
        "scope": "global",
        "min_outcomes": 50,
        "stake_scaling": True,
        "seed": seed,
        "guard": GuardSettings(enabled=False),
    }
    params.update(overrides)
    return FeedbackSettings(**params)


class _Frozen:
    """A learner seen through a pane of glass: it still predicts, it learns no more."""

    def __init__(self, learner: OnlineLearner) -> None:
        self._learner = learner

    @property
    def n_learned(self) -> int:
        return self._learner.n_learned

    def predict_proba_one(self, x: Features) -> dict[bool, float]:
        return self._learner.predict_proba_one(x)

    def learn_one(self, x: Features, y: bool, w: float = 1.0) -> None:
        """Ignored: the static policy has stopped learning."""


class StaticLoop(FeedbackLoop):
    """A feedback loop whose learner learns from its first ``learn_outcomes`` outcomes only.

    Later outcomes are still recorded by the loop (they count as learned in its records:
    the loop offered them), but the learner ignores them: the baseline that never adapts.

    Parameters
    ----------
    settings
        Loop settings (``lab_settings(0)`` when ``None``).
    learn_outcomes
        Outcomes learned before the learner stops.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from freqtrade_feedback.lab.market import START
    >>> from freqtrade_feedback.loop import Signal
    >>> loop = StaticLoop(lab_settings(0), learn_outcomes=2)
    >>> for i in range(4):
    ...     signal = Signal("BTC/USDT", START + timedelta(minutes=5 * i), features={"x": 1.0})
    ...     decision = loop.on_signal(signal, now=signal.candle)
    ...     _ = loop.on_trade_closed(signal.signal_id, profit_ratio=0.01, now=signal.candle)
    >>> loop.learner_for("BTC/USDT").n_learned
    2
    """

    def __init__(
        self, settings: FeedbackSettings | None = None, learn_outcomes: int = STATIC_OUTCOMES
    ) -> None:
        self.learn_outcomes = learn_outcomes
        super().__init__(settings or lab_settings(0))

    def learner_for(self, pair: str) -> OnlineLearner:
        learner = super().learner_for(pair)
        if learner.n_learned < self.learn_outcomes:
            return learner
        return _Frozen(learner)  # type: ignore[return-value]


def static_loop(seed: int) -> FeedbackLoop:
    """The static policy: learns from the first ``STATIC_OUTCOMES`` closed trades only."""
    return StaticLoop(lab_settings(seed), learn_outcomes=STATIC_OUTCOMES)


def selective_loop(seed: int) -> FeedbackLoop:
    """The selective policy: learns only from the trades it took (selective labels)."""
    return FeedbackLoop(lab_settings(seed, labels="realized"))


def naive_loop(seed: int) -> FeedbackLoop:
    """The naive policy: the loop as it ships without a guard, learning every signal."""
    return FeedbackLoop(lab_settings(seed))


def guarded_loop(seed: int) -> FeedbackLoop:
    """The guarded policy: the loop with its guard watching for self-referential bias."""
    return FeedbackLoop(lab_settings(seed, guard=GuardSettings(enabled=True)))


def guarded_selective_loop(seed: int) -> FeedbackLoop:
    """The selective policy with its guard: learns only its trades, watched by the guard."""
    return FeedbackLoop(lab_settings(seed, labels="realized", guard=GuardSettings(enabled=True)))


POLICIES: Final = ("static", "selective", "naive", "guarded", "guarded_selective")
"""Policy names, in the order the reports show them."""
GUARDED: Final = ("guarded", "guarded_selective")
"""The policies with a guard, whose freezes the lab scores."""


def make_loop(policy: str, seed: int) -> FeedbackLoop:
    """A fresh loop of the named policy; an unknown name raises ``ValueError``.

    The builders are looked up when called, so replacing ``guarded_loop`` takes effect here.
    """
    builders: dict[str, Callable[[int], FeedbackLoop]] = {
        "static": static_loop,
        "selective": selective_loop,
        "naive": naive_loop,
        "guarded": guarded_loop,
        "guarded_selective": guarded_selective_loop,
    }
    if policy not in builders:
        raise ValueError(
            f"The 'policy' parameter must be one of {', '.join(map(repr, POLICIES))}. "
            f"Got {policy!r} instead."
        )
    return builders[policy](seed)
