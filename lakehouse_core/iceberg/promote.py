"""Load the bronze/silver/gold Parquet files into Iceberg tables (phase 2), catalog-agnostic.

Each table load is ONE snapshot committed atomically: a full-table overwrite that removes every live
data file of the target branch and adds the new ones, so a rerun on the same data yields the same
contents. Parquet is streamed in bounded chunks: unpartitioned tables batch by batch, partitioned
tables through a DuckDB ``ORDER BY <partition columns>`` stream (spills to disk beyond
SORT_SHARE of the phase's memory budget) so each chunk covers few partitions and files stay large.

Why not ``Table.overwrite(RecordBatchReader)``: in pyiceberg 0.12 it (a) commits a DELETE and an
APPEND snapshot (two snapshots per rerun) and (b) raises NotImplementedError for a reader on a
partitioned table (apache/iceberg-python#2152). So data files are written with pyiceberg's
``_dataframe_to_data_files`` (private API, pinned pyiceberg 0.12.0) and committed through one
``update_snapshot().overwrite()`` producer. Measured (2 cores, loaded machine): 10M orders ->
~38 s, peak RSS ~0.75 GB, whereas the whole table as arrow is ~1.1 GB.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import (
    _check_pyarrow_schema_compatible,
    _dataframe_to_data_files,
    bin_pack_arrow_table,
    pyarrow_to_schema,
    write_file,
)
from pyiceberg.manifest import DataFile, DataFileContent
from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
from pyiceberg.table import Table, TableProperties, WriteTask
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update.snapshot import _SnapshotProducer
from pyiceberg.utils.properties import property_as_int

from lakehouse_core.budget import MIB, current_budget
from lakehouse_core.errors import DataError
from lakehouse_core.faults import crash_point
from lakehouse_core.models import ProgressEvent, SnapshotRef, TableRef
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline.parts import exists, live_batches, read_live, schema_of, table_rows, table_sql
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.units import progress_note

from .row_delta import DeletesDroppingOverwrite
from .tables import LAYERS, TABLES, TableDef, table_def

logger = logging.getLogger(__name__)

PHASE = 2
RUN_ID_PROPERTY = "lakehouse.run-id"
SOURCE_PROPERTY = "lakehouse.source-file"
SOURCE_RUN_PROPERTY = "lakehouse.source-run"
"""The phase-1 run whose Parquet a phase-2 snapshot loaded."""
CHUNK_ROWS = 500_000
"""Rows materialised at once when writing a partitioned table (bounded memory)."""
BATCH_ROWS = 128 * 1024
SORT_SHARE = 0.4
"""Part of the memory budget (``lakehouse_core.budget``) the partition sort's DuckDB may hold: the
rest is the chunk being written and pyiceberg's writer."""
PARTITIONS_PER_SLICE = 4
"""pyiceberg filters a written table once per partition it holds (O(partitions x rows)); handing it
slices of a sorted chunk holding at most this many partitions keeps the split linear."""


def ensure_tables(catalog: Catalog) -> dict[str, Table]:
    """Create the bronze/silver/gold namespaces and every lakehouse table when missing."""
    for layer in LAYERS:
        catalog.create_namespace_if_not_exists(layer)
    return {t.identifier: _load_or_create(catalog, t) for t in TABLES}


def _load_or_create(catalog: Catalog, definition: TableDef) -> Table:
    """Load first: after the first run every table exists, and a create attempt costs a load (or, for
    some catalogs, a metadata file) before it fails."""
    try:
        return catalog.load_table(definition.identifier)
    except NoSuchTableError:
        return catalog.create_table_if_not_exists(
            definition.identifier, schema=definition.schema, partition_spec=definition.partition_spec
        )


def _contract_reader(path: Path, definition: TableDef) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """Batches of ``path`` projected/cast to the contract schema (DataError when columns are missing)."""
    schema = definition.arrow_schema
    missing = [n for n in schema.names if n not in schema_of(path).names]
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)} of {definition.identifier}")
    if definition.partition:
        return schema, _sorted_batches(path, definition)

    def gen() -> Iterator[pa.RecordBatch]:
        for batch in live_batches(path, list(schema.names), BATCH_ROWS):
            yield batch.cast(schema)

    return schema, gen()


def _sorted_batches(path: Path, definition: TableDef) -> Iterator[pa.RecordBatch]:
    """Stream ``path``'s live rows ordered by the partition source columns via DuckDB (spills beyond
    the limit)."""
    schema = definition.arrow_schema
    cols = ", ".join(f'"{n}"' for n in schema.names)
    order = ", ".join(f'"{c}"' for c in definition.partition_columns)
    budget = current_budget()
    with tempfile.TemporaryDirectory(prefix="lakehouse-promote-") as spill:
        con = duckdb.connect(
            config={
                "memory_limit": f"{max(int(budget.memory * SORT_SHARE), 32 * MIB) // MIB}MiB",
                "threads": budget.threads,
                "temp_directory": spill,
                "autoinstall_known_extensions": "false",
                "autoload_known_extensions": "false",
            }
        )
        try:
            con.execute(f"SELECT {cols} FROM {table_sql(path)} ORDER BY {order}")
            reader = con.fetch_record_batch(BATCH_ROWS)
            for batch in reader:
                yield batch.cast(schema)
        finally:
            con.close()


def _chunks(batches: Iterator[pa.RecordBatch], schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
    buf: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        buf.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(buf, schema)
            buf, count = [], 0
    if buf:
        yield pa.Table.from_batches(buf, schema)


def _partition_slices(metadata: TableMetadata, chunk: pa.Table) -> Iterator[pa.Table]:
    """Cut a chunk sorted by partition into slices spanning at most PARTITIONS_PER_SLICE partitions."""
    spec, schema = metadata.spec(), metadata.schema()
    if spec.is_unpartitioned() or chunk.num_rows == 0:
        yield chunk
        return
    ends: set[int] = set()
    for field in spec.fields:
        source = schema.find_field(field.source_id)
        values = field.transform.pyarrow_transform(source.field_type)(chunk.column(source.name))
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        ends.update(pc.run_end_encode(values).run_ends.to_pylist())
    bounds = sorted(ends)
    cuts = bounds[PARTITIONS_PER_SLICE - 1 :: PARTITIONS_PER_SLICE]
    if not cuts or cuts[-1] != chunk.num_rows:
        cuts.append(chunk.num_rows)
    start = 0
    for end in cuts:
        yield chunk.slice(start, end - start)
        start = end


def _live_data_files(table: Table, branch: str) -> list[DataFile]:
    snapshot = table.snapshot_by_name(branch)
    if snapshot is None:
        return []
    return [
        entry.data_file
        for manifest in snapshot.manifests(table.io)
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
        if entry.data_file.content == DataFileContent.DATA
    ]


def _one_partition_slices(
    metadata: TableMetadata, piece: pa.Table
) -> Iterator[tuple[PartitionKey, pa.Table]]:
    """``piece`` (sorted by its partition source columns; the transforms, day and identity, keep that
    order) cut where a partition value changes, each slice with its partition key. pyiceberg's own
    split filters the whole piece once per partition: an increment over ~100 days paid ~100 scans."""
    spec, schema = metadata.spec(), metadata.schema()
    values = []
    ends: set[int] = {piece.num_rows}
    for field in spec.fields:
        source = schema.find_field(field.source_id)
        column = field.transform.pyarrow_transform(source.field_type)(piece.column(source.name))
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        values.append(column)
        ends.update(pc.run_end_encode(column).run_ends.to_pylist())
    start = 0
    for end in sorted(ends):
        key = PartitionKey(field_values=[PartitionFieldValue(field=f, value=v[start].as_py())
                                         for f, v in zip(spec.fields, values, strict=True)],
                           partition_spec=spec, schema=schema)
        yield key, piece.slice(start, end - start).combine_chunks()
        start = end


def append_rows(
    producer: _SnapshotProducer[Any], metadata: TableMetadata, table: Table, pieces: Iterable[pa.Table],
    counter: itertools.count[int],
) -> None:
    """Write ``pieces`` (each sorted by partition) as data files added by ``producer``."""
    for piece in pieces:
        if metadata.spec().is_unpartitioned() or piece.num_rows == 0:
            files = _dataframe_to_data_files(table_metadata=metadata, df=piece, io=table.io,
                                             write_uuid=producer.commit_uuid, counter=counter)
        else:
            task_schema = pyarrow_to_schema(piece.schema, name_mapping=metadata.schema().name_mapping,
                                            format_version=metadata.format_version)
            target = property_as_int(metadata.properties, TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
                                     TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT)
            files = write_file(io=table.io, table_metadata=metadata, tasks=(
                WriteTask(write_uuid=producer.commit_uuid, task_id=next(counter), record_batches=batches,
                          partition_key=key, schema=task_schema)
                for key, part in _one_partition_slices(metadata, piece)
                for batches in bin_pack_arrow_table(part, target)))  # type: ignore[arg-type]
        for data_file in files:
            producer.append_data_file(data_file)


def overwrite_from_parquet(
    table: Table,
    definition: TableDef,
    path: Path,
    *,
    properties: dict[str, str],
    branch: str = MAIN_BRANCH,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> SnapshotRef:
    """Replace every row of ``table`` on ``branch`` with ``path`` in one snapshot (its data files and
    position-delete files all dropped)."""
    if not exists(path):
        raise DataError(f"missing Parquet file for {definition.identifier}: {path}")
    total = table_rows(path)
    task = definition.identifier
    progress.emit(ProgressEvent(PHASE, task, "start", 0, total, f"loading {path.name}"))
    started = time.perf_counter()
    schema, batches = _contract_reader(path, definition)
    _check_pyarrow_schema_compatible(
        table.schema(), provided_schema=schema, format_version=table.format_version
    )
    done = 0
    with table.transaction() as tx:
        # as pyiceberg's overwrite(): an "append" on a table without snapshots
        kind = Operation.OVERWRITE if tx.table_metadata.current_snapshot() else Operation.APPEND
        with DeletesDroppingOverwrite(
            kind, tx, table.io, snapshot_properties=properties, branch=branch
        ) as producer:
            producer.delete_by_predicate(AlwaysTrue())
            for old in _live_data_files(table, branch):
                producer.delete_data_file(old)
            counter = itertools.count(0)
            for chunk in _chunks(batches, schema, CHUNK_ROWS):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                append_rows(producer, tx.table_metadata, table, _partition_slices(tx.table_metadata, chunk),
                            counter)
                done += chunk.num_rows
                note = progress_note(done / max(total, 1), time.perf_counter() - started, done)
                progress.emit(ProgressEvent(PHASE, task, "advance", done, total, note))
            if cancel is not None:
                cancel.raise_if_cancelled()
    # the commit left the table at its new metadata (pyiceberg's _do_commit): no reload
    snap = table.snapshot_by_name(branch)
    assert snap is not None
    operation = snap.summary.operation.value if snap.summary else ""
    message = f"{done:,} rows, snapshot {snap.snapshot_id}"
    progress.emit(ProgressEvent(PHASE, task, "finish", done, total, message))
    logger.info("%s: %d rows -> snapshot %d (%s)", task, done, snap.snapshot_id, operation)
    return SnapshotRef(task, snap.snapshot_id, operation)


def promote_all(
    catalog: Catalog,
    paths: DataPaths,
    *,
    run_id: str,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    branch: str | None = None,
    properties: dict[str, str] | None = None,
) -> list[SnapshotRef]:
    """Create namespaces/tables when missing and load every layer's Parquet, one snapshot per table.

    ``branch`` is an Iceberg branch of each table (created by the first write); default main.
    ``properties`` are added to every snapshot's summary (with the run id and source file).
    Raises DataError (before writing anything) when a source Parquet file is missing.
    """
    missing = [str(t.source_path(paths)) for t in TABLES if not exists(t.source_path(paths))]
    if missing:
        raise DataError("run phase 1 first; missing Parquet: " + ", ".join(missing))
    tables = ensure_tables(catalog)
    refs: list[SnapshotRef] = []
    for definition in TABLES:
        if cancel is not None:
            cancel.raise_if_cancelled()
        source = definition.source_path(paths)
        started = time.perf_counter()
        refs.append(
            overwrite_from_parquet(
                tables[definition.identifier],
                definition,
                source,
                properties={**(properties or {}), RUN_ID_PROPERTY: run_id, SOURCE_PROPERTY: str(source)},
                branch=branch or MAIN_BRANCH,
                progress=progress,
                cancel=cancel,
            )
        )
        crash_point(f"phase2.staged.{definition.identifier}")
        logger.debug("%s loaded in %.2fs", definition.identifier, time.perf_counter() - started)
    return refs


def _identifier(table_ref: str | TableRef) -> str:
    return table_ref.identifier if isinstance(table_ref, TableRef) else table_ref


def append_table(
    catalog: Catalog, table_ref: str | TableRef, parquet_path: Path, run_id: str, branch: str | None = None
) -> SnapshotRef:
    """Append ``parquet_path`` to an existing table as one plain ``append`` snapshot."""
    ident = _identifier(table_ref)
    table = catalog.load_table(ident)
    data = pq.read_table(parquet_path)
    try:
        data = data.select(table.schema().as_arrow().names).cast(table.schema().as_arrow())
    except (KeyError, ValueError, pa.ArrowInvalid):
        logger.debug("append %s: Parquet columns differ from the table; appending as-is", ident)
    table.append(
        data,
        snapshot_properties={RUN_ID_PROPERTY: run_id, SOURCE_PROPERTY: str(parquet_path)},
        branch=branch or MAIN_BRANCH,
    )
    snap = table.snapshot_by_name(branch or MAIN_BRANCH)
    assert snap is not None
    return SnapshotRef(ident, snap.snapshot_id, snap.summary.operation.value if snap.summary else "")


def naive_append_bronze_orders(
    catalog: Catalog, paths: DataPaths, *, chunk_rows: int = 100_000
) -> list[SnapshotRef]:
    """Benchmark baseline: read all of orders.parquet, ``append`` it in small chunks (one commit each)."""
    for layer in LAYERS:
        catalog.create_namespace_if_not_exists(layer)
    definition = table_def("bronze.orders")
    table = catalog.create_table_if_not_exists(
        definition.identifier, schema=definition.schema, partition_spec=definition.partition_spec
    )
    data = read_live(paths.bronze_parquet("orders"))
    refs = []
    for start in range(0, data.num_rows, chunk_rows):
        table.append(data.slice(start, chunk_rows))
        snap = table.current_snapshot()
        assert snap is not None
        refs.append(SnapshotRef(definition.identifier, snap.snapshot_id, "append"))
    return refs
