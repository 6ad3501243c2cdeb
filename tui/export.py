"""Export a QueryResult to CSV or Parquet (core-independent; pyarrow imported lazily)."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from lakehouse_core.models import QueryResult

ExportFormat = Literal["csv", "parquet"]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value


def export_result(result: QueryResult, path: Path, fmt: ExportFormat) -> int:
    """Write every fetched row of ``result`` to ``path``; return the number of rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(result.columns)
            writer.writerows(result.rows)
        return result.row_count
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(zip(*result.rows, strict=True)) if result.rows else [() for _ in result.columns]
    arrays = []
    for values in columns:
        try:
            arrays.append(pa.array(list(values)))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays.append(pa.array([None if v is None else str(_plain(v)) for v in values]))
    table = pa.Table.from_arrays(arrays, names=list(result.columns))
    pq.write_table(table, path)
    return result.row_count
