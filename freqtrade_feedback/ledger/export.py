"""Export the ledger's tables to files, one per table, for reports and notebooks.

Times keep their UTC zone; JSON columns (features, detector values) are written as JSON text,
because their keys differ from row to row and a Parquet struct would need one fixed set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pandas as pd
from sqlalchemy import JSON, Connection, select

from freqtrade_feedback.ledger.tables import Base
from freqtrade_feedback.validation import invalid

FORMATS = ("csv", "parquet")


def _json_text(value: object) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def export_tables(
    conn: Connection, folder: Path, format: Literal["csv", "parquet"] = "csv"
) -> list[Path]:
    """Write every ledger table to ``folder/<table>.<format>``; the paths, in table order."""
    if format not in FORMATS:
        raise invalid("Ledger.export", "format", f"one of {FORMATS}", format)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in Base.metadata.sorted_tables:
        frame = pd.read_sql(select(table), conn)
        for column in table.columns:
            if isinstance(column.type, JSON):
                frame[column.name] = frame[column.name].map(_json_text)
        path = folder / f"{table.name}.{format}"
        if format == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        paths.append(path)
    return paths


__all__ = ["FORMATS", "export_tables"]
