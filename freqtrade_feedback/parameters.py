"""Hyperoptable parameters of the gate and the guard, and when they override the config.

The ``"feedback"`` config section is the user's setting; a parameter of the ``feedback``
space replaces one of its keys only when something *set* that parameter for this run:

1. hyperopt optimizes it (``--spaces feedback``, ``all`` or ``default``): every epoch uses the
   value the optimizer asked for;
2. a parameter file (``<Strategy>.json`` beside the strategy, as ``hyperopt`` exports it) or a
   ``feedback_params`` dict on the strategy names it.

Otherwise the config value stands. Comparing a value with its class default instead would be
ambiguous: an epoch that asks for ``threshold=0.5`` (the default) under a config saying 0.6
must run at 0.5. A parameter's default is the settings' default of the key it overrides
(:func:`default`), so a strategy with no config section, no file and no hyperopt behaves as
before.

Freqtrade loads parameter values after ``bot_start`` and sets them again before each hyperopt
epoch, so the strategy asks :func:`parameter_overrides` at the start of each simulated run and
once after the values are loaded in dry-run and live.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from freqtrade_feedback.config.settings import FeedbackSettings

SPACE = "feedback"

KEYS: dict[str, tuple[str, ...]] = {
    "feedback_min_edge": ("min_edge",),
    "feedback_skip_confidence": ("skip_confidence",),
    "feedback_threshold": ("threshold",),
    "feedback_min_outcomes": ("min_outcomes",),
    "feedback_explore_share": ("explore_share",),
    "feedback_stake_scaling": ("stake_scaling",),
    "feedback_stake_factor_min": ("stake_factor_min",),
    "feedback_stake_factor_max": ("stake_factor_max",),
    "feedback_holdout_share": ("guard", "holdout_share"),
    "feedback_guard_alpha": ("guard", "alpha"),
    "feedback_guard_cooldown": ("guard", "cooldown"),
}
"""Parameter name -> key path in the ``"feedback"`` section (``guard`` keys are nested)."""


def default(name: str) -> Any:
    """The default of parameter ``name``: the settings' default of the key it overrides.

    >>> default("feedback_threshold"), default("feedback_guard_cooldown")
    (0.5, 50)
    """
    value: Any = FeedbackSettings()
    for key in KEYS[name]:
        value = getattr(value, key)
    return value


def parameter_overrides(strategy: Any) -> dict[str, Any]:
    """The feedback parameters set for this run (see the module docstring), by name.

    Before Freqtrade has detected the parameters (inside ``bot_start``) there are none.
    """
    detected: Mapping[str, Any] = getattr(strategy, "_ft_hyper_params", {}).get(SPACE, {})
    named = {**getattr(strategy, "_ft_params_from_file", {}).get(SPACE, {}),
             **getattr(strategy, f"{SPACE}_params", {})}
    return {
        name: _plain(param.value)
        for name, param in detected.items()
        if name in KEYS and ((param.in_space and param.optimize) or (param.load and name in named))
    }


def with_overrides(section: Mapping[str, Any] | None,
                   overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The ``"feedback"`` section with the overriding parameter values written into it, so
    that the usual validation (errors naming ``feedback.<key>``) checks them too.

    Examples
    --------
    >>> with_overrides({"threshold": 0.6, "guard": {"enabled": True}},
    ...                {"feedback_threshold": 0.55, "feedback_guard_alpha": 0.02})
    {'threshold': 0.55, 'guard': {'enabled': True, 'alpha': 0.02}}
    """
    raw = dict(section or {})
    guard = dict(raw.get("guard") or {})
    for name, value in overrides.items():
        path = KEYS[name]
        if path[0] == "guard":
            guard[path[1]] = value
        else:
            raw[path[0]] = value
    if guard:
        raw["guard"] = guard
    return raw


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number the config schema accepts (``int`` is checked
    with ``isinstance``, which ``numpy.int64`` fails)."""
    return value.item() if hasattr(value, "item") else value
