"""The feedback section: defaults match the schema, and every bad value names its key."""

from __future__ import annotations

import dataclasses

import pytest

from freqtrade_feedback.config import SCHEMA, FeedbackSettings, load_settings
from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.exceptions import ConfigError


@pytest.mark.parametrize(
    ("schema", "settings"),
    [(SCHEMA, FeedbackSettings), (SCHEMA["properties"]["guard"], GuardSettings)],
)
def test_schema_defaults_equal_settings_defaults(schema: dict, settings: type) -> None:
    """A loop built in Python behaves like one configured by an empty section: the schema reads
    every default from the settings dataclasses, and each key is described."""
    defaults = settings()
    for field in dataclasses.fields(settings):
        prop = schema["properties"][field.name]
        assert "description" in prop, field.name
        value = getattr(defaults, field.name)
        if dataclasses.is_dataclass(value):
            assert prop["default"] == {}
            continue
        if field.name == "learner_params":
            value = dict(value)
        elif isinstance(value, tuple):  # JSON has lists
            value = list(value)
        assert prop["default"] == value
    assert set(schema["properties"]) == {f.name for f in dataclasses.fields(settings)}


def test_guard_block_is_typed_and_checked() -> None:
    settings = load_settings({"guard": {"enabled": True, "holdout_share": 0.1}})
    assert settings.guard == GuardSettings(enabled=True, holdout_share=0.1)
    with pytest.raises(ConfigError, match=r"Unknown key feedback.guard.cooldwn in the config"):
        load_settings({"guard": {"cooldwn": 3}})
    with pytest.raises(ConfigError, match=r"'feedback.guard.holdout_share' parameter must be a "
                                          r"number in \[0, 0.5\]"):
        load_settings({"guard": {"holdout_share": 0.9}})


def test_missing_section_gives_defaults() -> None:
    assert load_settings(None) == FeedbackSettings()
    assert load_settings({}) == FeedbackSettings()


def test_valid_section_is_typed() -> None:
    settings = load_settings(
        {"threshold": 0.6, "scope": "global", "feature_columns": ["fb_rsi", "x"]}
    )
    assert settings.threshold == 0.6
    assert settings.scope == "global"
    assert settings.feature_columns == ("fb_rsi", "x")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"stop_los": 1}, "Unknown key feedback.stop_los in the config. Allowed keys:"),
        ({"threshold": 1.5}, "The 'feedback.threshold' parameter must be a number in [0, 1]. "
                             "Got 1.5 instead."),
        ({"threshold": "high"}, "'feedback.threshold' parameter must be a number in [0, 1]"),
        ({"min_outcomes": -1}, "'feedback.min_outcomes' parameter must be an integer >= 0"),
        ({"min_outcomes": 2.5}, "'feedback.min_outcomes'"),
        ({"scope": "pairs"}, "The 'feedback.scope' parameter must be one of 'pair', 'global'. "
                             "Got 'pairs' instead."),
        ({"learner": "xgboost"}, "one of 'logistic', 'hoeffding', 'arf'"),
        ({"explore_share": 0.9}, "'feedback.explore_share' parameter must be a number in "
                                 "[0, 0.5]"),
        ({"stake_factor_min": 0}, "'feedback.stake_factor_min' parameter must be a number in "
                                  "(0, 1]"),
        ({"feature_columns": [3]}, "'feedback.feature_columns.0' parameter must be a string"),
        ({"enabled": "yes"}, "'feedback.enabled' parameter must be a boolean"),
        ({"learner_params": {"depth": 3}},
         "Unknown key 'feedback.learner_params.depth' for learner 'logistic'. "
         "Allowed keys: l2, lr, intercept_lr"),
        ({"learner": "arf", "learner_params": {"n_models": "many"}}, "'feedback.learner_params'"),
    ],
)
def test_bad_values_name_the_key(raw: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(raw)
    assert expected in str(error.value)


def test_section_must_be_an_object() -> None:
    with pytest.raises(ConfigError, match="'feedback' section must be a JSON object"):
        load_settings([1, 2])  # type: ignore[arg-type]
