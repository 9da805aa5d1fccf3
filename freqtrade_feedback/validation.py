"""Argument checks shared by the package's classes, with one message template for each kind.

"The {name!r} parameter of {owner} must be {constraint}. Got {value!r} instead.", as
scikit-learn words it, raised as :class:`ConfigError` so a bad value in the config stops the
bot with the key named. Every constructor that checks an argument checks it here. A value
passed to a method on every observation (a detector's ``update``) is checked by
:func:`finite` or :func:`unit_interval`, which raise a plain ``ValueError``: that is a
caller's bug, not a setting.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from freqtrade_feedback.exceptions import ConfigError


def is_int(value: object) -> bool:
    """An integer, and not a bool (``True`` is an ``int`` in Python).

    >>> is_int(3), is_int(True), is_int(3.0)
    (True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """A finite real number, and not a bool.

    >>> is_real(0.5), is_real(float("nan")), is_real(False)
    (True, False, False)
    """
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        return False


def invalid(owner: str, name: str, constraint: str, value: object) -> ConfigError:
    """The error for a parameter ``name`` of ``owner`` that is not ``constraint``.

    >>> str(invalid("Coverage", "bins", "an int >= 2", 1))
    "The 'bins' parameter of Coverage must be an int >= 2. Got 1 instead."
    """
    return ConfigError(
        f"The {name!r} parameter of {owner} must be {constraint}. Got {value!r} instead."
    )


def check_count(
    owner: str, name: str, value: object, minimum: int, maximum: int | None = None
) -> None:
    """Raise :func:`invalid` unless ``value`` is an int of at least ``minimum`` (and at most
    ``maximum``, if given).

    >>> check_count("Coverage", "bins", 1, 2)
    Traceback (most recent call last):
    ...
    freqtrade_feedback.exceptions.ConfigError: The 'bins' parameter of Coverage must be an int >= 2.
    Got 1 instead.
    >>> check_count("RegimeFlip", "onset", 7, 0, 5)
    Traceback (most recent call last):
    ...
    freqtrade_feedback.exceptions.ConfigError: The 'onset' parameter of RegimeFlip must be an int
    in [0, 5]. Got 7 instead.
    """
    if not is_int(value) or value < minimum or (maximum is not None and value > maximum):  # type: ignore[operator]
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise invalid(owner, name, f"an int {bound}", value)


def check_positive(owner: str, name: str, value: Any) -> None:
    """Raise :func:`invalid` unless ``value`` is a finite real number above 0.

    >>> check_positive("OwnImpact", "threshold", float("inf"))
    Traceback (most recent call last):
    ...
    freqtrade_feedback.exceptions.ConfigError: The 'threshold' parameter of OwnImpact must be a
    finite float > 0. Got inf instead.
    """
    if not (is_real(value) and value > 0.0):
        raise invalid(owner, name, "a finite float > 0", value)


def check_interval(
    owner: str,
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> None:
    """Raise :func:`invalid` unless ``value`` is a finite real number between ``low`` and
    ``high``, each end included unless it is open. The bounds are shown as written
    (``repr``), so pass ``0`` rather than ``0.0`` to read "[0, 1)".

    >>> check_interval("AcceptanceCollapse", "floor", 1.0, 0, 1, open_high=True)
    Traceback (most recent call last):
    ...
    freqtrade_feedback.exceptions.ConfigError: The 'floor' parameter of AcceptanceCollapse must
    be a float in [0, 1). Got 1.0 instead.
    """
    inside = (
        is_real(value)
        and (low < value if open_low else low <= value)
        and (value < high if open_high else value <= high)
    )
    if not inside:
        interval = f"{'(' if open_low else '['}{low!r}, {high!r}{')' if open_high else ']'}"
        raise invalid(owner, name, f"a float in {interval}", value)


def check_alpha(owner: str, value: Any) -> None:
    """Raise :func:`invalid` unless the error level ``alpha`` is in ``(0, 1)``."""
    check_interval(owner, "alpha", value, 0, 1, open_low=True, open_high=True)


def check_margin(owner: str, name: str, value: Any, bound: float, *, signed: bool) -> None:
    """Raise :func:`invalid` unless ``value`` is in ``(-bound, bound)`` if ``signed``, else in
    ``[0, bound)``: a margin of a test on observations clipped to ``[-bound, bound]``."""
    if signed:
        check_interval(owner, name, value, -bound, bound, open_low=True, open_high=True)
    else:
        check_interval(owner, name, value, 0, bound, open_high=True)


def check_rolling_detector(owner: str, window: Any, threshold: Any, warmup: Any) -> None:
    """The parameters of a guard detector over a rolling window (``Calibration``,
    ``Coverage``, ``SelfFitGap``): at least 2 observations in the ``window``, a ``threshold``
    above 0, a ``warmup`` of at least 0 observations."""
    check_count(owner, "window", window, 2)
    check_positive(owner, "threshold", threshold)
    check_count(owner, "warmup", warmup, 0)


def check_betting_detector(
    owner: str, alpha: Any, bound: Any, margin_name: str, margin: Any, warmup: Any
) -> None:
    """The parameters of a guard detector built on two ``BettingMean`` tests
    (``PairedLoss``, ``ExecutionGap``): an error level, the clipping ``bound``, a margin in
    ``[0, bound)`` and a ``warmup`` of at least 0 observations."""
    check_alpha(owner, alpha)
    check_positive(owner, "bound", bound)
    check_margin(owner, margin_name, margin, bound, signed=False)
    check_count(owner, "warmup", warmup, 0)


def finite(owner: str, name: str, value: Any) -> float:
    """``value`` as a float, or a ``ValueError`` naming the argument ``name`` of
    ``owner.update``: what a detector calls on every observation, so a float is let through
    first.

    >>> finite("PairedLoss", "champion_loss", 1)
    1.0
    >>> finite("PairedLoss", "champion_loss", float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: PairedLoss.update needs a finite number for 'champion_loss'. Got nan.
    """
    if type(value) is float and math.isfinite(value):  # the common case, fast
        return value
    if not is_real(value):
        raise ValueError(f"{owner}.update needs a finite number for {name!r}. Got {value!r}.")
    return float(value)


def invalid_value(
    owner: str, name: str, constraint: str, value: object, hint: str = ""
) -> ValueError:
    """The error for a value ``name`` passed to ``owner.update`` that is not ``constraint``,
    with a ``hint`` on how to fix it, if any.

    >>> str(invalid_value("SelfFitGap", "loss", "a finite number", float("inf")))
    "The 'loss' value passed to SelfFitGap.update must be a finite number. Got inf instead."
    """
    message = (
        f"The {name!r} value passed to {owner}.update must be {constraint}. Got {value!r} instead."
    )
    return ValueError(f"{message} {hint}" if hint else message)


def unit_interval(owner: str, name: str, value: Any, meaning: str = "") -> float:
    """``value`` as a float in ``[0, 1]`` (a probability, a 0/1 outcome), or
    :func:`invalid_value`; ``meaning`` follows the interval in the message.

    >>> unit_interval("AcceptanceCollapse", "taken", True)
    1.0
    >>> unit_interval("AcceptanceCollapse", "taken", 2, " (1 taken, 0 skipped)")
    Traceback (most recent call last):
    ...
    ValueError: The 'taken' value passed to AcceptanceCollapse.update must be in [0, 1]
    (1 taken, 0 skipped). Got 2 instead.
    """
    number = float(value)
    if not 0.0 <= number <= 1.0:  # also rejects NaN
        raise invalid_value(owner, name, f"in [0, 1]{meaning}", value)
    return number
