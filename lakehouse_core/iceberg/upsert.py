"""Phase 2 of an incremental phase-1 run: upsert each Iceberg table instead of rewriting it.

An incremental phase-1 run (``pipeline/incremental.py``) records under ``<run dir>/delta/`` what it
changed against its base run: the new bronze rows, the base rows an upsert replaced, and the silver
rows recomputed (removed and added). When the published Iceberg tables were loaded from that base run,
each bronze and silver table gets ONE overwrite snapshot that
- deletes the replaced rows: only the data files of the partitions those rows were in are planned
  (from the manifests) and read in one scan; the files holding one of their keys are replaced by
  their other rows (copy-on-write), written together with
- the new rows, as new data files (one per partition).
A table the run did not change gets an empty snapshot carrying the run id (every table from one run).
Gold tables are small: they are overwritten whole, as in a full load. Anything else (no published
tables, tables from another run, a full phase-1 run) is a full load (``promote_all``).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, In
from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table, Transaction
from pyiceberg.table.refs import MAIN_BRANCH

from lakehouse_core.errors import DataError
from lakehouse_core.faults import crash_point
from lakehouse_core.models import ProgressEvent, SnapshotRef
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline.incremental import Increment, delta_paths
from lakehouse_core.pipeline.merge import replaced_parquet
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink

from .promote import (
    PHASE,
    RUN_ID_PROPERTY,
    SOURCE_PROPERTY,
    SOURCE_RUN_PROPERTY,
    _partition_slices,
    ensure_tables,
    overwrite_from_parquet,
)
from .tables import TABLES, TableDef

logger = logging.getLogger(__name__)

KEYS = {"bronze.customers": "customer_id", "bronze.products": "product_id", "bronze.orders": "order_id",
        "silver.orders_enriched": "order_id"}
"""The tables upserted by key; the others (gold) are overwritten whole."""
VALID_FLAG = "valid"


@dataclass(frozen=True)
class TableChange:
    """Rows to append to a table and rows to delete from it (Parquet files; None: none)."""

    added: Path | None
    removed: Path | None


def increment_changes(run: DataPaths) -> dict[str, TableChange]:
    """What an incremental phase-1 run changed per upserted table (from its ``delta/``)."""
    delta = delta_paths(run)

    def existing(path: Path) -> Path | None:
        return path if path.is_file() else None

    changes = {
        f"bronze.{t}": TableChange(existing(delta.bronze_parquet(t)), existing(replaced_parquet(delta, t)))
        for t in ("customers", "products", "orders")
    }
    changes["silver.orders_enriched"] = TableChange(
        existing(delta.silver_orders), existing(replaced_parquet(delta, "orders_enriched")))
    return changes


def loaded_from(table: Table, branch: str) -> str | None:
    """The phase-1 run the table's snapshot on ``branch`` was loaded from."""
    snap = table.snapshot_by_name(branch)
    return snap.summary.get(SOURCE_RUN_PROPERTY) if snap is not None and snap.summary is not None else None


def _partition_filter(definition: TableDef, removed: pa.Table) -> BooleanExpression:
    """The partitions ``removed``'s rows are in (planned from manifests: no data file is read)."""
    terms: list[BooleanExpression] = []
    for column, _ in definition.partition:
        values = pc.unique(removed.column(column).drop_null()).to_pylist()
        literals = {v.isoformat() if hasattr(v, "isoformat") else v for v in values}
        terms.append(In(column, literals))  # type: ignore[call-arg, arg-type]  # pydantic-typed __new__
    return reduce(And, terms) if terms else AlwaysTrue()


def _removed_mask(rows: pa.Table, key: str, keys: pa.Array) -> pa.ChunkedArray:
    """Rows whose key is in ``keys`` (valid rows only where the table has quality flags: a replaced row
    was valid, and a flagged row with the same key stays)."""
    mask = pc.is_in(rows.column(key), value_set=keys)
    if "data_quality_flag" in rows.column_names:
        mask = pc.and_(mask, pc.equal(rows.column("data_quality_flag"), VALID_FLAG))
    return pc.fill_null(mask, False)


def _without_removed(
    tx: Transaction, table: Table, definition: TableDef, removed: pa.Table, branch: str
) -> tuple[list[DataFile], pa.Table]:
    """The data files holding a row of ``removed`` (same key; valid where flagged) and their other rows.

    Only files of ``removed``'s partitions are planned; they are read in one scan (files in plan order,
    each ``record_count`` rows: copy-on-write files carry no delete files), and the kept rows are
    returned to be written with the new rows.
    """
    metadata = tx.table_metadata
    key = KEYS[definition.identifier]
    scan = tx._scan(row_filter=_partition_filter(definition, removed))
    if branch in metadata.refs:
        scan = scan.use_ref(branch)
    tasks = list(scan.plan_files())
    reader = ArrowScan(table_metadata=metadata, io=table.io, projected_schema=metadata.schema(),
                       row_filter=AlwaysTrue())
    rows = reader.to_table(tasks=tasks).select(definition.arrow_schema.names).cast(definition.arrow_schema)
    if rows.num_rows != sum(t.file.record_count for t in tasks):
        raise DataError(f"{definition.identifier}: scanned rows differ from the files' record counts "
                        "(delete files?): run phase 2 with incremental runs off")
    mask = _removed_mask(rows, key, pc.unique(removed.column(key).drop_null()))
    stale: list[DataFile] = []
    kept: list[pa.Table] = []
    start = 0
    for task in tasks:
        end = start + task.file.record_count
        part = mask.slice(start, end - start)
        if pc.any(part).as_py():
            stale.append(task.file)
            kept.append(rows.slice(start, end - start).filter(pc.invert(part)))
        start = end
    return stale, pa.concat_tables(kept) if kept else rows.schema.empty_table()


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
    """Delete ``change.removed``'s rows from ``table`` and append ``change.added``'s, in one snapshot."""
    task = definition.identifier
    schema = definition.arrow_schema
    added = pq.read_table(change.added, columns=schema.names).cast(schema) if change.added else None
    removed = pq.read_table(change.removed) if change.removed else None
    progress.emit(ProgressEvent(PHASE, task, "start", 0, None, "upserting"))
    rewritten = 0
    with table.transaction() as tx:
        metadata = tx.table_metadata
        with tx.update_snapshot(snapshot_properties=properties, branch=branch).overwrite() as producer:
            counter = itertools.count(0)

            def write(df: pa.Table) -> None:
                for data_file in _dataframe_to_data_files(
                    table_metadata=metadata, df=df, io=table.io, write_uuid=producer.commit_uuid,
                    counter=counter,
                ):
                    producer.append_data_file(data_file)

            rows = [] if added is None else [added]
            if removed is not None and removed.num_rows:
                stale, kept = _without_removed(tx, table, definition, removed, branch)
                for data_file in stale:
                    producer.delete_data_file(data_file)
                rewritten = len(stale)
                rows.append(kept)
            if cancel is not None:
                cancel.raise_if_cancelled()
            data = pa.concat_tables(rows) if rows else None
            if data is not None and data.num_rows:
                if definition.partition:
                    data = data.sort_by([(c, "ascending") for c in definition.partition_columns])
                for piece in _partition_slices(metadata, data):
                    write(piece)
            if cancel is not None:
                cancel.raise_if_cancelled()
    table.refresh()
    snap = table.snapshot_by_name(branch)
    assert snap is not None
    n_added = added.num_rows if added is not None else 0
    n_removed = removed.num_rows if removed is not None else 0
    message = f"+{n_added:,} -{n_removed:,} rows ({rewritten} files rewritten), snapshot {snap.snapshot_id}"
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
