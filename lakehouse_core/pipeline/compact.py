"""Compaction of the published phase-1 run's parted tables (bronze and silver, ``pipeline/parts.py``).

Every incremental run adds a part to each parted table it changes and positions to its
``_deletes.parquet``; nothing else ever merges them. Compaction rewrites such a table of the published
run (``data/current``) as one part holding its live rows, in the order every reader sees them (parts by
name, rows by position, deleted rows left out), without deletes:

1. the live rows are written to ``.<table>.parquet.compact/part-<run id>.parquet`` next to the table;
2. that directory and the table's are swapped in one ``renameat2(RENAME_EXCHANGE)`` (Linux), so a
   reader lists either every old part and the old deletes or the one new part (where the kernel lacks
   it: two renames, and a reader in between finds no table and fails rather than reading a mix);
3. the old directory (now the ``.compact`` one) is removed. Its parts are hard links: other runs' copies
   of the same parts are untouched.

It runs under the data dir's run lock, so no phase-1 run builds on the table meanwhile. A later
incremental run links the one part and starts new deletes against it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from lakehouse_core.models import TableMaintenanceResult
from lakehouse_core.paths import TABLES, DataPaths
from lakehouse_core.pipeline.parts import deletes_path, live_batches, part_path, parts, schema_of

logger = logging.getLogger(__name__)

LABEL = "phase-1 "
"""Prefix of a phase-1 table in maintenance results (``phase-1 bronze.orders``)."""
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def parted_tables(run: DataPaths) -> dict[str, Path]:
    """The parted tables of a phase-1 run by identifier (``bronze.orders`` ...)."""
    tables = {f"bronze.{t}": run.bronze_parquet(t) for t in TABLES}
    tables["silver.orders_enriched"] = run.silver_orders
    return {name: path for name, path in tables.items() if path.is_dir()}


def needs_compaction(path: Path) -> bool:
    """More than one part, or deleted rows."""
    return len(parts(path)) > 1 or deletes_path(path).is_file()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux ``renameat2``); False where that is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def compact_table(path: Path, run_id: str) -> int:
    """Rewrite the parted table ``path`` as one part of its live rows (see the module docstring).

    Returns the number of files it replaced (parts and deletes)."""
    replaced = len(parts(path)) + deletes_path(path).is_file()
    staging = path.with_name(f".{path.name}.compact")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    target = part_path(staging, run_id)
    schema = schema_of(path)
    with pq.ParquetWriter(target, schema, compression="zstd", compression_level=1) as writer:
        for batch in live_batches(path):
            writer.write_batch(batch if batch.schema == schema else batch.cast(schema))
    if not _exchange(staging, path):
        old = path.with_name(f".{path.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(path, old)
        os.rename(staging, path)
        staging = old
    shutil.rmtree(staging)
    logger.info("compacted %s: %d files into one part", path, replaced)
    return replaced


def compact_run(run: DataPaths, run_id: str, *, dry_run: bool, only: str | None = None,
                ) -> list[TableMaintenanceResult]:
    """Compact (or, ``dry_run``, count) the parted tables of ``run`` that need it; ``only``: just the
    table with that identifier. The caller holds the run lock."""
    results = []
    for name, path in parted_tables(run).items():
        if (only is not None and name != only) or not needs_compaction(path):
            continue
        files = len(parts(path)) + deletes_path(path).is_file()
        if not dry_run:
            files = compact_table(path, run_id)
        results.append(TableMaintenanceResult(table=LABEL + name, files_compacted=files, files_written=1,
                                              partitions_compacted=1))
    return results


def compact_published(data_path: Path, *, dry_run: bool, only: str | None = None,
                      ) -> list[TableMaintenanceResult]:
    """``compact_run`` on the published phase-1 run of ``data_path`` (none published: nothing), under
    the data dir's run lock (a run holding it: BusyError at once)."""
    from lakehouse_core.phases.lock import RunLock
    from lakehouse_core.publish import current_run

    root = DataPaths(data_path)
    if dry_run:
        run_id = current_run(root)
        return [] if run_id is None else compact_run(root.for_run(run_id), run_id, dry_run=True, only=only)
    with RunLock.for_key(data_path, "data-dir").hold("maintain"):
        run_id = current_run(root)
        return [] if run_id is None else compact_run(root.for_run(run_id), run_id, dry_run=False, only=only)
