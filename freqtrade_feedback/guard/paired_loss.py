"""``PairedLoss``: is the learning challenger worse, or better, than the frozen champion?"""

from __future__ import annotations

import math

from freqtrade_feedback.guard.kinds import ComparisonDetector
from freqtrade_feedback.guard.sequential import BettingMean
from freqtrade_feedback.validation import check_betting_detector, finite

__all__ = ["PairedLoss"]


class PairedLoss(ComparisonDetector):
    """Anytime-valid comparison of two models' losses on the same unbiased examples.

    One observation is a pair ``(challenger_loss, champion_loss)``: the losses of the learning
    challenger and of the frozen champion on the *same* holdout or shadow outcome, never on a
    trade the gate chose (those are the biased sample). With ``d = challenger_loss -
    champion_loss`` two one-sided ``BettingMean`` tests run side by side, each at level
    ``alpha``:

    - *worse*, H0 "mean d <= margin". Rejecting it means the challenger has become worse than
      the champion although it keeps learning: it is fitting its own decisions. That is the
      ``alarm``.
    - *better*, H0 "mean -d <= margin". Rejecting it sets ``better``: the evidence says the
      challenger beats the champion by more than ``margin``, and the guard may promote it.

    **Statistic and threshold.** ``statistic`` is the log wealth of the *worse* test and
    ``threshold_value`` is ``log(1 / alpha)``; the alarm fires when the first reaches the
    second, after ``warmup`` updates. ``warning`` is raised at half that log level (wealth
    ``1 / sqrt(alpha)``).

    **Guarantee.** Each test is a nonnegative supermartingale under its null, so, checked after
    every update and stopped at any time, the chance of a false alarm is at most ``alpha``, and
    the chance that ``better`` is ever wrongly set is at most ``alpha``. The nulls hold whenever
    the conditional mean of ``d`` given the past stays on their side, even if it changes over
    time. Differences are clipped to ``[-bound, bound]``: ``bound=1`` suits Brier scores and
    0/1 losses; clip log losses before they get here, or raise ``bound``.

    Evidence counts from the last reset, and bets lost while the losses are equal stay lost,
    so a change that follows a long equal stretch takes longer to see. For a Brier loss 0.1
    worse (differences with spread about 0.25) the median delay over 200 seeded streams is
    112 updates when the change comes first, 150 after 300 equal updates, 175 after 1,000
    and 229 after 3,000. After an alarm the next ``update`` starts both tests
    afresh (the ``Detector`` contract). ``better`` stays True until then; the guard should
    start a fresh detector (``clone()``) whenever it promotes a challenger or changes either
    model, since the pair it compares is then a new one.

    Parameters
    ----------
    alpha
        Chance of a false alarm, and of a wrong ``better``, over the whole stream.
    margin
        Loss difference, in loss units, that is not worth acting on: the alarm needs the
        challenger worse by more than ``margin``, ``better`` needs it better by more.
    bound
        Differences are clipped to ``[-bound, bound]``.
    warmup
        Updates before ``alarm``, ``warning`` or ``better`` may be raised.

    Examples
    --------
    The challenger's Brier score matches the champion's for 300 examples, then is 0.1 worse.

    >>> import random
    >>> from freqtrade_feedback.guard.paired_loss import PairedLoss
    >>> rng = random.Random(3)
    >>> detector = PairedLoss()
    >>> for i in range(1000):
    ...     champion = rng.uniform(0.0, 0.5)
    ...     challenger = champion + rng.gauss(0.0, 0.2) + (0.1 if i >= 300 else 0.0)
    ...     detector.update(min(max(challenger, 0.0), 1.0), champion)
    ...     if detector.alarm:
    ...         print(f"alarm at {i}: {detector.reason()}")
    ...         break
    alarm at 339: PairedLoss: statistic=4.664 threshold=4.605 after 340 updates

    References
    ----------
    Choe, Y. J. and Ramdas, A. (2023). Comparing sequential forecasters. Operations Research.
    """

    def __init__(
        self, alpha: float = 0.01, margin: float = 0.0, bound: float = 1.0, warmup: int = 30
    ) -> None:
        check_betting_detector("PairedLoss", alpha, bound, "margin", margin, warmup)
        self.alpha = alpha
        self.margin = margin
        self.bound = bound
        self.warmup = warmup
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        self._worse = BettingMean(bound=self.bound, alpha=self.alpha, margin=self.margin)
        self._better = BettingMean(bound=self.bound, alpha=self.alpha, margin=self.margin)
        self._threshold = math.log(1.0 / self.alpha)  # read on every outcome: computed once

    def _update(self, challenger_loss: float, champion_loss: float) -> None:  # type: ignore[override]
        challenger, champion = challenger_loss, champion_loss
        if type(challenger) is not float or not math.isfinite(challenger):  # fast path first
            challenger = finite("PairedLoss", "challenger_loss", challenger_loss)
        if type(champion) is not float or not math.isfinite(champion):
            champion = finite("PairedLoss", "champion_loss", champion_loss)
        difference = challenger - champion
        self._worse.update(difference)
        self._better.update(-difference)

    @property
    def statistic(self) -> float:
        """Log wealth of the test "the challenger is worse"; 0.0 at the start."""
        return self._worse.log_wealth

    @property
    def threshold_value(self) -> float:
        return self._threshold

    @property
    def alarm(self) -> bool:
        """The challenger is worse than the champion by more than ``margin``."""
        return self._n > self.warmup and self._worse.rejected

    @property
    def warning(self) -> bool:
        """The worse-side wealth has passed ``1 / sqrt(alpha)``."""
        return self._n > self.warmup and self.statistic >= self.threshold_value / 2.0

    @property
    def better(self) -> bool:
        """The challenger is better than the champion by more than ``margin``."""
        return self._n > self.warmup and self._better.rejected
