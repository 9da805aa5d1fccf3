"""OnlineLearner: river's own contract suite, the cold-start prior, weights and snapshots."""

from __future__ import annotations

import copy
import functools

import pytest
from river import checks

from freqtrade_feedback.learner import LEARNERS, OnlineLearner


def _river_checks() -> list:
    learner = OnlineLearner()
    return [(learner, check) for check in checks.yield_checks(learner)]


@pytest.mark.parametrize(
    ("learner", "check"),
    _river_checks(),
    ids=lambda v: getattr(v, "func", v).__name__ if callable(v) else "OnlineLearner",
)
def test_river_contract(learner: OnlineLearner, check: functools.partial) -> None:
    """The gate is a river classifier, so river's own estimator checks run on it."""
    check(copy.deepcopy(learner))


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_prior_before_learning_then_learns(name: str) -> None:
    learner = OnlineLearner(name, prior=0.3, seed=1)
    assert learner.predict_proba_one({"a": 1.0}) == {False: 0.7, True: 0.3}
    for i in range(400):
        x = {"a": float(i % 2), "b": 0.5}
        learner.learn_one(x, i % 2 == 1)
    assert learner.n_learned == 400
    assert learner.predict_proba_one({"a": 1.0, "b": 0.5})[True] > 0.5
    assert learner.predict_proba_one({"a": 0.0, "b": 0.5})[True] < 0.5


def test_prediction_does_not_change_state() -> None:
    learner = OnlineLearner()
    for i in range(50):
        learner.learn_one({"a": float(i % 3)}, i % 3 == 0)
    before = learner.snapshot()
    learner.predict_proba_one({"a": 7.0})
    assert learner.snapshot() == before


def test_sample_weight_is_honoured_by_logistic() -> None:
    """The same stream with heavier wins must end with a higher win probability."""
    plain, weighted = OnlineLearner(), OnlineLearner()
    for i in range(200):
        x, y = {"a": 1.0}, i % 2 == 0
        plain.learn_one(x, y)
        weighted.learn_one(x, y, w=3.0 if y else 1.0)
    assert weighted.predict_proba_one({"a": 1.0})[True] > plain.predict_proba_one({"a": 1.0})[True]


def test_snapshot_restores_an_equal_learner() -> None:
    learner = OnlineLearner("hoeffding", seed=3)
    for i in range(100):
        learner.learn_one({"a": float(i % 5)}, i % 5 > 2)
    restored = OnlineLearner.restore(learner.snapshot())
    assert restored.n_learned == 100
    assert restored.predict_proba_one({"a": 4.0}) == learner.predict_proba_one({"a": 4.0})


def test_restore_refuses_other_objects() -> None:
    import pickle

    with pytest.raises(TypeError, match="Expected an OnlineLearner snapshot"):
        OnlineLearner.restore(pickle.dumps({"not": "a learner"}))
