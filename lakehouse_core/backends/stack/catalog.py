"""NessieCatalogBrowser: ports.CatalogBrowser over Nessie (catalog-wide branches/tags).

Refs come from the Nessie API; everything about tables is delegated to the catalog-agnostic
IcebergCatalogBrowser running on a per-ref pyiceberg RestCatalog (``/iceberg/<ref>``) whose tables
carry their full snapshot history rebuilt from Nessie commits. Transport failures of either path
surface as ServiceUnavailableError.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Literal, TypeVar

from lakehouse_core.backends.stack.iceberg_rest import (
    NessieRestCatalog,
    open_rest_catalog,
    rest_errors,
)
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.errors import LakehouseError, NotFoundError
from lakehouse_core.iceberg.browser import IcebergCatalogBrowser
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
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")


class NessieCatalogBrowser:
    """Branches/tags from Nessie; namespaces, tables, snapshots and files through Iceberg REST."""

    def __init__(self, settings: LakehouseSettings, client: NessieClient) -> None:
        self._settings = settings
        self._client = client
        self._browsers: dict[str, tuple[NessieRestCatalog, IcebergCatalogBrowser]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ per-ref delegation
    def _ref_name(self, ref: str | None) -> str:
        return ref or self._settings.nessie.ref or self._client.default_branch

    def _pair(self, ref: str | None) -> tuple[NessieRestCatalog, IcebergCatalogBrowser]:
        name = self._ref_name(ref)
        with self._lock:
            cached = self._browsers.get(name)
        if cached is not None:
            return cached
        catalog = open_rest_catalog(self._settings, name, history=self._client)
        pair = (catalog, IcebergCatalogBrowser(catalog))
        with self._lock:
            self._browsers[name] = pair
        return pair

    def browser(self, ref: str | None = None) -> IcebergCatalogBrowser:
        """The (cached) table browser of Nessie ref ``ref`` (``settings.nessie.ref`` when None)."""
        return self._pair(ref)[1]

    def rest_catalog(self, ref: str | None = None) -> NessieRestCatalog:
        """The (cached) history-enabled RestCatalog of Nessie ref ``ref``."""
        return self._pair(ref)[0]

    def forget(self, ref: str | None = None) -> None:
        """Drop cached catalogs (one ref, or all when None), e.g. after a server restart."""
        with self._lock:
            if ref is None:
                self._browsers.clear()
            else:
                self._browsers.pop(ref, None)

    def _call(self, ref: str | None, fn: Callable[[IcebergCatalogBrowser], T]) -> T:
        with rest_errors():
            return fn(self.browser(ref))

    # ------------------------------------------------------------ refs
    def list_refs(self, table: TableRef | None = None) -> list[RefInfo]:
        """Catalog-wide Nessie branches and tags (``table`` is ignored: refs span every table)."""
        return self._client.list_refs()

    def create_ref(
        self,
        name: str,
        kind: Literal["branch", "tag"],
        *,
        table: TableRef | None = None,
        snapshot_id: int | None = None,
        from_ref: str | None = None,
    ) -> RefInfo:
        """Create a Nessie branch/tag from the HEAD of ``from_ref`` (default branch when None)."""
        if snapshot_id is not None:
            raise LakehouseError(
                "Nessie branches and tags are created from a ref, not from a table snapshot",
                title="Not supported",
            )
        if kind == "tag":
            return self._client.create_tag(name, from_ref)
        return self._client.create_branch(name, from_ref)

    # ------------------------------------------------------------ namespaces + tables
    def list_namespaces(self, ref: str | None = None) -> list[Namespace]:
        return self._call(ref, lambda b: b.list_namespaces())

    def list_tables(self, namespace: Namespace, ref: str | None = None) -> list[TableRef]:
        """Tables of ``namespace`` (NotFoundError when the namespace does not exist on the ref)."""
        tables = self._call(ref, lambda b: b.list_tables(namespace))
        if not tables:  # Nessie answers an empty list, not 404, for a missing namespace
            with rest_errors():
                exists = self.rest_catalog(ref).namespace_exists(namespace)
            if not exists:
                raise NotFoundError(
                    f"namespace {'.'.join(namespace)} does not exist on {self._ref_name(ref)}"
                )
        return tables

    def table_detail(self, table: TableRef, ref: str | None = None) -> TableDetail:
        return self._call(ref, lambda b: b.table_detail(table))

    def snapshots(self, table: TableRef, ref: str | None = None) -> list[SnapshotInfo]:
        """Snapshots of ``table`` on Nessie ref ``ref``, oldest first (one per Nessie commit)."""
        return self._call(ref, lambda b: b.snapshots(table))

    def schema_history(self, table: TableRef, ref: str | None = None) -> list[SchemaVersion]:
        return self._call(ref, lambda b: b.schema_history(table))

    def partition_stats(
        self, table: TableRef, snapshot_id: int | None = None, ref: str | None = None
    ) -> list[PartitionStat]:
        return self._call(ref, lambda b: b.partition_stats(table, snapshot_id))

    def files(
        self, table: TableRef, snapshot_id: int | None = None, ref: str | None = None
    ) -> list[DataFileInfo]:
        return self._call(ref, lambda b: b.files(table, snapshot_id))

    def preview(
        self, table: TableRef, snapshot_id: int | None = None, limit: int = 100, ref: str | None = None
    ) -> QueryResult:
        return self._call(ref, lambda b: b.preview(table, snapshot_id, limit))

    def diff_snapshots(
        self, table: TableRef, from_snapshot: int, to_snapshot: int, sample: int = 10
    ) -> SnapshotDiff:
        """Rows added/removed between two snapshots (looked up on the ETL branch, then the default)."""
        last: LakehouseError | None = None
        for ref in dict.fromkeys((self._settings.nessie.ref, self._client.default_branch)):
            try:
                return self._call(
                    ref, lambda b: b.diff_snapshots(table, from_snapshot, to_snapshot, sample)
                )
            except NotFoundError as exc:
                last = exc
        assert last is not None
        raise last

    def scan_plan(self, table: TableRef, row_filter: str, ref: str | None = None) -> ScanPlan:
        return self._call(ref, lambda b: b.scan_plan(table, row_filter))
