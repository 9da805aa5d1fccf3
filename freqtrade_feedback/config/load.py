"""Validate the raw ``"feedback"`` dict and turn it into :class:`FeedbackSettings`.

Two stages, as Freqtrade does it: the JSON Schema catches unknown keys, wrong types and values
out of range; then cross-key rules that a schema cannot express. Every error names the key
(``feedback.<key>``) and what is allowed, because the user fixes it in a JSON file, not in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import jsonschema

from freqtrade_feedback.config.schema import SCHEMA
from freqtrade_feedback.config.settings import FeedbackSettings, GuardSettings
from freqtrade_feedback.exceptions import ConfigError
from freqtrade_feedback.learner import make_model

SECTION = "feedback"


def _key(error: jsonschema.ValidationError) -> str:
    return ".".join([SECTION, *(str(p) for p in error.absolute_path)])


def _allowed(schema: Mapping[str, Any]) -> str:
    """Describe what a property schema accepts, in the words a config editor needs."""
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    kinds = schema.get("type")
    kinds = " or ".join(kinds) if isinstance(kinds, list) else str(kinds)
    article = "an" if kinds[0] in "aeiou" else "a"
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum")
    if low is not None and high is not None:
        open_low = "exclusiveMinimum" in schema
        return f"{article} {kinds} in {'(' if open_low else '['}{low}, {high}]"
    if low is not None:
        return f"{article} {kinds} >= {low}"
    return f"{article} {kinds}"


RENAMED: Final = {"default_features": "features"}
"""Keys of earlier releases, and the key that replaced each: named in the error."""


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        known = set(error.schema["properties"])
        unknown = sorted(set(error.instance) - known)
        prefix = _key(error)
        renamed = "".join(f" '{prefix}.{k}' was replaced by '{prefix}.{RENAMED[k]}' (see "
                          "docs/configuration.md)." for k in unknown if k in RENAMED)
        return (
            f"Unknown key {', '.join(f'{prefix}.{k}' for k in unknown)!s} in the config."
            f"{renamed} Allowed keys: {', '.join(sorted(known))}."
        )
    prop: Mapping[str, Any] = SCHEMA
    for part in error.absolute_path:
        if "properties" in prop:
            prop = prop["properties"].get(str(part), {})
        elif "items" in prop:
            prop = prop["items"]
    return (
        f"The {_key(error)!r} parameter must be {_allowed(prop)}. "
        f"Got {error.instance!r} instead."
    )


def load_settings(raw: Mapping[str, Any] | None) -> FeedbackSettings:
    """Validate a config's ``"feedback"`` section; a missing section means all defaults.

    Examples
    --------
    >>> load_settings({"threshold": 0.6}).threshold
    0.6
    >>> load_settings({"treshold": 0.6})
    Traceback (most recent call last):
    ...
    freqtrade_feedback.exceptions.ConfigError: Unknown key feedback.treshold in the config. ...
    """
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"The {SECTION!r} section must be a JSON object. Got {type(raw).__name__} instead."
        )
    errors = sorted(jsonschema.Draft7Validator(SCHEMA).iter_errors(dict(raw)), key=str)
    if errors:
        raise ConfigError(_message(errors[0]))
    values = {k: v for k, v in raw.items()}
    values["guard"] = GuardSettings(**values.get("guard", {}))
    if values.get("feature_columns") is not None:
        values["feature_columns"] = tuple(values["feature_columns"])
    if "features" in values:
        values["features"] = tuple(values["features"])
    settings = FeedbackSettings(**values)
    _check_learner(settings)
    return settings


def _check_learner(settings: FeedbackSettings) -> None:
    """Build the learner once, so a bad ``learner_params`` key stops the bot at start."""
    make_model(settings.learner, settings.learner_params, seed=settings.seed)
