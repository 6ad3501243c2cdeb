"""EmbeddedRunPublisher: phase 2 staged in the SQLite catalog, published in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lakehouse_core.iceberg.catalog import open_embedded_catalog
from lakehouse_core.settings import LakehouseSettings

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog

    from lakehouse_core.iceberg.staging import StagingSqlCatalog

# lakehouse_core.iceberg.staging (SQLAlchemy, about 17 MB) is imported by the methods that stage or
# publish: a process that only reads (the TUI until it runs phase 2) never loads it.


class EmbeddedRunPublisher:
    """Stages through a StagingSqlCatalog; publishes with ``move_pointers`` (all tables at once)."""

    def __init__(self, settings: LakehouseSettings, open_catalog: Callable[[], SqlCatalog]) -> None:
        self.settings = settings
        self._open_catalog = open_catalog

    def open_write_catalog(self, run_id: str) -> StagingSqlCatalog:
        from lakehouse_core.iceberg.staging import StagingSqlCatalog

        catalog = open_embedded_catalog(self.settings, staging=True)
        assert isinstance(catalog, StagingSqlCatalog)
        return catalog

    def staged(self, catalog: Any, run_id: str) -> dict[str, dict[str, Any]]:
        from lakehouse_core.iceberg.staging import StagingSqlCatalog, staged_entry

        assert isinstance(catalog, StagingSqlCatalog)
        out = {}
        for key, pointer in catalog.staged.items():
            entry = staged_entry(catalog.load_table(key))
            out[key] = {**entry, "commit": pointer.staged, "base": pointer.base}
        return out

    def publish(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        from lakehouse_core.iceberg.staging import StagedPointer, move_pointers, published_locations

        moves = {
            key: StagedPointer(t.get("base"), str(t["commit"]))
            for key, t in manifest.get("tables", {}).items()
        }
        catalog = self._open_catalog()
        now = published_locations(catalog, list(moves))
        if moves and all(now[key] == move.staged for key, move in moves.items()):
            return {}  # published before a kill stopped the manifest's update
        move_pointers(catalog, moves)
        return {}

    def discard(self, manifest: Mapping[str, Any]) -> None:
        """Nothing references a discarded run's staged metadata: table maintenance removes it."""

    def published_run(self) -> str | None:
        from lakehouse_core.iceberg.staging import published_run

        return published_run(self._open_catalog())

    def published_rows(self) -> dict[str, int]:
        from lakehouse_core.iceberg.staging import published_rows

        return published_rows(self._open_catalog())

    def published_fingerprint(self) -> str | None:
        from lakehouse_core.iceberg.staging import published_fingerprint

        return published_fingerprint(self._open_catalog())
