"""Phase 2 of an incremental phase-1 run: upsert each Iceberg table instead of rewriting it.

An incremental phase-1 run (``pipeline/incremental.py``) records under ``<run dir>/delta/`` what it
changed against its base run: the new bronze rows, the base rows an upsert replaced, and the silver
and gold rows recomputed (removed and added). When the published Iceberg tables were loaded from that
base run, each table gets ONE snapshot (merge-on-read, ``iceberg/row_delta.py``) that
- deletes the replaced rows with position-delete files: only the data files of the partitions those
  rows were in are planned (from the manifests), and only their key columns read; no data file is
  rewritten;
- adds the new rows as new data files (one per partition).
A table the run did not change gets an empty snapshot carrying the run id (every table from one run).
Anything else (no published tables, tables from another run, a full phase-1 run) is a full load
(``promote_all``).
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.manifest import DataFile, DataFileContent
from pyiceberg.table import Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.utils.concurrent import ExecutorFactory

from lakehouse_core.errors import DataError
from lakehouse_core.faults import crash_point
from lakehouse_core.models import ProgressEvent, SnapshotRef
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline.incremental import GOLD_GROUPS, Increment, delta_paths
from lakehouse_core.pipeline.merge import replaced_parquet
from lakehouse_core.pipeline.parts import exists, read_live
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink

from .promote import (
    CHUNK_ROWS,
    PHASE,
    RUN_ID_PROPERTY,
    SOURCE_PROPERTY,
    SOURCE_RUN_PROPERTY,
    _partition_slices,
    append_rows,
    ensure_tables,
    overwrite_from_parquet,
)
from .row_delta import RowDelta, write_position_deletes
from .tables import TABLES, TableDef

logger = logging.getLogger(__name__)

KEYS = {"bronze.customers": "customer_id", "bronze.products": "product_id", "bronze.orders": "order_id",
        "silver.orders_enriched": "order_id", **{f"gold.{t}": key for t, (key, _) in GOLD_GROUPS.items()}}
"""The key each table is upserted by."""
VALID_FLAG = "valid"
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class TableChange:
    """Rows to append to a table and rows to delete from it (Parquet files; None: none)."""

    added: Path | None
    removed: Path | None


def increment_changes(run: DataPaths) -> dict[str, TableChange]:
    """What an incremental phase-1 run changed per upserted table (from its ``delta/``)."""
    delta = delta_paths(run)

    def existing(path: Path) -> Path | None:
        return path if exists(path) else None

    changes = {
        f"bronze.{t}": TableChange(existing(delta.bronze_parquet(t)), existing(replaced_parquet(delta, t)))
        for t in ("customers", "products", "orders")
    }
    changes["silver.orders_enriched"] = TableChange(
        existing(delta.silver_orders), existing(replaced_parquet(delta, "orders_enriched")))
    for t in GOLD_GROUPS:  # a run without its recomputed gold rows: gold is overwritten whole
        if exists(delta.gold_parquet(t)):
            replaced = existing(replaced_parquet(delta, f"gold_{t}"))
            changes[f"gold.{t}"] = TableChange(delta.gold_parquet(t), replaced)
    return changes


def loaded_from(table: Table, branch: str) -> str | None:
    """The phase-1 run the table's snapshot on ``branch`` was loaded from."""
    snap = table.snapshot_by_name(branch)
    return snap.summary.get(SOURCE_RUN_PROPERTY) if snap is not None and snap.summary is not None else None


def _partition_key(values: Iterable[Any]) -> tuple[Any, ...]:
    """A partition tuple with dates as days since the epoch (as manifests may or may not decode them)."""
    return tuple((v - EPOCH).days if isinstance(v, date) else v for v in values)


def _partitions_of(metadata: TableMetadata, rows: pa.Table) -> set[tuple[Any, ...]]:
    """The partition tuples (current spec) of ``rows``."""
    spec, schema = metadata.spec(), metadata.schema()
    if spec.is_unpartitioned():
        return {()}
    columns = []
    for field in spec.fields:
        source = schema.find_field(field.source_id)
        columns.append(field.transform.pyarrow_transform(source.field_type)(rows.column(source.name)))
    return {_partition_key(t) for t in zip(*(c.to_pylist() for c in columns), strict=True)}


def _plan(
    metadata: TableMetadata, table: Table, branch: str, removed: pa.Table
) -> tuple[list[DataFile], dict[tuple[Any, ...], list[DataFile]]]:
    """The live data files of ``removed``'s partitions and the position-delete files per partition,
    from the manifests of ``branch`` (matched on partition values: no expression is evaluated)."""
    snap = metadata.snapshot_by_name(branch)
    if snap is None:
        return [], {}
    wanted = _partitions_of(metadata, removed)
    data: list[DataFile] = []
    deletes: dict[tuple[Any, ...], list[DataFile]] = defaultdict(list)
    for manifest in snap.manifests(table.io):
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            f = entry.data_file
            key = _partition_key(f.partition[i] for i in range(len(metadata.spec().fields)))
            if key not in wanted:
                continue
            if f.content == DataFileContent.DATA:
                data.append(f)
            elif f.content == DataFileContent.POSITION_DELETES:
                deletes[key].append(f)
            else:
                raise DataError(f"{table.name()}: equality deletes are not supported by incremental runs")
    return data, deletes


def _removed_mask(rows: pa.Table, key: str, keys: pa.Array) -> pa.ChunkedArray:
    """Rows whose key is in ``keys`` (valid rows only where the table has quality flags: a replaced row
    was valid, and a flagged row with the same key stays)."""
    mask = pc.is_in(rows.column(key), value_set=keys)
    if "data_quality_flag" in rows.column_names:
        mask = pc.and_(mask, pc.equal(rows.column("data_quality_flag"), VALID_FLAG))
    return pc.fill_null(mask, False)


def _read_columns(table: Table, location: str, columns: list[str]) -> pa.Table:
    with table.io.new_input(location).open() as stream:
        return pq.read_table(stream, columns=columns)


def _removed_positions(
    tx: Transaction, table: Table, definition: TableDef, removed: pa.Table, branch: str
) -> dict[DataFile, pa.Array]:
    """Row numbers, per data file, of the live rows holding a key of ``removed`` (valid where flagged).

    Only files of ``removed``'s partitions are planned, and only their key (and flag) columns read;
    rows already deleted by the position deletes of their partition are not deleted again.
    """
    key = KEYS[definition.identifier]
    metadata = tx.table_metadata
    files, delete_files = _plan(metadata, table, branch, removed)
    n_fields = len(metadata.spec().fields)
    keys = pc.unique(removed.column(key).drop_null())
    columns = [key, *(["data_quality_flag"] if "data_quality_flag" in definition.arrow_schema.names else [])]
    deletes: dict[str, pa.Table] = {}

    def positions(data_file: DataFile) -> pa.Array:
        rows = _read_columns(table, data_file.file_path, columns)
        found = pc.indices_nonzero(_removed_mask(rows, key, keys)).cast(pa.int64())
        partition = _partition_key(data_file.partition[i] for i in range(n_fields))
        for delete_file in delete_files.get(partition, []) if len(found) else []:
            location = delete_file.file_path
            if location not in deletes:
                deletes[location] = _read_columns(table, location, ["file_path", "pos"])
            done = deletes[location]
            gone = done.filter(pc.equal(done.column("file_path"), data_file.file_path)).column("pos")
            found = found.filter(pc.invert(pc.is_in(found, value_set=gone.combine_chunks())))
        return found

    # each file is small (a partition's share of the table): reading them in pyiceberg's thread pool
    # overlaps their I/O and decoding (pyarrow releases the GIL)
    found = dict(zip(files, ExecutorFactory.get_or_create().map(positions, files), strict=True))
    return {f: p for f, p in found.items() if len(p)}


def upsert_from_parquet(
    table: Table,
    definition: TableDef,
    change: TableChange,
    *,
    properties: dict[str, str],
    branch: str = MAIN_BRANCH,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> SnapshotRef:
    """Delete ``change.removed``'s rows from ``table`` (position deletes) and append ``change.added``'s
    (new data files), in one snapshot."""
    task = definition.identifier
    schema = definition.arrow_schema
    added = read_live(change.added, list(schema.names)).cast(schema) if change.added else None
    removed = pq.read_table(change.removed) if change.removed else None
    progress.emit(ProgressEvent(PHASE, task, "start", 0, None, "upserting"))
    deleted = 0
    with table.transaction() as tx:
        metadata = tx.table_metadata
        producer = RowDelta(tx, table, branch=branch, snapshot_properties=properties)
        with producer:
            if removed is not None and removed.num_rows:
                positions = _removed_positions(tx, table, definition, removed, branch)
                deleted = sum(len(p) for p in positions.values())
                if deleted != removed.num_rows:
                    raise DataError(f"{task}: {removed.num_rows:,} rows to replace but {deleted:,} found in "
                                    "the table: run phase 2 with incremental runs off")
                for delete_file in write_position_deletes(table, positions, producer.commit_uuid):
                    producer.add_delete_file(delete_file)
            if cancel is not None:
                cancel.raise_if_cancelled()
            if added is not None and added.num_rows:
                if definition.partition:
                    added = added.sort_by([(c, "ascending") for c in definition.partition_columns])
                counter = itertools.count(0)
                # an increment is small: one call writes all its partitions' files in parallel
                pieces = [added] if added.num_rows <= CHUNK_ROWS else _partition_slices(metadata, added)
                append_rows(producer, metadata, table, pieces, counter)
            if cancel is not None:
                cancel.raise_if_cancelled()
    # the commit left the table at its new metadata (pyiceberg's _do_commit): no reload
    snap = table.snapshot_by_name(branch)
    assert snap is not None
    n_added = added.num_rows if added is not None else 0
    message = f"+{n_added:,} -{deleted:,} rows (position deletes), snapshot {snap.snapshot_id}"
    progress.emit(ProgressEvent(PHASE, task, "finish", n_added, n_added, message))
    logger.info("%s: %s", task, message)
    return SnapshotRef(task, snap.snapshot_id, snap.summary.operation.value if snap.summary else "")


def promote_increment(
    catalog: Catalog,
    root: DataPaths,
    source_run: str,
    increment: Increment,
    *,
    run_id: str,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    branch: str | None = None,
    properties: dict[str, str] | None = None,
) -> list[SnapshotRef] | None:
    """Upsert every table with what incremental phase-1 run ``source_run`` changed, when every table
    was loaded from its base run; None (nothing written) otherwise: the caller loads in full."""
    if increment.mode != "incremental" or increment.base_run is None:
        return None
    ref = branch or MAIN_BRANCH
    tables = ensure_tables(catalog)
    stale = [i for i, t in tables.items() if loaded_from(t, ref) != increment.base_run]
    if stale:
        logger.info("full load: %s not loaded from phase-1 run %s", ", ".join(stale), increment.base_run)
        return None
    run = root.for_run(source_run)
    changes = increment_changes(run)
    refs: list[SnapshotRef] = []
    for definition in TABLES:
        if cancel is not None:
            cancel.raise_if_cancelled()
        source = definition.source_path(run)
        props = {**(properties or {}), RUN_ID_PROPERTY: run_id, SOURCE_PROPERTY: str(source)}
        table = tables[definition.identifier]
        change = changes.get(definition.identifier)
        if change is None:
            refs.append(overwrite_from_parquet(table, definition, source, properties=props, branch=ref,
                                               progress=progress, cancel=cancel))
        else:
            refs.append(upsert_from_parquet(table, definition, change, properties=props, branch=ref,
                                            progress=progress, cancel=cancel))
        crash_point(f"phase2.staged.{definition.identifier}")
    return refs
