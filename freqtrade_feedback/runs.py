"""Which feedback loop ran last in this process: how a hyperopt loss finds the learner.

Freqtrade hands a hyperopt loss the trades of the epoch's backtest, but not the strategy, so
a loss cannot ask the learner what it decided. The loss runs in the same worker process as
the backtest, right after it, so a process-global slot is enough: the strategy registers its
loop when a run starts, and the loss reads it when the run has ended.

The slot keeps a weak reference. A loop must not outlive its strategy because of this
registry: in a worker, each epoch unpickles a new strategy, and an old epoch's loop that is
still readable would be judged as if it were the current one. Call ``register`` through the
module (``runs.register(loop)``): modules of a strategy's base classes are pickled by value
into hyperopt workers, and the slot must be this module's, the one the loss reads.

>>> from freqtrade_feedback.loop import FeedbackLoop
>>> loop = FeedbackLoop()
>>> register(loop)
>>> current() is loop
True
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from freqtrade_feedback.loop import FeedbackLoop

_current: weakref.ref[FeedbackLoop] | None = None


def register(loop: FeedbackLoop) -> None:
    """Make ``loop`` the one ``current`` returns, until another is registered or it is gone."""
    global _current
    _current = weakref.ref(loop)


def current() -> FeedbackLoop | None:
    """The loop registered last in this process, or ``None`` if none was or it was freed."""
    return None if _current is None else _current()


__all__ = ["current", "register"]
