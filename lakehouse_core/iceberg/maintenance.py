"""Table maintenance on any pyiceberg catalog (embedded SqlCatalog, Nessie REST): compact small
files per partition, expire old snapshots, remove the files nothing references any more.

Per table, in order:
1. compaction: a partition of the current snapshot holding ``compact_min_files`` or more small data
   files has them rewritten into one, in one ``overwrite`` snapshot with the same rows. That snapshot
   also drops the manifests that list no live file: pyiceberg 0.12's overwrite carries every earlier
   overwrite's manifest of deleted entries forward, so each rerun's snapshot holds all the previous
   ones (a table with such manifests and no partition to compact gets that snapshot alone). It keeps
   the ``lakehouse.*`` summary properties of the snapshot it replaces (the run id, the source);
2. expiry: every snapshot outside ``retained_snapshot_ids`` is removed in one metadata commit, which
   also caps the metadata log at ``metadata_versions`` entries;
3. removal: files the expired snapshots or dropped metadata versions referenced and the kept ones do
   not are deleted at once (they were committed, so no write is in flight on them); files under the
   table location that nothing referenced even before (orphans, e.g. left by a killed write) are
   deleted when older than ``orphan_min_age_s``. ``protected`` adds files other views of the table
   still need (other Nessie refs and commits), which are never deleted.

A dry run computes the same numbers and changes nothing.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.manifest import ManifestFile
from pyiceberg.table import FileScanTask, Table, TableProperties
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update.snapshot import ExpireSnapshots

from lakehouse_core.errors import ConfigError, ConflictError
from lakehouse_core.models import MaintenanceReport, ProgressEvent, TableMaintenanceResult, TableRef
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.settings import MaintenanceSettings

from .maintenance_files import (
    Listing,
    list_table_files,
    metadata_files,
    referenced_files,
    retained_snapshot_ids,
    small_file_groups,
)
from .ops import as_identifier, load_table
from .row_delta import DeletesDroppingOverwrite

logger = logging.getLogger(__name__)

MAINTENANCE_PROPERTY = "lakehouse.maintenance"
PHASE = 0
"""ProgressEvent.phase of maintenance events (maintenance is not one of the four phases)."""

Protected = Callable[[Table], set[str]]
"""File keys other views of a table still reference (never deleted)."""


def check_settings(settings: MaintenanceSettings) -> None:
    """Refuse a zero safety window unless it was asked for explicitly."""
    if settings.orphan_min_age_s <= 0 and not settings.allow_zero_orphan_age:
        raise ConfigError(
            "maintenance.orphan_min_age_s is 0: an in-flight write could lose its files; "
            "set maintenance.allow_zero_orphan_age to allow it"
        )


def _is_dead(manifest: ManifestFile) -> bool:
    """A manifest listing deleted entries only (counts unknown: not dead)."""
    return manifest.added_files_count == 0 and manifest.existing_files_count == 0


class _LiveManifestsOverwrite(DeletesDroppingOverwrite):
    """An overwrite whose snapshot keeps only the manifests listing live files (and drops the delete
    files when it rewrites every partition they are in)."""

    def _existing_manifests(self) -> list[ManifestFile]:
        return [m for m in super()._existing_manifests() if not _is_dead(m)]


def dead_manifests(table: Table) -> int:
    """Manifests of the current snapshot listing no live file, carried from earlier snapshots (its
    own manifest of the files it deleted is not counted: it goes with the next commit)."""
    snap = table.current_snapshot()
    if snap is None:
        return 0
    return sum(
        1 for m in snap.manifests(table.io) if _is_dead(m) and m.added_snapshot_id != snap.snapshot_id
    )


def _compact(table: Table, groups: list[list[FileScanTask]]) -> int:
    """Rewrite each group's files into new ones in one overwrite snapshot on main, which lists only
    manifests with live files; returns the data files written."""
    written = 0
    parent = table.current_snapshot()
    carried = {
        k: v for k, v in (parent.summary.additional_properties if parent and parent.summary else {}).items()
        if k.startswith("lakehouse.")
    }
    with table.transaction() as tx:
        producer = _LiveManifestsOverwrite(
            operation=Operation.OVERWRITE,
            transaction=tx,
            io=table.io,
            snapshot_properties={**carried, MAINTENANCE_PROPERTY: "compaction" if groups else "manifests"},
            branch=MAIN_BRANCH,
        )
        producer.drop_deletes = any(task.delete_files for tasks in groups for task in tasks)
        with producer:
            producer.delete_by_predicate(AlwaysTrue())  # lets the producer look at every manifest
            counter = itertools.count(0)
            # pyiceberg.io.pyarrow imports pyarrow.dataset and pandas (~50 MB): only when compacting
            from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files

            for tasks in groups:
                metadata = tx.table_metadata
                rows = ArrowScan(metadata, table.io, metadata.schema(), AlwaysTrue()).to_table(tasks)
                for task in tasks:
                    producer.delete_data_file(task.file)
                for data_file in _dataframe_to_data_files(
                    table_metadata=metadata, df=rows, io=table.io,
                    write_uuid=producer.commit_uuid, counter=counter,
                ):
                    producer.append_data_file(data_file)
                    written += 1
    table.refresh()
    return written


def _expire(table: Table, expire_ids: set[int], metadata_versions: int) -> None:
    """Remove ``expire_ids`` and cap the metadata log, in one commit (none when nothing changes)."""
    current = table.metadata.properties.get(TableProperties.METADATA_PREVIOUS_VERSIONS_MAX)
    if not expire_ids and current == str(metadata_versions):
        return
    with table.transaction() as tx:
        if expire_ids:
            ExpireSnapshots(tx).by_ids(sorted(expire_ids)).commit()
        if current != str(metadata_versions):
            tx.set_properties({TableProperties.METADATA_PREVIOUS_VERSIONS_MAX: str(metadata_versions)})
    table.refresh()


def _remove(listing: Listing, keys: Iterable[str]) -> None:
    for key in sorted(keys):
        if key in listing.files:
            listing.fs.delete_file(key)


def maintain_table(
    table: Table,
    settings: MaintenanceSettings,
    *,
    dry_run: bool,
    name: str = "",
    protected: Protected | None = None,
    now: float | None = None,
) -> TableMaintenanceResult:
    """Compact, expire and remove files of one table (see the module docstring)."""
    check_settings(settings)
    label = name or ".".join(table.name()[-2:])
    io = table.io
    groups = small_file_groups(table, settings)
    compacted = sum(len(g) for g in groups)
    written = len(groups)
    dead = dead_manifests(table)
    initial_meta = metadata_files(table.metadata_location, table.metadata)  # a commit may drop some
    try:
        if (groups or dead) and not dry_run:
            written = _compact(table, groups)
        now_s = time.time() if now is None else now
        metadata = table.metadata
        before_meta = metadata_files(table.metadata_location, metadata)
        before = referenced_files(io, metadata, metadata_locations=[*initial_meta, *before_meta])
        retained = retained_snapshot_ids(metadata, settings, int(now_s * 1000))
        expire_ids = {s.snapshot_id for s in metadata.snapshots} - retained
        if dry_run:
            log_kept = before_meta[-settings.metadata_versions:] if expire_ids else before_meta
            after = referenced_files(io, metadata, snapshot_ids=retained, metadata_locations=log_kept)
        else:
            _expire(table, expire_ids, settings.metadata_versions)
            after = referenced_files(
                io, table.metadata, metadata_locations=metadata_files(table.metadata_location, table.metadata)
            )
    except CommitFailedException as exc:
        raise ConflictError(f"{label} changed during maintenance; nothing of it was removed: {exc}") from exc
    keep = after | (protected(table) if protected is not None else set())
    listing = list_table_files(table)
    released = (before - keep) & listing.files.keys()
    unreferenced = listing.files.keys() - before - keep
    cutoff = now_s - settings.orphan_min_age_s
    orphans = {k for k in unreferenced if listing.files[k][1] < cutoff}
    if not dry_run:
        _remove(listing, released | orphans)
    result = TableMaintenanceResult(
        table=label,
        snapshots_expired=len(expire_ids),
        snapshots_kept=len(metadata.snapshots) - len(expire_ids),
        files_removed=len(released),
        bytes_removed=listing.bytes_of(released),
        orphans_removed=len(orphans),
        orphan_bytes=listing.bytes_of(orphans),
        orphans_too_young=len(unreferenced) - len(orphans),
        files_compacted=compacted,
        files_written=written,
        partitions_compacted=len(groups),
    )
    logger.info("%s%s: %s", "dry run: " if dry_run else "", label, result)
    return result


def catalog_tables(catalog: Catalog) -> list[str]:
    """Every table identifier of the catalog, sorted."""
    return sorted(
        ".".join(ident) for ns in catalog.list_namespaces() for ident in catalog.list_tables(ns)
    )


def maintain_catalog(
    catalog: Catalog,
    settings: MaintenanceSettings,
    *,
    tables: Iterable[str] | None = None,
    dry_run: bool,
    protected: Protected | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> MaintenanceReport:
    """Maintain ``tables`` (every table of the catalog when None), one after the other."""
    check_settings(settings)
    idents = list(tables) if tables is not None else catalog_tables(catalog)
    results: list[TableMaintenanceResult] = []
    for index, ident in enumerate(idents):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress.emit(ProgressEvent(PHASE, ident, "start", index, len(idents), "maintaining"))
        table = load_table(catalog, ident)
        result = maintain_table(table, settings, dry_run=dry_run, name=ident, protected=protected)
        results.append(result)
        progress.emit(ProgressEvent(PHASE, ident, "finish", index + 1, len(idents), _summary(result)))
    return MaintenanceReport(dry_run=dry_run, tables=tuple(results))


def _summary(result: TableMaintenanceResult) -> str:
    return (
        f"{result.snapshots_expired} snapshots expired, {result.files_removed + result.orphans_removed} "
        f"files removed, {result.files_compacted} compacted"
    )


class IcebergTableMaintenance:
    """``TableMaintenance`` over a pyiceberg catalog (opened on first use); with ``data_path``, also
    the compaction of the published phase-1 run's parted tables there (``pipeline/compact.py``)."""

    def __init__(
        self,
        open_catalog: Callable[[], Catalog],
        settings: MaintenanceSettings,
        *,
        protected: Protected | None = None,
        data_path: Path | None = None,
    ) -> None:
        self._open_catalog = open_catalog
        self._settings = settings
        self._protected = protected
        self._data_path = data_path

    def _tables(self, table: TableRef | None) -> list[str] | None:
        return None if table is None else [as_identifier(table)]

    def _with_parts(self, report: MaintenanceReport, table: TableRef | None) -> MaintenanceReport:
        if self._data_path is None:
            return report
        from lakehouse_core.pipeline.compact import compact_published

        only = None if table is None else as_identifier(table)
        parts = compact_published(self._data_path, dry_run=report.dry_run, only=only)
        return MaintenanceReport(dry_run=report.dry_run, tables=(*report.tables, *parts))

    def plan(self, table: TableRef | None = None) -> MaintenanceReport:
        return self._with_parts(maintain_catalog(
            self._open_catalog(), self._settings, tables=self._tables(table), dry_run=True,
            protected=self._protected,
        ), table)

    def run(
        self,
        table: TableRef | None = None,
        progress: ProgressSink = NULL_PROGRESS,
        cancel: CancelToken | None = None,
    ) -> MaintenanceReport:
        return self._with_parts(maintain_catalog(
            self._open_catalog(), self._settings, tables=self._tables(table), dry_run=False,
            protected=self._protected, progress=progress, cancel=cancel,
        ), table)
