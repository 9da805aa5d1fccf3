"""The CSV files the commands write (``compare.csv``, ``lab.csv``): one writer for all.

Standard library only, so the lab (which uses the core alone) and the face share it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


def write_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], path: Path) -> Path:
    """Write ``rows`` under the header ``columns`` to ``path`` (folders are created) and
    return it. Keys outside ``columns`` are left out; a missing key or ``None`` is an empty
    cell (a column a row does not fill).

    >>> import tempfile
    >>> out = write_csv([{"a": 1, "b": None, "x": 0}, {"a": 2.5}], ("a", "b"),
    ...                 Path(tempfile.mkdtemp()) / "sub" / "t.csv")
    >>> out.read_text().splitlines()
    ['a,b', '1,', '2.5,']
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


__all__ = ["write_csv"]
