"""What table maintenance reads: the files under a table's location, the files its metadata
references, the snapshots it must keep and the partitions whose small files it may compact.

Paths are compared as keys: the path part pyiceberg's ``PyArrowFileIO.parse_location`` gives
(an absolute path for local files, ``bucket/key`` for S3), which is also what the pyarrow
filesystem of the table's FileIO lists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from pyarrow import fs as pafs
from pyiceberg.io import FileIO
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import SnapshotRefType
from pyiceberg.table.snapshots import ancestors_of

from lakehouse_core.errors import LakehouseError
from lakehouse_core.settings import MaintenanceSettings

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000
MIN_SNAPSHOTS_PROPERTY = "history.expire.min-snapshots-to-keep"
MAX_AGE_PROPERTY = "history.expire.max-snapshot-age-ms"


def file_key(io: FileIO, location: str) -> str:
    """The comparable key of a file location (scheme dropped, ``bucket/key`` for object stores)."""
    from pyiceberg.io.pyarrow import PyArrowFileIO  # imports pandas: only when maintaining

    return PyArrowFileIO.parse_location(location, io.properties)[2]


@dataclass(frozen=True)
class Listing:
    """Every file under a table's location: key -> (size in bytes, mtime in epoch seconds)."""

    fs: pafs.FileSystem
    files: dict[str, tuple[int, float]]

    def bytes_of(self, keys: Iterable[str]) -> int:
        return sum(self.files[k][0] for k in keys if k in self.files)


def list_table_files(table: Table) -> Listing:
    """List the files under ``table.location()`` with the filesystem of the table's FileIO."""
    from pyiceberg.io.pyarrow import PyArrowFileIO

    io = table.io
    if not isinstance(io, PyArrowFileIO):
        raise LakehouseError(f"cannot list files through {type(io).__name__} (PyArrowFileIO only)")
    scheme, netloc, path = PyArrowFileIO.parse_location(table.location(), io.properties)
    fs = io.fs_by_scheme(scheme, netloc)
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    files = {
        i.path: (int(i.size or 0), i.mtime.timestamp() if i.mtime is not None else 0.0)
        for i in infos
        if i.type == pafs.FileType.File
    }
    return Listing(fs, files)


def metadata_files(metadata_location: str | None, metadata: TableMetadata) -> list[str]:
    """The current metadata file and every previous one its metadata log lists."""
    files = [entry.metadata_file for entry in metadata.metadata_log]
    return [*files, metadata_location] if metadata_location else files


def referenced_files(
    io: FileIO,
    metadata: TableMetadata,
    *,
    snapshot_ids: set[int] | None = None,
    metadata_locations: Iterable[str] = (),
) -> set[str]:
    """Keys of every file ``metadata`` references through the snapshots kept (all when None): manifest
    lists, manifests, live data/delete files, statistics; plus ``metadata_locations`` themselves."""
    keys = {file_key(io, loc) for loc in metadata_locations}
    seen_manifests: set[str] = set()
    for snap in metadata.snapshots:
        if snapshot_ids is not None and snap.snapshot_id not in snapshot_ids:
            continue
        keys.add(file_key(io, snap.manifest_list))
        for manifest in snap.manifests(io):
            if manifest.manifest_path in seen_manifests:
                continue
            seen_manifests.add(manifest.manifest_path)
            keys.add(file_key(io, manifest.manifest_path))
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=True):
                keys.add(file_key(io, entry.data_file.file_path))
    for stats in metadata.statistics:
        if snapshot_ids is None or stats.snapshot_id in snapshot_ids:
            keys.add(file_key(io, stats.statistics_path))
    for pstats in metadata.partition_statistics:
        if snapshot_ids is None or pstats.snapshot_id in snapshot_ids:
            keys.add(file_key(io, pstats.statistics_path))
    return keys


def retained_snapshot_ids(metadata: TableMetadata, settings: MaintenanceSettings, now_ms: int) -> set[int]:
    """Snapshots maintenance keeps: the ``keep_last`` newest, those newer than ``keep_days``, every
    ref's head, what each branch's retention (its own or the table's ``history.expire.*``) keeps,
    and staged snapshots (on no branch, newer than every ref head: a write awaiting its publish)."""
    snaps = sorted(metadata.snapshots, key=lambda s: s.timestamp_ms, reverse=True)
    cutoff = now_ms - int(settings.keep_days * DAY_MS)
    keep = {s.snapshot_id for s in snaps[: settings.keep_last]}
    keep |= {s.snapshot_id for s in snaps if s.timestamp_ms >= cutoff}
    table_min = int(metadata.properties.get(MIN_SNAPSHOTS_PROPERTY, "1"))
    table_age = metadata.properties.get(MAX_AGE_PROPERTY)
    on_branches: set[int] = set()
    newest_head = 0
    for ref in metadata.refs.values():
        keep.add(ref.snapshot_id)
        head = metadata.snapshot_by_id(ref.snapshot_id)
        newest_head = max(newest_head, head.timestamp_ms if head is not None else 0)
        if ref.snapshot_ref_type != SnapshotRefType.BRANCH:
            continue
        lineage = list(ancestors_of(head, metadata))
        on_branches |= {s.snapshot_id for s in lineage}
        keep |= {s.snapshot_id for s in lineage[: max(1, ref.min_snapshots_to_keep or table_min)]}
        max_age = ref.max_snapshot_age_ms or (int(table_age) if table_age else None)
        if max_age:
            keep |= {s.snapshot_id for s in lineage if s.timestamp_ms >= now_ms - max_age}
    staged = {s.snapshot_id for s in snaps if s.snapshot_id not in on_branches}
    return keep | {s.snapshot_id for s in snaps if s.snapshot_id in staged and s.timestamp_ms > newest_head}


def small_file_groups(table: Table, settings: MaintenanceSettings) -> list[list[FileScanTask]]:
    """Per partition of the current snapshot (current spec), its small data files when there are at
    least ``compact_min_files`` of them; and every data file of each partition holding position
    deletes (rewritten with the deletes applied, the delete files dropped) when all such partitions
    are of the current spec."""
    snap = table.current_snapshot()
    if snap is None:
        return []
    spec_id = table.spec().spec_id
    groups: dict[tuple[int, object], list[FileScanTask]] = {}
    every: dict[tuple[int, object], list[FileScanTask]] = {}
    blocked: set[tuple[int, object]] = set()
    for task in table.scan(snapshot_id=snap.snapshot_id).plan_files():
        key = (task.file.spec_id, task.file.partition)
        every.setdefault(key, []).append(task)
        if task.delete_files:
            blocked.add(key)
        if task.file.file_size_in_bytes < settings.small_file_bytes:
            groups.setdefault(key, []).append(task)
    out = [
        tasks
        for key, tasks in groups.items()
        if key[0] == spec_id and key not in blocked and len(tasks) >= settings.compact_min_files
    ]
    if all(key[0] == spec_id for key in blocked):
        out += [every[key] for key in blocked]
    return out
