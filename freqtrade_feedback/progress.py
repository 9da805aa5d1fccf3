"""The progress bar of the long commands (``lab``, ``replay``), on stderr: a label, the bar,
done of total, the command's own columns, then elapsed and remaining time."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(label: str, *after_count: str, console: Console,
                 transient: bool = False) -> Progress:
    """A rich ``Progress`` (use it as a context manager); ``label`` and ``after_count`` are
    ``TextColumn`` formats (``"{task.description}"``, ``"{task.fields[date]}"``, plain text)."""
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                    *(TextColumn(text) for text in after_count), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, transient=transient)


__all__ = ["progress_bar"]
