"""Conversion of pyiceberg / arrow objects to the frozen dataclasses of lakehouse_core.models."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
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


def live_rows(properties: Mapping[str, Any]) -> int:
    """Live rows of a snapshot summary: its data files' records minus their position deletes."""
    records = int(properties.get("total-records", 0) or 0)
    return records - int(properties.get("total-position-deletes", 0) or 0)


def table_detail(table: Table, ref: TableRef) -> TableDetail:
    """TableDetail of the table's current state."""
    snap = table.current_snapshot()
    rows = 0
    if snap is not None and snap.summary is not None:
        rows = live_rows(snap.summary.additional_properties)
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


def arrow_rows(table: pa.Table) -> tuple[tuple[Any, ...], ...]:
    """Rows of a small arrow table (a diff sample) as tuples, converted column by column."""
    return tuple(zip(*(column.to_pylist() for column in table.columns), strict=True))


def arrow_type_names(schema: pa.Schema) -> tuple[str, ...]:
    """Type names of an arrow schema's columns."""
    return tuple(str(f.type) for f in schema)
