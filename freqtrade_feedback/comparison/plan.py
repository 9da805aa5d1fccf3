"""What a comparison runs: the variants, the folds with their time ranges, the hyperopt budget.

Everything here is decided in the parent process, before any worker starts, so that a bad
option fails in a second with a message naming it rather than minutes later in a worker, and
so that every variant of a fold gets exactly the same ranges, epochs, random state and loss.

**Folds.** ``--folds K`` cuts ``--timerange`` into K consecutive parts of equal length.
Without ``--epochs`` each part is backtested on its own (a fresh learner per part). With
``--epochs`` fold ``i`` is optimised on part ``i`` and evaluated on part ``i + 1``; the last
fold is evaluated on ``--oos-timerange``. ``K = 1`` is the plain split: optimise on
``--timerange``, evaluate on ``--oos-timerange``. The parts do not share a candle: each
in-sample part ends one second before the next part starts, the last one before
``--oos-timerange`` starts (Freqtrade's timerange end is inclusive).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from freqtrade_feedback.exceptions import ConfigError

VARIANTS: Final[dict[str, dict[str, Any]]] = {
    "primary": {"enabled": False},
    "feedback": {"enabled": True, "guard": {"enabled": False}},
    "guarded": {"enabled": True, "guard": {"enabled": True}},
}
"""The ``feedback`` config section each variant runs with, merged over the config's own."""

FEEDBACK_SPACE: Final = "feedback"
"""The hyperopt space of the gate's and guard's parameters (``FeedbackMixin``)."""
FALLBACK_SPACES: Final = ("roi", "stoploss")
"""Spaces every strategy has, for a strategy without parameters of its own."""
FEEDBACK_LOSS: Final = "FeedbackHyperOptLoss"
DEFAULT_LOSS: Final = "SharpeHyperOptLoss"


@dataclass(frozen=True)
class Fold:
    """One row group of the comparison: where to optimise (if at all) and where to measure."""

    index: int
    evaluate: str | None
    """Timerange of the backtest the row reports (``None``: all the data)."""
    optimise: str | None = None
    """In-sample timerange of the hyperopt (``None`` without ``--epochs``)."""


@dataclass(frozen=True)
class Budget:
    """The hyperopt every variant of every fold gets: same epochs, random state and loss."""

    epochs: int
    random_state: int
    loss: str
    """Folder holding the loss class (``None`` for Freqtrade's built-in losses)."""


@dataclass(frozen=True)
class Task:
    """One worker's job: one variant on one fold."""

    variant: str
    fold: Fold
    feedback: Mapping[str, Any]
    spaces: tuple[str, ...] = ()
    budget: Budget | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.variant}-fold{self.fold.index}")


def parse_range(text: str | None, option: str) -> tuple[datetime | None, datetime | None]:
    """Start and end of a Freqtrade timerange (either may be open), or an error naming the
    option: Freqtrade's own parser, so that every format it accepts is accepted here."""
    from freqtrade.configuration import TimeRange
    from freqtrade.exceptions import ConfigurationError

    try:
        parsed = TimeRange.parse_timerange(text)
    except ConfigurationError as error:
        raise ConfigError(f"{option} {text!r}: {error}") from None
    start = datetime.fromtimestamp(parsed.startts, UTC) if parsed.starttype else None
    end = datetime.fromtimestamp(parsed.stopts, UTC) if parsed.stoptype else None
    return start, end


def make_folds(timerange: str | None, oos_timerange: str | None, folds: int,
               epochs: int | None) -> list[Fold]:
    """The folds for these options, or a ``ConfigError`` naming the option that is wrong."""
    if epochs is None:
        if oos_timerange is not None:
            raise ConfigError("--oos-timerange needs --epochs N: without a hyperopt there is "
                              "nothing to evaluate out of sample (use --timerange).")
        if folds == 1:
            return [Fold(0, timerange)]
        start, end = _closed(timerange, "--timerange", f"--folds {folds}")
        return [Fold(i, _span(a, b)) for i, (a, b) in enumerate(_split(start, end, folds))]
    if oos_timerange is None:
        raise ConfigError("--epochs needs --oos-timerange START-END: the range after "
                          "--timerange on which each variant's best parameters are evaluated.")
    start, end = _closed(timerange, "--timerange", "--epochs")
    oos_start, oos_end = parse_range(oos_timerange, "--oos-timerange")
    if oos_start is None or oos_start < end:
        raise ConfigError(f"--oos-timerange {oos_timerange!r} must start at or after the end "
                          f"of --timerange {timerange!r}: out of sample means after the "
                          "in-sample range.")
    split = _split(start, end, folds)
    last_start, last_end = split[-1]  # the boundary candle, if shared, is out of sample:
    split[-1] = (last_start, min(last_end, oos_start - timedelta(seconds=1)))
    parts = [_span(a, b) for a, b in split]
    evaluated = [*parts[1:], oos_timerange]
    return [Fold(i, evaluated[i], parts[i]) for i in range(folds)]


def _closed(text: str | None, option: str, needed_by: str) -> tuple[datetime, datetime]:
    start, end = parse_range(text, option)
    if start is None or end is None:
        raise ConfigError(f"{needed_by} needs {option} with a start and an end "
                          f"(START-END, e.g. 20240101-20240301), got {text!r}.")
    return start, end


def _split(start: datetime, end: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """``count`` consecutive parts of equal length; each but the last ends one second before
    the next starts, so no candle is in two parts."""
    step = (end - start) / count
    if step < timedelta(hours=1):
        raise ConfigError(f"--folds {count} cuts --timerange into parts shorter than an hour; "
                          "use fewer folds or a longer range.")
    bounds = [start + step * i for i in range(count)] + [end]
    bounds = [b.replace(microsecond=0) for b in bounds]
    return [(a, b - timedelta(seconds=1) if i < count - 1 else b)
            for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))]


def _span(start: datetime, end: datetime) -> str:
    return f"{_stamp(start)}-{_stamp(end)}"


def _stamp(moment: datetime) -> str:
    """The shortest Freqtrade timerange part for ``moment`` (a date when it is midnight)."""
    if moment.time() == datetime.min.time():
        return moment.strftime("%Y%m%d")
    return moment.strftime("%Y%m%dT%H%M%S")


def variant_spaces(available: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Hyperopt spaces per variant, from the spaces the strategy has parameters in.

    The primary variant tunes the strategy's own spaces (``buy`` for the sample strategy);
    the feedback variants tune those plus ``feedback``: the gate gets the same budget on top
    of the same primary search. A strategy without parameters of its own tunes
    ``roi stoploss``, which every strategy has.
    """
    spaces = set(available)
    own = tuple(sorted(spaces - {FEEDBACK_SPACE})) or FALLBACK_SPACES
    gated = own + ((FEEDBACK_SPACE,) if FEEDBACK_SPACE in spaces else ())
    return {name: own if not feedback["enabled"] else gated
            for name, feedback in VARIANTS.items()}


def hyperopt_loss() -> str:
    """``FeedbackHyperOptLoss`` when the package ships it, else Freqtrade's
    ``SharpeHyperOptLoss``: the loss that knows about the learner is preferred, but the
    comparison must not depend on it."""
    return DEFAULT_LOSS if loss_folder(FEEDBACK_LOSS) is None else FEEDBACK_LOSS


def loss_folder(loss: str) -> Path | None:
    """Where Freqtrade finds ``loss``: this package's folder for ``FeedbackHyperOptLoss``
    (looked up by the process that runs the hyperopt: a cluster's worker may have the package
    elsewhere), ``None`` for Freqtrade's own losses."""
    spec = importlib.util.find_spec("freqtrade_feedback.hyperopt_loss")
    if loss != FEEDBACK_LOSS or spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def make_tasks(folds: Iterable[Fold], spaces: Mapping[str, tuple[str, ...]],
               budget: Budget | None) -> list[Task]:
    """Every variant on every fold, fold by fold (the order of the table and the CSV)."""
    return [Task(name, fold, feedback, spaces[name] if budget else (), budget)
            for fold in folds for name, feedback in VARIANTS.items()]
