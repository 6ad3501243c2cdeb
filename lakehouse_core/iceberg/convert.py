"""Conversion of pyiceberg / arrow objects to the frozen dataclasses of lakehouse_core.models."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRefType
from pyiceberg.table.snapshots import Snapshot

from lakehouse_core.models import (
    FieldInfo,
    PartitionFieldInfo,
    RefInfo,
    SchemaVersion,
    SnapshotInfo,
    TableDetail,
    TableRef,
)


def ms_to_datetime(ms: int) -> datetime:
    """Iceberg epoch milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(value: datetime) -> int:
    """Epoch milliseconds of ``value`` (a naive datetime is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def snapshot_info(snapshot: Snapshot) -> SnapshotInfo:
    """SnapshotInfo of a pyiceberg snapshot (summary includes custom properties like lakehouse.run-id)."""
    summary: dict[str, str] = {}
    operation = ""
    if snapshot.summary is not None:
        operation = snapshot.summary.operation.value
        summary = {str(k): str(v) for k, v in snapshot.summary.additional_properties.items()}
    return SnapshotInfo(
        snapshot_id=snapshot.snapshot_id,
        parent_id=snapshot.parent_snapshot_id,
        committed_at=ms_to_datetime(snapshot.timestamp_ms),
        operation=operation,
        summary=summary,
    )


def field_infos(schema: Schema) -> tuple[FieldInfo, ...]:
    """Top-level columns of ``schema``."""
    return tuple(
        FieldInfo(f.field_id, f.name, str(f.field_type), f.required, f.doc or "") for f in schema.fields
    )


def schema_versions(table: Table) -> list[SchemaVersion]:
    """Every schema of the table, oldest first."""
    current = table.schema().schema_id
    return [
        SchemaVersion(sid, field_infos(schema), sid == current)
        for sid, schema in sorted(table.schemas().items())
    ]


def partition_fields(table: Table) -> tuple[PartitionFieldInfo, ...]:
    """Fields of the current partition spec (source column, transform, partition name)."""
    schema = table.schema()
    return tuple(
        PartitionFieldInfo(schema.find_column_name(f.source_id) or str(f.source_id), str(f.transform), f.name)
        for f in table.spec().fields
    )


def ref_infos(table: Table, identifier: str) -> list[RefInfo]:
    """Iceberg branches and tags of one table, main first then by name."""
    refs = [
        RefInfo(
            name=name,
            kind="tag" if ref.snapshot_ref_type == SnapshotRefType.TAG else "branch",
            hash=str(ref.snapshot_id),
            table=identifier,
            is_default=name == MAIN_BRANCH,
        )
        for name, ref in table.refs().items()
    ]
    return sorted(refs, key=lambda r: (not r.is_default, r.name))


def table_detail(table: Table, ref: TableRef) -> TableDetail:
    """TableDetail of the table's current state."""
    snap = table.current_snapshot()
    rows = 0
    if snap is not None and snap.summary is not None:
        rows = int(snap.summary.additional_properties.get("total-records", 0) or 0)
    return TableDetail(
        table=ref,
        location=table.location(),
        format_version=table.format_version,
        current_snapshot_id=snap.snapshot_id if snap else None,
        fields=field_infos(table.schema()),
        partition_spec=partition_fields(table),
        properties=dict(table.properties),
        row_count=rows,
        metadata_location=table.metadata_location,
    )


def partition_label(partition: Mapping[str, Any] | None) -> str:
    """``a=1/b=x`` label of a partition struct ("" when unpartitioned)."""
    if not partition:
        return ""
    parts = []
    for key, value in partition.items():
        if isinstance(value, (date, datetime)):
            value = value.isoformat()
        parts.append(f"{key}={'null' if value is None else value}")
    return "/".join(parts)


_DICT_MIN_ROWS = 4096


def _fast_values(column: pa.Array) -> list[Any]:
    """``to_pylist`` equivalent with C-speed paths for dates, naive timestamps and decimals."""
    kind = column.type
    if pa.types.is_date32(kind) or (
        pa.types.is_timestamp(kind) and kind.tz is None and kind.unit in ("s", "ms", "us")
    ):
        out: list[Any] = column.to_numpy(zero_copy_only=False).astype(object).tolist()
        if column.null_count:
            for i in np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False)):
                out[i] = None
        return out
    if pa.types.is_decimal(kind):
        text = pc.cast(column, pa.string()).to_pylist()
        if column.null_count:
            return [None if v is None else Decimal(v) for v in text]
        return list(map(Decimal, text))
    return column.to_pylist()


def _column_values(column: pa.Array | pa.ChunkedArray) -> list[Any]:
    """Python values of one column, fast for large temporal/decimal/string columns: low-cardinality
    columns convert each distinct value once and fan out by index; others use C-speed converters."""
    kind = column.type
    if (
        len(column) < _DICT_MIN_ROWS
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_nested(kind)
    ):
        return column.to_pylist()
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    try:
        encoded = pc.dictionary_encode(column, null_encoding="encode")
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return _fast_values(column)
    dictionary = encoded.dictionary
    if len(dictionary) * 2 > len(column):
        return _fast_values(column)
    values = np.empty(len(dictionary), dtype=object)
    values[:] = _fast_values(dictionary)
    result: list[Any] = values[encoded.indices.to_numpy(zero_copy_only=False)].tolist()
    return result


ROWS_PER_SLICE = 32_768


def arrow_rows(table: pa.Table | pa.RecordBatch) -> tuple[tuple[Any, ...], ...]:
    """Rows of an arrow table as tuples, converted column by column (no per-row Python dicts)."""
    if table.num_columns == 0:
        return tuple(() for _ in range(table.num_rows))
    enabled = gc.isenabled()
    gc.disable()  # millions of new tuples would trigger repeated full collections
    try:
        rows: list[tuple[Any, ...]] = []
        # slice by slice: each conversion is one C call holding the GIL, so a 1M-row result in one
        # piece would stall every other thread (the TUI's event loop) for ~100 ms
        for offset in range(0, table.num_rows, ROWS_PER_SLICE):
            part = table.slice(offset, ROWS_PER_SLICE)
            rows.extend(zip(*[_column_values(col) for col in part.columns], strict=True))
        return tuple(rows)
    finally:
        if enabled:
            gc.enable()


def arrow_type_names(schema: pa.Schema) -> tuple[str, ...]:
    """Type names of an arrow schema's columns."""
    return tuple(str(f.type) for f in schema)
