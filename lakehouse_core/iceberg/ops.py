"""Catalog-agnostic Iceberg operations: lookup, time travel, schema evolution, stats, pruning, diff, refs.

Everything takes a pyiceberg ``Catalog``/``Table`` so it runs the same on the embedded SqlCatalog
and on a REST catalog (Nessie) with S3 storage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
)

from lakehouse_core.errors import ConflictError, LakehouseError, NotFoundError
from lakehouse_core.models import DataFileInfo, PartitionStat, RefInfo, ScanPlan, SnapshotDiff, TableRef

from .convert import (
    arrow_rows,
    datetime_to_ms,
    field_infos,
    ms_to_datetime,
    partition_fields,
    partition_label,
    ref_infos,
    schema_versions,
    snapshot_info,
    table_detail,
)

logger = logging.getLogger(__name__)

__all__ = [
    "add_column", "create_ref", "data_files", "diff_snapshots", "field_infos", "load_table",
    "no_snapshot_at", "partition_fields", "partition_stats", "read_as_of", "ref_infos", "resolve_snapshot",
    "scan_plan", "schema_versions", "snapshot_info", "table_detail",
]

ALWAYS_TRUE = AlwaysTrue()
_NO_AUTOLOAD: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
}
_TYPES: dict[str, IcebergType] = {
    "string": StringType(), "int": IntegerType(), "integer": IntegerType(), "long": LongType(),
    "bigint": LongType(), "double": DoubleType(), "float": FloatType(), "boolean": BooleanType(),
    "date": DateType(), "timestamp": TimestampType(),
}


def as_identifier(table: TableRef | str) -> str:
    """``namespace.table`` text of a TableRef or string."""
    return table.identifier if isinstance(table, TableRef) else table


def load_table(catalog: Catalog, table: TableRef | str) -> Table:
    """Load a table; NotFoundError when it (or its namespace) does not exist."""
    ident = as_identifier(table)
    try:
        return catalog.load_table(ident)
    except (NoSuchTableError, NoSuchNamespaceError) as exc:
        raise NotFoundError(f"table {ident} does not exist") from exc


def resolve_snapshot(
    table: Table,
    *,
    snapshot_id: int | None = None,
    ref: str | None = None,
    timestamp: datetime | None = None,
    name: str = "",
) -> Snapshot | None:
    """The snapshot selected by id, ref name or point in time (current when none given).

    Returns None only for the current state of a table without snapshots, or a timestamp older
    than the table's first snapshot. Raises NotFoundError for an unknown id or ref.
    """
    label = name or table.name()[-1]
    if snapshot_id is not None:
        snap = table.snapshot_by_id(snapshot_id)
        if snap is None:
            raise NotFoundError(f"snapshot {snapshot_id} does not exist in table {label}")
        return snap
    if ref:
        snap = table.snapshot_by_name(ref)
        if snap is None:
            raise NotFoundError(f"ref {ref!r} does not exist in table {label}")
        return snap
    if timestamp is not None:
        return table.snapshot_as_of_timestamp(datetime_to_ms(timestamp), inclusive=True)
    return table.current_snapshot()


def no_snapshot_at(tables: Mapping[str, Table], timestamp: datetime) -> NotFoundError | None:
    """The error for a point in time before every one of ``tables`` (name -> table) had a snapshot:
    there is nothing to read then, which is not an empty result. None when one of them has a snapshot
    at or before ``timestamp`` (the others read as empty: they did not exist yet), or when none has
    any snapshot (empty at any time)."""
    ms = datetime_to_ms(timestamp)
    firsts: dict[str, int] = {}
    for name, table in tables.items():
        snapshots = table.snapshots()
        if not snapshots:
            continue
        if table.snapshot_as_of_timestamp(ms, inclusive=True) is not None:
            return None
        firsts[name] = min(s.timestamp_ms for s in snapshots)
    if not firsts:
        return None
    name, first = min(firsts.items(), key=lambda item: item[1])
    where = name if len(firsts) == 1 else f"any of {', '.join(sorted(firsts))}"
    first_text = ms_to_datetime(first).isoformat(timespec="seconds")
    which = "its first snapshot" if len(firsts) == 1 else f"the first snapshot (of {name})"
    return NotFoundError(
        f"no snapshot at or before {timestamp.isoformat()} in {where}: {which} is from {first_text}"
    )


def read_as_of(
    table: Table,
    *,
    snapshot_id: int | None = None,
    timestamp: datetime | None = None,
    ref: str | None = None,
    row_filter: str | BooleanExpression = ALWAYS_TRUE,
    limit: int | None = None,
) -> pa.Table:
    """Rows of the table as of a snapshot id / point in time / ref (current when none given).

    A point in time before the first snapshot yields an empty table with the current schema. An old
    snapshot is read with the schema it was written with (time-travel semantics).
    """
    if snapshot_id is None and ref is None and timestamp is None:  # current state, current schema
        return table.scan(row_filter=row_filter, limit=limit).to_arrow()
    snap = resolve_snapshot(table, snapshot_id=snapshot_id, ref=ref, timestamp=timestamp)
    if snap is None:
        return table.schema().as_arrow().empty_table()
    return table.scan(snapshot_id=snap.snapshot_id, row_filter=row_filter, limit=limit).to_arrow()


def parse_type(text: str) -> IcebergType:
    """Iceberg type of a name like ``string``, ``long``, ``decimal(12,2)``."""
    key = text.strip().lower().replace(" ", "")
    if key.startswith("decimal(") and key.endswith(")"):
        precision, scale = key[len("decimal("):-1].split(",")
        return DecimalType(int(precision), int(scale))
    if key not in _TYPES:
        raise LakehouseError(f"unsupported column type {text!r}; use one of {', '.join(sorted(_TYPES))}")
    return _TYPES[key]


def add_column(table: Table, name: str, field_type: IcebergType | str, doc: str = "") -> int:
    """Add an optional column (metadata only; old snapshots/queries keep working). Returns the schema id."""
    if _has_field(table, name):
        raise ConflictError(f"column {name} already exists in {'.'.join(table.name())}")
    iceberg_type = parse_type(field_type) if isinstance(field_type, str) else field_type
    with table.update_schema() as update:
        update.add_column(name, iceberg_type, doc or None)
    return table.schema().schema_id


def _has_field(table: Table, name: str) -> bool:
    return any(f.name.lower() == name.lower() for f in table.schema().fields)


def partition_stats(table: Table, snapshot_id: int | None = None) -> list[PartitionStat]:
    """Record/file counts and bytes per partition (one "" row when unpartitioned), sorted by label."""
    snap = resolve_snapshot(table, snapshot_id=snapshot_id)
    if snap is None:
        return []
    data = table.inspect.partitions(snapshot_id=snap.snapshot_id).to_pylist()
    stats = [
        PartitionStat(
            partition=partition_label(row.get("partition")),
            record_count=row["record_count"],
            file_count=row["file_count"],
            size_bytes=row["total_data_file_size_in_bytes"],
        )
        for row in data
    ]
    return sorted(stats, key=lambda s: s.partition)


def data_files(table: Table, snapshot_id: int | None = None) -> list[DataFileInfo]:
    """Live data files of a snapshot (current when None), sorted by partition then path."""
    snap = resolve_snapshot(table, snapshot_id=snapshot_id)
    if snap is None:
        return []
    rows = table.inspect.files(snapshot_id=snap.snapshot_id).select(
        ["content", "file_path", "file_format", "partition", "record_count", "file_size_in_bytes"]
    ).to_pylist()
    files = [
        DataFileInfo(
            path=r["file_path"],
            file_format=str(r["file_format"]),
            partition=partition_label(r.get("partition")),
            record_count=r["record_count"],
            size_bytes=r["file_size_in_bytes"],
        )
        for r in rows
        if r["content"] == 0
    ]
    return sorted(files, key=lambda f: (f.partition, f.path))


def scan_plan(
    table: Table, row_filter: str | BooleanExpression, *, snapshot_id: int | None = None, name: str = ""
) -> ScanPlan:
    """Data files a filtered scan reads after partition + metrics pruning, versus all files."""
    snap = resolve_snapshot(table, snapshot_id=snapshot_id)
    label = name or ".".join(table.name()[1:] if len(table.name()) > 2 else table.name())
    text = row_filter if isinstance(row_filter, str) else repr(row_filter)
    if snap is None:
        return ScanPlan(label, text, 0, 0, 0)
    try:
        scanned = list(table.scan(row_filter=row_filter, snapshot_id=snap.snapshot_id).plan_files())
    except (ValueError, TypeError) as exc:  # pyiceberg parse/bind errors
        raise LakehouseError(f"invalid filter {text!r}: {exc}", title="Invalid filter") from exc
    total = list(table.scan(snapshot_id=snap.snapshot_id).plan_files())
    return ScanPlan(
        table=label,
        filter=text,
        files_total=len(total),
        files_scanned=len(scanned),
        rows_scanned=sum(t.file.record_count for t in scanned),
    )


def _task_key(task: FileScanTask) -> tuple[str, frozenset[str]]:
    return task.file.file_path, frozenset(d.file_path for d in task.delete_files)


def _read_tasks(table: Table, schema_id: int, tasks: list[FileScanTask]) -> pa.Table:
    # imported here: pyiceberg.io.pyarrow imports pyarrow.dataset, which imports pandas (40 MB of RSS in
    # every process that only browses or queries)
    from pyiceberg.io.pyarrow import ArrowScan

    schema = table.schemas()[schema_id]
    if not tasks:
        return schema.as_arrow().empty_table()
    return ArrowScan(table.metadata, table.io, schema, AlwaysTrue()).to_table(tasks)


def diff_snapshots(
    table: Table, from_snapshot: int, to_snapshot: int, *, sample: int = 10, name: str = ""
) -> SnapshotDiff:
    """Rows added/removed between two snapshots, compared by the full row (multiset semantics).

    Files live in both snapshots cancel out, so only the files that differ are read. Both sides are
    projected on the ``to_snapshot`` schema (a column added in between reads as null on old rows).
    """
    label = name or ".".join(table.name()[-2:])
    old = resolve_snapshot(table, snapshot_id=from_snapshot, name=label)
    new = resolve_snapshot(table, snapshot_id=to_snapshot, name=label)
    assert old is not None and new is not None
    old_tasks = list(table.scan(snapshot_id=old.snapshot_id).plan_files())
    new_tasks = list(table.scan(snapshot_id=new.snapshot_id).plan_files())
    old_keys = {_task_key(t) for t in old_tasks}
    new_keys = {_task_key(t) for t in new_tasks}
    schema_id = new.schema_id if new.schema_id is not None else table.schema().schema_id
    before = _read_tasks(table, schema_id, [t for t in old_tasks if _task_key(t) not in new_keys])
    after = _read_tasks(table, schema_id, [t for t in new_tasks if _task_key(t) not in old_keys])
    con = duckdb.connect(config=_NO_AUTOLOAD)
    try:
        con.register("old_rows", before)
        con.register("new_rows", after)
        for target, left, right in (("added", "new_rows", "old_rows"), ("removed", "old_rows", "new_rows")):
            con.execute(f"CREATE TEMP TABLE {target} AS FROM {left} EXCEPT ALL FROM {right}")
        counts = con.execute("SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM removed)").fetchone()
        assert counts is not None
        n = int(sample)
        added_sample = con.execute(f"SELECT * FROM added ORDER BY ALL LIMIT {n}").to_arrow_table()
        removed_sample = con.execute(f"SELECT * FROM removed ORDER BY ALL LIMIT {n}").to_arrow_table()
    finally:
        con.close()
    return SnapshotDiff(
        table=label,
        from_snapshot=from_snapshot,
        to_snapshot=to_snapshot,
        added_count=int(counts[0]),
        removed_count=int(counts[1]),
        columns=tuple(after.column_names),
        added_sample=arrow_rows(added_sample),
        removed_sample=arrow_rows(removed_sample),
    )


def create_ref(
    table: Table, name: str, kind: str, *, snapshot_id: int | None = None, identifier: str = ""
) -> RefInfo:
    """Create an Iceberg branch or tag of ``table`` at a snapshot (current when None)."""
    label = identifier or ".".join(table.name()[-2:])
    if kind not in ("branch", "tag"):
        raise LakehouseError(f"ref kind must be 'branch' or 'tag', got {kind!r}")
    if name in table.refs():
        raise ConflictError(f"ref {name!r} already exists in table {label}")
    snap = resolve_snapshot(table, snapshot_id=snapshot_id, name=label)
    if snap is None:
        raise NotFoundError(f"table {label} has no snapshot to create {kind} {name!r} on")
    manage = table.manage_snapshots()
    if kind == "tag":
        manage.create_tag(snapshot_id=snap.snapshot_id, tag_name=name).commit()
    else:
        manage.create_branch(snapshot_id=snap.snapshot_id, branch_name=name).commit()
    logger.info("created %s %s on %s at snapshot %d", kind, name, label, snap.snapshot_id)
    return next(r for r in ref_infos(table, label) if r.name == name)
