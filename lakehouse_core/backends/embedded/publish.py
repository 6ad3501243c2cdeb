"""EmbeddedRunPublisher: phase 2 staged in the SQLite catalog, published in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from lakehouse_core.iceberg.catalog import open_embedded_catalog
from lakehouse_core.iceberg.promote import RUN_ID_PROPERTY
from lakehouse_core.iceberg.staging import StagedPointer, StagingSqlCatalog, move_pointers, published_locations
from lakehouse_core.iceberg.tables import TABLES
from lakehouse_core.phases.wap import SOURCE_RUN_PROPERTY
from lakehouse_core.settings import LakehouseSettings


def staged_entry(table: Table) -> dict[str, Any]:
    """What the manifest and the audits need of a table's current snapshot."""
    snap = table.current_snapshot()
    summary = snap.summary if snap is not None else None
    return {
        "rows": int(summary["total-records"]) if summary is not None else 0,
        "spec": [[f.source_id, str(f.transform), f.name] for f in table.spec().fields],
        "run_id": summary.get(RUN_ID_PROPERTY) if summary is not None else None,
        "source_run": summary.get(SOURCE_RUN_PROPERTY) if summary is not None else None,
        "snapshot_id": snap.snapshot_id if snap is not None else None,
    }


class EmbeddedRunPublisher:
    """Stages through a StagingSqlCatalog; publishes with ``move_pointers`` (all tables at once)."""

    def __init__(self, settings: LakehouseSettings, open_catalog: Callable[[], SqlCatalog]) -> None:
        self.settings = settings
        self._open_catalog = open_catalog

    def open_write_catalog(self, run_id: str) -> StagingSqlCatalog:
        catalog = open_embedded_catalog(self.settings, staging=True)
        assert isinstance(catalog, StagingSqlCatalog)
        return catalog

    def staged(self, catalog: Any, run_id: str) -> dict[str, dict[str, Any]]:
        assert isinstance(catalog, StagingSqlCatalog)
        out = {}
        for key, pointer in catalog.staged.items():
            entry = staged_entry(catalog.load_table(key))
            out[key] = {**entry, "commit": pointer.staged, "base": pointer.base}
        return out

    def publish(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        moves = {
            key: StagedPointer(t.get("base"), str(t["commit"])) for key, t in manifest.get("tables", {}).items()
        }
        catalog = self._open_catalog()
        now = published_locations(catalog, list(moves))
        if moves and all(now[key] == move.staged for key, move in moves.items()):
            return {}  # published before a kill stopped the manifest's update
        move_pointers(catalog, moves)
        return {}

    def discard(self, manifest: Mapping[str, Any]) -> None:
        """Nothing references a discarded run's staged metadata: table maintenance removes it."""

    def _current(self) -> dict[str, Table]:
        catalog = self._open_catalog()
        out = {}
        for definition in TABLES:
            try:
                out[definition.identifier] = catalog.load_table(definition.identifier)
            except NoSuchTableError:
                continue
        return out

    def published_run(self) -> str | None:
        tables = self._current()
        if not tables:
            return None
        run_id = staged_entry(next(iter(tables.values())))["run_id"]
        return str(run_id) if run_id else None

    def published_rows(self) -> dict[str, int]:
        return {key: int(staged_entry(table)["rows"]) for key, table in self._current().items()}
