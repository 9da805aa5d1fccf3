"""What a signal is worth: its expected net profit, from P(win) and the sizes of wins and losses.

A strategy that wins often and small and loses rarely and big (ROI exits against a wide
stoploss: the common case) loses money at a win rate of 70%. A gate that takes a signal when
P(win) >= 0.5 takes nearly everything there. The break-even probability follows from the sizes
of wins and losses, and the bot learns those from its own outcomes: :class:`OutcomeSizes` keeps
their running means and variances (river's ``stats.Var``), one per learner, and
:meth:`OutcomeSizes.edge` turns a probability into the expected profit ratio of a trade and its
standard error.

The standard error matters: the mean win of a trend follower is carried by a few large trades,
so after a few dozen outcomes it is uncertain, and a gate that skips every signal whose point
estimate falls below the bar skips the large winners on noise. The gate therefore skips only
when the expected profit falls short of the bar by more than ``skip_confidence`` standard errors
(see ``FeedbackLoop``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from river import stats


@dataclass(frozen=True)
class Edge:
    """A signal's expected net profit ratio under the current sizes, with what it was made of."""

    value: float
    """p x mean win + (1 - p) x mean loss: the expected profit ratio of one trade."""
    error: float
    """Standard error of ``value`` from the sizes' sampling error (p taken as known)."""
    win_size: float
    """Mean profit ratio of the wins learned so far."""
    loss_size: float
    """Mean profit ratio of the losses learned so far (negative for a real loss)."""
    cost: float = 0.0
    """Execution cost per unit of stake charged in ``value`` (the guard's measure of our own
    impact, while its evidence stands; see ``Supervisor.execution_cost``)."""

    def charged(self, cost: float) -> Edge:
        """This edge with ``cost`` taken off its value.

        >>> Edge(0.004, 0.001, 0.01, -0.02).charged(0.003).value
        0.001
        """
        return replace(self, value=self.value - cost, cost=cost)


class OutcomeSizes:
    """Running mean and variance of the profit ratio of wins and of losses.

    Examples
    --------
    >>> sizes = OutcomeSizes()
    >>> sizes.edge(0.7) is None  # nothing learned yet
    True
    >>> for ratio in (0.01, 0.012, 0.008, -0.025, -0.03):
    ...     sizes.learn_one(ratio, ratio > 0)
    >>> edge = sizes.edge(0.7)
    >>> round(edge.win_size, 4), round(edge.loss_size, 4), round(edge.value, 5)
    (0.01, -0.0275, -0.00125)
    >>> round(sizes.break_even(), 3)  # the P(win) at which a trade pays for itself
    0.733
    """

    def __init__(self) -> None:
        self._wins = stats.Var()
        self._losses = stats.Var()

    def learn_one(self, profit_ratio: float, win: bool) -> None:
        """Learn one outcome's size (a finite net profit ratio) into the wins or the losses."""
        (self._wins if win else self._losses).update(profit_ratio)

    @property
    def n(self) -> int:
        """Outcomes learned."""
        return int(self._wins.mean.n + self._losses.mean.n)

    def edge(self, p: float) -> Edge | None:
        """The expected profit ratio of a trade that wins with probability ``p``; ``None``
        until at least one win and one loss were learned (no size to weigh them by)."""
        n_win, n_loss = self._wins.mean.n, self._losses.mean.n
        if n_win == 0 or n_loss == 0:
            return None
        win, loss = self._wins.mean.get(), self._losses.mean.get()
        variance = (p * p * _variance(self._wins) / n_win
                    + (1.0 - p) * (1.0 - p) * _variance(self._losses) / n_loss)
        return Edge(p * win + (1.0 - p) * loss, math.sqrt(variance), win, loss)

    def break_even(self) -> float | None:
        """The probability of a win at which the expected profit is zero (for reports)."""
        n_win, n_loss = self._wins.mean.n, self._losses.mean.n
        win, loss = self._wins.mean.get(), self._losses.mean.get()
        if n_win == 0 or n_loss == 0 or win <= loss:
            return None
        return -loss / (win - loss)


def _variance(var: stats.Var) -> float:
    """The sample variance, 0 below two values (river's ``Var`` gives 0 there too)."""
    return float(var.get()) if var.mean.n > 1 else 0.0


__all__ = ["Edge", "OutcomeSizes"]
