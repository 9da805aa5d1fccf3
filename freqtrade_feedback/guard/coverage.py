"""``Coverage``: the signals the learner trains on cover less and less of the signals it sees."""

from __future__ import annotations

import bisect
import itertools
import math
import numbers
from collections import deque
from collections.abc import Mapping

from freqtrade_feedback.guard.kinds import FeatureDetector
from freqtrade_feedback.validation import check_count, check_rolling_detector

EPSILON = 1e-4
"""Proportion given to an empty bin, so that the PSI stays finite."""


class Coverage(FeatureDetector):
    """Alarm when the trained-on signals stop looking like the signals that reach the gate.

    A gate that trains on its own trades narrows its support: it takes only the region it
    already likes, learns only there, and the rest of the feature space drops out of its
    training data (Jiang et al. 2019, narrowing exposure; FreqAI's dissimilarity index is the
    same idea). The detector compares the feature distribution of the signals the learner
    trained on with that of every signal that reached the gate.

    One observation is `update(x, trained)`: `x` the feature dict of one signal, `trained=False`
    for every signal that reached the gate (the "all signals" sample) and `trained=True` for a
    signal whose outcome the learner trained on (the reference). A taken signal is therefore
    fed twice: when it reaches the gate, and when its outcome is learned. `x` is copied, never
    mutated or kept; values that are not finite numbers (NaN, inf, None) are ignored.

    **Statistic.** The largest population stability index over the features,
    `PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`, between the trained-on window (proportions
    `a_i`) and the all-signals window (proportions `e_i`). Each window keeps, per feature, the
    last `window` finite values. The `bins` bins are cut at the lower `j / bins` quantiles of
    the all-signals window (order statistics, so equal values share a bin; fewer bins when
    quantiles tie). An empty bin counts as a proportion of `EPSILON`. `worst_feature` names
    the feature with the largest PSI, `psi` gives every feature's. 0.0 (and `None`) while no
    feature has values in both windows. Sampling noise alone gives a PSI of about
    `(bins - 1) * (1 / n_trained + 1 / n_all)` per feature: 0.12 at 100 trained-on and 300
    signals, 0.06 with both windows full at the defaults.

    **Cost.** Each window is also kept sorted as values arrive (a bisection and a move of
    `window` pointers per value), so reading the statistic sorts nothing; it is computed
    once per update at most (the result is cached until the next update).

    **Alarm.** When the statistic exceeds `threshold` (0.25 is the usual "major shift" level
    of the PSI) and both windows have had at least `warmup` signals since the last reset. The
    detector resets on the update after an alarm.

    Parameters
    ----------
    window
        Signals kept in each of the two windows.
    threshold
        Alarm when the largest PSI exceeds this.
    warmup
        Signals each window needs after a reset before an alarm may fire.
    bins
        Quantile bins of the PSI.

    Notes
    -----
    Memory is two windows of `window` floats per feature name ever seen: a feature that stops
    arriving keeps its last values (the default feature set is fixed, so this stays bounded).

    Examples
    --------
    For 1,000 signals the learner trains on a random 40% of them; then only on signals with
    an `rsi` below 40. `volume` is left alone.

    >>> import random
    >>> from freqtrade_feedback.guard.coverage import Coverage

    >>> def events(rng):
    ...     for i in range(2000):
    ...         x = {"rsi": rng.uniform(0, 100), "volume": rng.expovariate(1.0)}
    ...         yield i, x, False
    ...         if (x["rsi"] < 40) if i >= 1000 else (rng.random() < 0.4):
    ...             yield i, x, True

    >>> detector = Coverage(window=300, threshold=0.25, warmup=100, bins=10)
    >>> for i, x, trained in events(random.Random(1)):
    ...     detector.update(x, trained)
    ...     if detector.alarm:
    ...         break
    >>> print(f"alarm at signal {i}: {detector.reason()}")
    alarm at signal 1303: Coverage: PSI=0.2602 on 'rsi' threshold=0.25 after 1853 updates
    >>> {name: round(psi, 2) for name, psi in detector.psi.items()}
    {'rsi': 0.26, 'volume': 0.02}

    """

    def __init__(
        self, window: int = 300, threshold: float = 0.25, warmup: int = 100, bins: int = 10
    ) -> None:
        check_rolling_detector("Coverage", window, threshold, warmup)
        check_count("Coverage", "bins", bins, 2)
        self.window = window
        self.threshold = threshold
        self.warmup = warmup
        self.bins = bins
        self._reset()

    def _reset(self) -> None:
        self._trained: dict[str, _Window] = {}
        self._all: dict[str, _Window] = {}
        self._n_trained = 0
        self._n_all = 0
        self._psi: dict[str, float] | None = None

    def _update(self, x: Mapping[str, float], trained: bool) -> None:  # type: ignore[override]
        columns = self._trained if trained else self._all
        for name, value in x.items():
            # A float is checked at once: this runs for every feature of every signal.
            if math.isfinite(value) if type(value) is float else _is_finite(value):
                column = columns.get(name)
                if column is None:
                    column = columns[name] = _Window(self.window)
                column.append(float(value))
        if trained:
            self._n_trained += 1
        else:
            self._n_all += 1
        self._psi = None

    @property
    def psi(self) -> dict[str, float]:
        """The PSI of every feature with values in both windows, by name."""
        if self._psi is None:
            self._psi = _psi_by_feature(self._trained, self._all, self.bins)
        return dict(self._psi)

    @property
    def statistic(self) -> float:
        """The largest PSI over the features; 0.0 when no feature can be compared."""
        return max(self.psi.values(), default=0.0)

    @property
    def worst_feature(self) -> str | None:
        """The feature with the largest PSI (the first by name on a tie), or `None`."""
        psi = self.psi
        return max(sorted(psi), key=psi.__getitem__) if psi else None

    @property
    def alarm(self) -> bool:
        warm = min(self._n_trained, self._n_all) >= self.warmup
        return warm and self.statistic > self.threshold

    def reason(self) -> str:
        """The largest PSI, and the feature it belongs to."""
        return (
            f"Coverage: PSI={self.statistic:.4g} on {self.worst_feature!r} "
            f"threshold={self.threshold:.4g} after {self.n} updates"
        )


class _Window:
    """The last `size` values of one feature, in arrival order and sorted.

    Keeping the sorted copy up to date as values arrive costs less than sorting the window at
    every read of the PSI. Among equal values the sorted copy keeps the arrival order (new ones
    go after, the oldest is the first found), so it is exactly `sorted(recent)`.
    """

    def __init__(self, size: int) -> None:
        self.recent: deque[float] = deque(maxlen=size)
        self.ordered: list[float] = []

    def append(self, value: float) -> None:
        if len(self.recent) == self.recent.maxlen:
            del self.ordered[bisect.bisect_left(self.ordered, self.recent[0])]
        self.recent.append(value)
        bisect.insort_right(self.ordered, value)

    def __getstate__(self) -> deque[float]:
        return self.recent  # the sorted copy is rebuilt: a pickle holds each value once

    def __setstate__(self, recent: deque[float]) -> None:
        self.recent = recent
        self.ordered = sorted(recent)


def _psi_by_feature(
    trained: dict[str, _Window], signals: dict[str, _Window], bins: int
) -> dict[str, float]:
    return {
        name: _psi(trained[name].ordered, signals[name].ordered, bins)
        for name in sorted(trained.keys() & signals.keys())
    }


def _psi(actual: list[float], expected: list[float], bins: int) -> float:
    """PSI of sorted `actual` against sorted `expected`, binned at quantiles of `expected`.

    The cuts are the lower `j / bins` quantiles, order statistics of `expected`, so equal
    values always share a bin (a discrete feature is not split by a cut a rounding error
    above one of its values).
    """
    last = len(expected) - 1
    cuts = sorted({expected[j * last // bins] for j in range(1, bins)})
    pairs = zip(_shares(actual, cuts), _shares(expected, cuts), strict=True)
    return math.fsum((a - e) * math.log(a / e) for a, e in pairs)


def _shares(ordered: list[float], cuts: list[float]) -> list[float]:
    """Share of sorted values in each bin (a value equal to a cut falls in the bin above it),
    with `EPSILON` for an empty bin."""
    edges = [0, *(bisect.bisect_left(ordered, cut) for cut in cuts), len(ordered)]
    return [
        (high - low) / len(ordered) if high > low else EPSILON
        for low, high in itertools.pairwise(edges)
    ]


def _is_finite(value: object) -> bool:
    return isinstance(value, numbers.Real) and math.isfinite(float(value))
