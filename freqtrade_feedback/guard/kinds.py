"""Detector kinds: what one observation is, as river splits its drift detectors.

river types a drift detector by its input (``base.DriftDetector`` reads a continuous stream,
``base.BinaryDriftDetector`` a 0/1 one), so that a caller knows what to feed it and its checks
know which stream to generate. The guard's detectors read more kinds of streams than two, so
there is one base class per kind. Every detector derives from one; the contract suite
(``guard.checks.stream_for``) builds a stream for a detector from its kind alone, and the
wiring table (``guard.wiring``) turns each event of the loop into the input of a kind.

=================  ==========================  ==============================================
kind               ``update(...)``             e.g.
=================  ==========================  ==============================================
ScalarDetector     ``(x)``                     any number: a loss, a statistic
BinaryDetector     ``(x)``                     1 taken, 0 skipped (a share in [0, 1] too)
PairedDetector     ``(first, second)``         two measures of one example, same unit
ComparisonDetector ``(challenger, champion)``  a paired test that also says ``better``
ForecastDetector   ``(p, y)``                  a probability of a win, and 1 won / 0 lost
TreatmentDetector  ``(treatment, outcome)``     a randomized action, and what followed it
TwoSampleDetector  ``(x, second_sample)``      a number, and which of two samples it is from
FeatureDetector    ``(features, second)``      a feature dict, and which of two samples
=================  ==========================  ==============================================

The classes add nothing at run time but the signature of ``_update``: ``Detector.update``
passes its arguments on unchanged, so a kind costs no call on the loop's hot path.
"""

from __future__ import annotations

from collections.abc import Mapping

from freqtrade_feedback.guard.base import Detector


class ScalarDetector(Detector):
    """One observation is one number: ``update(x)``."""

    def _update(self, x: float) -> None:  # type: ignore[override]
        raise NotImplementedError


class BinaryDetector(Detector):
    """One observation is one 0/1 event (a share in [0, 1] is accepted): ``update(x)``."""

    def _update(self, x: float) -> None:  # type: ignore[override]
        raise NotImplementedError


class PairedDetector(Detector):
    """One observation is two measures of the same example, in one unit:
    ``update(first, second)``. What is tested is usually their difference."""

    def _update(self, first: float, second: float) -> None:  # type: ignore[override]
        raise NotImplementedError


class ComparisonDetector(PairedDetector):
    """A paired test of a challenger against a champion: ``update(challenger_loss,
    champion_loss)`` on the same unbiased example.

    ``alarm`` says the challenger is worse; ``better`` says it is better, the evidence the
    guard promotes a challenger on (the ``promote`` role of ``guard.wiring``).
    """

    @property
    def better(self) -> bool:
        """The challenger is better than the champion, by the detector's own test."""
        raise NotImplementedError


class ForecastDetector(Detector):
    """One observation is a forecast and its outcome: ``update(p, y)``, ``p`` a probability of
    a win and ``y`` 1 for a win, 0 for a loss."""

    def _update(self, p: float, y: float) -> None:  # type: ignore[override]
        raise NotImplementedError


class TreatmentDetector(Detector):
    """One observation is a randomized action of ours and what followed it:
    ``update(treatment, outcome)``. Only a randomized treatment makes their relation causal."""

    def _update(self, treatment: float, outcome: float) -> None:  # type: ignore[override]
        raise NotImplementedError


class TwoSampleDetector(Detector):
    """One observation is a number of one of two samples: ``update(x, second)``, ``second``
    False for the first sample and True for the second. The two are compared."""

    def _update(self, x: float, second: bool) -> None:  # type: ignore[override]
        raise NotImplementedError


class FeatureDetector(Detector):
    """One observation is a feature dict of one of two samples: ``update(features, second)``,
    ``second`` False for the first sample and True for the second. The two are compared."""

    def _update(self, features: Mapping[str, float], second: bool) -> None:  # type: ignore[override]
        raise NotImplementedError


KINDS: tuple[type[Detector], ...] = (
    ScalarDetector,
    BinaryDetector,
    ComparisonDetector,
    PairedDetector,
    ForecastDetector,
    TreatmentDetector,
    TwoSampleDetector,
    FeatureDetector,
)
"""Every kind, a subclass before its base (``ComparisonDetector`` before ``PairedDetector``),
so that the first ``isinstance`` match is the narrowest."""


def kind_of(detector: Detector) -> type[Detector]:
    """The kind ``detector`` derives from; a ``TypeError`` naming the kinds if none.

    >>> from freqtrade_feedback.guard.paired_loss import PairedLoss
    >>> kind_of(PairedLoss()).__name__
    'ComparisonDetector'
    """
    for kind in KINDS:
        if isinstance(detector, kind):
            return kind
    names = ", ".join(k.__name__ for k in KINDS)
    raise TypeError(
        f"{type(detector).__name__} derives from no detector kind of guard.kinds ({names}): "
        "subclass the one that says what one observation is."
    )


__all__ = [
    "KINDS",
    "BinaryDetector",
    "ComparisonDetector",
    "FeatureDetector",
    "ForecastDetector",
    "PairedDetector",
    "ScalarDetector",
    "TreatmentDetector",
    "TwoSampleDetector",
    "kind_of",
]
