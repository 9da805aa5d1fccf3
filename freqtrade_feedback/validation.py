"""Constructor checks shared by the core's classes, with one message template.

"The {name!r} parameter of {owner} must be {constraint}. Got {value!r} instead.", as
scikit-learn words it, raised as :class:`ConfigError` so a bad value in the config stops the
bot with the key named.
"""

from __future__ import annotations

import math
import numbers

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


def check_count(owner: str, name: str, value: object, minimum: int) -> None:
    """Raise :func:`invalid` unless ``value`` is an int of at least ``minimum``.

    >>> check_count("Coverage", "bins", 1, 2)
    Traceback (most recent call last):
    ...
    freqtrade_feedback.exceptions.ConfigError: The 'bins' parameter of Coverage must be an int >= 2.
    Got 1 instead.
    """
    if not is_int(value) or value < minimum:  # type: ignore[operator]
        raise invalid(owner, name, f"an int >= {minimum}", value)


def invalid(owner: str, name: str, constraint: str, value: object) -> ConfigError:
    """The error for a parameter ``name`` of ``owner`` that is not ``constraint``.

    >>> str(invalid("Coverage", "bins", "an int >= 2", 1))
    "The 'bins' parameter of Coverage must be an int >= 2. Got 1 instead."
    """
    return ConfigError(
        f"The {name!r} parameter of {owner} must be {constraint}. Got {value!r} instead."
    )
