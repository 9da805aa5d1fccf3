"""The online learner that scores entry signals: a river classifier chosen by name.

The learner speaks river (``learn_one`` / ``predict_proba_one`` on plain dicts), so river's own
contract suite runs on it, and so any river model could stand in. Before it has learned
anything it answers with a configured prior instead of raising: the loop asks it about every
signal from the first candle on.
"""

from __future__ import annotations

import inspect
import numbers
import pickle
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

from river import base, compose, forest, linear_model, optim, preprocessing, tree

from freqtrade_feedback.exceptions import ConfigError
from freqtrade_feedback.typing import ModelInput


def _logistic(l2: float = 0.0, lr: float = 0.05, intercept_lr: float = 0.01) -> base.Classifier:
    """StandardScaler + LogisticRegression, categorical inputs (the pair) one-hot encoded
    beside the scaled numbers: about 13 us per predict+learn, honours weights."""
    numbers_ = compose.SelectType(numbers.Number) | preprocessing.StandardScaler()
    categories = compose.SelectType(str) | preprocessing.OneHotEncoder()
    return (numbers_ + categories) | linear_model.LogisticRegression(
        optimizer=optim.SGD(lr), l2=l2, intercept_lr=intercept_lr
    )


def _hoeffding(grace_period: int = 50, max_depth: int = 8, seed: int = 0) -> base.Classifier:
    """Hoeffding adaptive tree: non-linear, adapts to drift, honours weights."""
    return tree.HoeffdingAdaptiveTreeClassifier(
        grace_period=grace_period, max_depth=max_depth, seed=seed
    )


def _arf(n_models: int = 10, max_features: str | int = "sqrt", seed: int = 0) -> base.Classifier:
    """Adaptive random forest: the strongest and slowest; river's ARF ignores sample weights."""
    return forest.ARFClassifier(n_models=n_models, max_features=max_features, seed=seed)


class Kind(NamedTuple):
    """One learner of the registry: how to build it, and whether it learns sample weights."""

    build: Callable[..., base.Classifier]
    weighted: bool


LEARNERS: Final[Mapping[str, Kind]] = {
    "logistic": Kind(_logistic, weighted=True),
    "hoeffding": Kind(_hoeffding, weighted=True),
    "arf": Kind(_arf, weighted=False),
}
"""The learners by name: the one list of them (the config schema's enum reads it)."""


def make_model(name: str, params: Mapping[str, Any] | None = None, *, seed: int = 0) -> Any:
    """Build the river model ``name`` with ``params``; raise :class:`ConfigError` naming the key.

    Examples
    --------
    >>> make_model("logistic", {"l2": 0.01})["LogisticRegression"].l2
    0.01
    >>> make_model("logistic", {"depth": 3})
    Traceback (most recent call last):
    ...
    freqtrade_feedback.exceptions.ConfigError: Unknown key 'feedback.learner_params.depth' ...
    """
    if name not in LEARNERS:
        raise ConfigError(
            f"The 'feedback.learner' parameter must be one of {', '.join(map(repr, LEARNERS))}. "
            f"Got {name!r} instead."
        )
    factory = LEARNERS[name].build
    accepted = [p for p in inspect.signature(factory).parameters if p != "seed"]
    params = dict(params or {})
    for key in params:
        if key not in accepted:
            raise ConfigError(
                f"Unknown key 'feedback.learner_params.{key}' for learner {name!r}. "
                f"Allowed keys: {', '.join(accepted)}."
            )
    if "seed" in inspect.signature(factory).parameters:
        params["seed"] = seed
    try:
        return factory(**params)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"The 'feedback.learner_params' of learner {name!r} were refused by river: {error}. "
            f"Got {dict(params)!r}."
        ) from error


class OnlineLearner(base.Classifier):
    """A river binary classifier of "will this signal's trade be a win?", chosen by name.

    Parameters
    ----------
    name
        One of ``LEARNERS``: ``"logistic"``, ``"hoeffding"`` or ``"arf"``.
    params
        Keyword arguments of that learner.
    prior
        Probability of a win answered before the first ``learn_one``.
    seed
        Seed of randomised learners.

    Examples
    --------
    >>> learner = OnlineLearner(prior=0.4)
    >>> learner.predict_proba_one({"rsi": 0.1})
    {False: 0.6, True: 0.4}
    >>> for i in range(200):
    ...     learner.learn_one({"rsi": (i % 10) / 10}, (i % 10) >= 5)
    >>> learner.n_learned
    200
    >>> learner.predict_proba_one({"rsi": 0.9})[True] > 0.5
    True
    >>> OnlineLearner.restore(learner.snapshot()).n_learned
    200
    """

    def __init__(
        self,
        name: str = "logistic",
        params: Mapping[str, Any] | None = None,
        prior: float = 0.5,
        seed: int = 0,
    ) -> None:
        self.name = name
        self.params = params
        self.prior = prior
        self.seed = seed
        self._reset()

    def _reset(self) -> None:
        self._model = make_model(self.name, self.params, seed=self.seed)
        self._uses_weight = LEARNERS[self.name].weighted
        self._n = 0
        self._state = object()

    @property
    def _multiclass(self) -> bool:
        return False

    @property
    def n_learned(self) -> int:
        """Outcomes learned so far: the loop's cold start counts these."""
        return self._n

    @property
    def state(self) -> object:
        """A token of what the model has learned: a new one after every ``learn_one``, and a
        copy or an unpickled learner gets its own. While it stays the same object, the model
        answers every ``predict_proba_one`` as before, so a caller may reuse a probability it
        was given for the same features."""
        return self._state

    def learn_one(self, x: ModelInput, y: bool, w: float = 1.0) -> None:  # type: ignore[override]
        self._state = object()  # first: a learn_one that raises may have changed the model
        if self._uses_weight:
            self._model.learn_one(x, y, w=w)
        else:
            self._model.learn_one(x, y)
        self._n += 1

    def predict_proba_one(self, x: ModelInput) -> dict[bool, float]:  # type: ignore[override]
        if self._n == 0:
            return {False: 1.0 - self.prior, True: self.prior}
        proba = self._model.predict_proba_one(x)
        total = sum(proba.values())
        p_true = float(proba.get(True, 0.0)) / total if total > 0 else self.prior
        return {False: 1.0 - p_true, True: p_true}

    def snapshot(self) -> bytes:
        """Freeze the learner as bytes: the champion of a later issue is such a snapshot."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def restore(blob: bytes) -> OnlineLearner:
        """Inverse of :meth:`snapshot`. Only for bytes this process or its ledger wrote."""
        learner = pickle.loads(blob)  # noqa: S301 - our own snapshot, never user input
        if not isinstance(learner, OnlineLearner):
            raise TypeError(f"Expected an OnlineLearner snapshot, got {type(learner).__name__}.")
        return learner
