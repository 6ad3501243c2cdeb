"""IcebergCatalogBrowser: ports.CatalogBrowser over any pyiceberg Catalog (SqlCatalog when embedded).

Refs are Iceberg refs of tables (branches/tags belong to one table). A ``ref`` argument selects the
table's branch/tag of that name; a table without it raises NotFoundError.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError
from pyiceberg.table import Table

from lakehouse_core.errors import LakehouseError, NotFoundError
from lakehouse_core.iceberg import ops
from lakehouse_core.iceberg.convert import arrow_type_names, live_rows
from lakehouse_core.models import (
    DataFileInfo,
    Namespace,
    PartitionStat,
    QueryResult,
    RefInfo,
    ScanPlan,
    SchemaVersion,
    SnapshotDiff,
    SnapshotInfo,
    TableDetail,
    TableRef,
)

logger = logging.getLogger(__name__)


class IcebergCatalogBrowser:
    """Namespaces, tables, snapshots, refs, files and previews of a pyiceberg catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    # ------------------------------------------------------------ helpers
    def _table(self, table: TableRef) -> Table:
        return ops.load_table(self._catalog, table)

    def _snapshot_id(
        self, tbl: Table, table: TableRef, snapshot_id: int | None, ref: str | None
    ) -> int | None:
        snap = ops.resolve_snapshot(tbl, snapshot_id=snapshot_id, ref=ref, name=table.identifier)
        return snap.snapshot_id if snap is not None else None

    def _all_tables(self) -> list[TableRef]:
        out: list[TableRef] = []
        for ns in self.list_namespaces():
            out.extend(self.list_tables(ns))
        return out

    # ------------------------------------------------------------ refs
    def list_refs(self, table: TableRef | None = None) -> list[RefInfo]:
        """Iceberg refs of ``table``, or of every table (each RefInfo names its table)."""
        tables = [table] if table is not None else self._all_tables()
        refs: list[RefInfo] = []
        for t in tables:
            refs.extend(ops.ref_infos(self._table(t), t.identifier))
        return refs

    def create_ref(
        self,
        name: str,
        kind: Literal["branch", "tag"],
        *,
        table: TableRef | None = None,
        snapshot_id: int | None = None,
        from_ref: str | None = None,
    ) -> RefInfo:
        """Create a branch/tag of ``table`` at ``snapshot_id`` (or the head of ``from_ref``, or current)."""
        if table is None:
            raise LakehouseError(
                "Iceberg table refs belong to one table: choose a table first", title="Table needed"
            )
        tbl = self._table(table)
        if snapshot_id is None and from_ref:
            snapshot_id = self._snapshot_id(tbl, table, None, from_ref)
        return ops.create_ref(tbl, name, kind, snapshot_id=snapshot_id, identifier=table.identifier)

    # ------------------------------------------------------------ namespaces + tables
    def list_namespaces(self, ref: str | None = None) -> list[Namespace]:
        return sorted(tuple(ns) for ns in self._catalog.list_namespaces())

    def list_tables(self, namespace: Namespace, ref: str | None = None) -> list[TableRef]:
        try:
            idents = self._catalog.list_tables(namespace)
        except NoSuchNamespaceError as exc:
            raise NotFoundError(f"namespace {'.'.join(namespace)} does not exist") from exc
        refs = [TableRef(tuple(i[:-1]), i[-1]) for i in idents]
        return sorted(refs, key=lambda r: r.identifier)

    def table_detail(self, table: TableRef, ref: str | None = None) -> TableDetail:
        tbl = self._table(table)
        detail = ops.table_detail(tbl, table)
        if ref:
            snap = ops.resolve_snapshot(tbl, ref=ref, name=table.identifier)
            assert snap is not None
            total = live_rows(snap.summary.additional_properties) if snap.summary else 0
            detail = TableDetail(
                table=detail.table, location=detail.location, format_version=detail.format_version,
                current_snapshot_id=snap.snapshot_id, fields=detail.fields,
                partition_spec=detail.partition_spec, properties=detail.properties,
                row_count=int(total or 0), metadata_location=detail.metadata_location,
            )
        return detail

    # ------------------------------------------------------------ history
    def snapshots(self, table: TableRef, ref: str | None = None) -> list[SnapshotInfo]:
        """Snapshots oldest first; with ``ref``, only the ancestry of that ref's head."""
        tbl = self._table(table)
        snaps = sorted(tbl.snapshots(), key=lambda s: (s.timestamp_ms, s.sequence_number or 0))
        if ref:
            head = ops.resolve_snapshot(tbl, ref=ref, name=table.identifier)
            ancestry: set[int] = set()
            current = head
            while current is not None and current.snapshot_id not in ancestry:
                ancestry.add(current.snapshot_id)
                parent = current.parent_snapshot_id
                current = tbl.snapshot_by_id(parent) if parent is not None else None
            snaps = [s for s in snaps if s.snapshot_id in ancestry]
        return [ops.snapshot_info(s) for s in snaps]

    def schema_history(self, table: TableRef, ref: str | None = None) -> list[SchemaVersion]:
        return ops.schema_versions(self._table(table))

    def partition_stats(
        self, table: TableRef, snapshot_id: int | None = None, ref: str | None = None
    ) -> list[PartitionStat]:
        tbl = self._table(table)
        return ops.partition_stats(tbl, self._snapshot_id(tbl, table, snapshot_id, ref))

    def files(
        self, table: TableRef, snapshot_id: int | None = None, ref: str | None = None
    ) -> list[DataFileInfo]:
        tbl = self._table(table)
        return ops.data_files(tbl, self._snapshot_id(tbl, table, snapshot_id, ref))

    # ------------------------------------------------------------ data
    def preview(
        self, table: TableRef, snapshot_id: int | None = None, limit: int = 100, ref: str | None = None
    ) -> QueryResult:
        """First ``limit`` rows as of a snapshot/ref (current when None); ``truncated`` when more exist."""
        started = time.perf_counter()
        tbl = self._table(table)
        sid = self._snapshot_id(tbl, table, snapshot_id, ref)
        data = ops.read_as_of(tbl, snapshot_id=sid, limit=limit + 1) if sid is not None else (
            tbl.schema().as_arrow().empty_table()
        )
        truncated = data.num_rows > limit
        data = data.slice(0, limit)
        return QueryResult(
            columns=tuple(data.column_names),
            types=arrow_type_names(data.schema),
            table=data,
            engine="pyiceberg",
            elapsed_s=time.perf_counter() - started,
            truncated=truncated,
            sql=f"preview {table.identifier}" + (f" @ {sid}" if sid is not None else ""),
        )

    def diff_snapshots(
        self, table: TableRef, from_snapshot: int, to_snapshot: int, sample: int = 10
    ) -> SnapshotDiff:
        return ops.diff_snapshots(
            self._table(table), from_snapshot, to_snapshot, sample=sample, name=table.identifier
        )

    def scan_plan(self, table: TableRef, row_filter: str, ref: str | None = None) -> ScanPlan:
        tbl = self._table(table)
        sid = self._snapshot_id(tbl, table, None, ref)
        return ops.scan_plan(tbl, row_filter, snapshot_id=sid, name=table.identifier)
