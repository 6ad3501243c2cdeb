"""Merge-on-read row deltas for pyiceberg tables: new data files plus position-delete files, one snapshot.

pyiceberg 0.12 reads position deletes but cannot write them. ``RowDelta`` is a fast append whose
snapshot also adds a DELETES manifest: the existing manifests are kept, the new data files go into a
data manifest, the position-delete files (``write_position_deletes``) into a delete manifest. A position
delete (``file_path``, ``pos``) removes row ``pos`` (0-based) of that data file for every reader that
applies v2 deletes (pyiceberg scans, DuckDB's ``iceberg_scan``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    ManifestWriterV2,
)
from pyiceberg.table import Table, Transaction
from pyiceberg.table.snapshots import Operation, Summary
from pyiceberg.table.update.snapshot import _FastAppendFiles, _OverwriteFiles
from pyiceberg.utils.concurrent import ExecutorFactory

FILE_PATH_ID = 2147483546
POS_ID = 2147483545
"""Field ids the Iceberg spec reserves for the columns of a position-delete file."""
POSITION_DELETE_SCHEMA = pa.schema([
    pa.field("file_path", pa.string(), nullable=False, metadata={"PARQUET:field_id": str(FILE_PATH_ID)}),
    pa.field("pos", pa.int64(), nullable=False, metadata={"PARQUET:field_id": str(POS_ID)}),
])


class _DeleteManifestWriter(ManifestWriterV2):
    """A v2 manifest of delete files (pyiceberg's writer always says ``data``)."""

    def content(self) -> ManifestContent:
        return ManifestContent.DELETES

    @property
    def _meta(self) -> dict[str, str]:
        return {**super()._meta, "content": "deletes"}


class RowDelta(_FastAppendFiles):
    """One snapshot adding data files and position-delete files; every existing manifest kept."""

    def __init__(self, transaction: Transaction, table: Table, *, branch: str,
                 snapshot_properties: dict[str, str]) -> None:
        super().__init__(Operation.OVERWRITE, transaction, table.io, snapshot_properties=snapshot_properties,
                         branch=branch)
        self._delete_files: list[DataFile] = []

    def add_delete_file(self, delete_file: DataFile) -> RowDelta:
        self._delete_files.append(delete_file)
        return self

    def _manifests(self) -> list[ManifestFile]:
        manifests = super()._manifests()
        if not self._delete_files:
            return manifests
        by_spec: dict[int, list[DataFile]] = defaultdict(list)
        for f in self._delete_files:
            by_spec[f.spec_id].append(f)
        written = []
        for spec_id, files in by_spec.items():
            writer = _DeleteManifestWriter(self.spec(spec_id), self.schema(), self.new_manifest_output(),
                                           self._snapshot_id, self._compression)
            with writer:
                for f in files:
                    writer.add_entry(ManifestEntry.from_args(
                        status=ManifestEntryStatus.ADDED, snapshot_id=self._snapshot_id, data_file=f))
            written.append(writer.to_manifest_file())
        return written + manifests

    def _summary(self, snapshot_properties: Mapping[str, str] | None = None) -> Summary:
        data = self._added_data_files
        self._added_data_files = [*data, *self._delete_files]  # counted as added delete files
        try:
            return super()._summary(dict(snapshot_properties or {}))
        finally:
            self._added_data_files = data


class DeletesDroppingOverwrite(_OverwriteFiles):
    """An overwrite whose snapshot also drops its parent's position-delete files (when
    ``drop_deletes``): the caller deletes or rewrites every data file they apply to (a full load;
    compaction of every partition holding delete files). They are counted as removed delete files,
    so the summary's ``total-position-deletes`` stays right."""

    drop_deletes = True

    def _existing_manifests(self) -> list[ManifestFile]:
        kept = super()._existing_manifests()
        return [m for m in kept if m.content == ManifestContent.DATA] if self.drop_deletes else kept

    def _parent_delete_files(self) -> list[DataFile]:
        parent = self._transaction.table_metadata.snapshot_by_id(self._parent_snapshot_id or -1)
        if parent is None:
            return []
        return [entry.data_file for m in parent.manifests(self._io) if m.content == ManifestContent.DELETES
                for entry in m.fetch_manifest_entry(self._io, discard_deleted=True)]

    def _summary(self, snapshot_properties: Mapping[str, str] | None = None) -> Summary:
        saved = self._deleted_data_files
        if self.drop_deletes:
            self._deleted_data_files = {*saved, *self._parent_delete_files()}
        try:
            return super()._summary(dict(snapshot_properties or {}))
        finally:
            self._deleted_data_files = saved


def _spec_id(data_file: DataFile, table: Table) -> int:
    """The data file's partition spec (files planned by a scan may not carry it: the table's then)."""
    try:
        return data_file.spec_id
    except AttributeError:
        return table.metadata.default_spec_id


def _long(value: int) -> bytes:
    return int(value).to_bytes(8, "little", signed=True)


def write_position_deletes(table: Table, positions: Mapping[DataFile, pa.Array],
                           commit_uuid: uuid.UUID) -> list[DataFile]:
    """One position-delete file per partition for ``positions`` (row numbers per data file)."""
    groups: dict[tuple[int, object], list[tuple[DataFile, pa.Array]]] = defaultdict(list)
    for data_file, pos in positions.items():
        if len(pos):
            groups[(_spec_id(data_file, table), data_file.partition)].append((data_file, pos))

    def write(n: int, spec_id: int, partition: Any, files: list[tuple[DataFile, pa.Array]]) -> DataFile:
        files.sort(key=lambda item: item[0].file_path)
        paths = pa.array([f.file_path for f, pos in files for _ in range(len(pos))], pa.string())
        pos = pa.concat_arrays([pa.array(p, pa.int64()).sort() for _, p in files])
        rows = pa.Table.from_arrays([paths, pos], schema=POSITION_DELETE_SCHEMA)
        location = table.location_provider().new_data_location(f"{commit_uuid}-deletes-{n:05d}.parquet")
        output = table.io.new_output(location)
        with output.create(overwrite=True) as stream:
            pq.write_table(rows, stream)
        first, last = files[0][0].file_path, files[-1][0].file_path
        delete_file = DataFile.from_args(
            content=DataFileContent.POSITION_DELETES,
            file_path=location,
            file_format=FileFormat.PARQUET,
            partition=partition,
            record_count=rows.num_rows,
            file_size_in_bytes=len(table.io.new_input(location)),
            lower_bounds={FILE_PATH_ID: first.encode(), POS_ID: _long(pc.min(pos).as_py())},
            upper_bounds={FILE_PATH_ID: last.encode(), POS_ID: _long(pc.max(pos).as_py())},
            sort_order_id=None,
            equality_ids=None,
            key_metadata=None,
        )
        delete_file.spec_id = spec_id  # from_args does not set it
        return delete_file

    jobs = [(n, key[0], key[1], files) for n, (key, files) in enumerate(groups.items())]
    return list(ExecutorFactory.get_or_create().map(lambda job: write(job[0], job[1], job[2], job[3]), jobs))
