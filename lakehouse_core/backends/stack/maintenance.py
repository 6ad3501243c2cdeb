"""Table maintenance on the Nessie REST catalog (branch ``settings.nessie.ref``).

Nessie keeps every commit of every branch and tag, and each commit can be read (``ref@hash``): a
file the branch's table no longer needs may still be needed by another ref or an older commit. So
every metadata version of the table in the commit history of every Nessie ref protects the files it
references; expiry on the branch shrinks its metadata, and files are freed only once no Nessie commit
needs them any more (Nessie's own GC drops old commits).
"""

from __future__ import annotations

import functools
import logging

from pyiceberg.serializers import FromInputFile
from pyiceberg.table import Table

from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog, rest_errors
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.errors import LakehouseError
from lakehouse_core.iceberg.maintenance import IcebergTableMaintenance
from lakehouse_core.iceberg.maintenance_files import metadata_files, referenced_files
from lakehouse_core.models import MaintenanceReport, TableRef
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 1000
"""Versions of one table read per ref; a longer history leaves the table's files untouched."""


def nessie_protected(client: NessieClient, table: Table) -> set[str]:
    """File keys any version of ``table`` on any Nessie branch or tag (every commit) references."""
    key = ".".join(table.name())
    keys: set[str] = set()
    seen: set[str] = set()
    for ref in client.list_refs():
        versions = client.content_history(ref.name, key, limit=HISTORY_LIMIT)
        if len(versions) >= HISTORY_LIMIT:
            raise LakehouseError(
                f"{key} has {HISTORY_LIMIT}+ versions on Nessie ref {ref.name}; cannot prove which "
                "files are unused, nothing removed"
            )
        for version in versions:
            location = version.metadata_location
            if not location or location in seen:
                continue
            seen.add(location)
            metadata = FromInputFile.table_metadata(table.io.new_input(location))
            logged = metadata_files(location, metadata)
            keys |= referenced_files(table.io, metadata, metadata_locations=logged)
    logger.debug("%s: %d files protected by %d Nessie versions", key, len(keys), len(seen))
    return keys


class NessieTableMaintenance(IcebergTableMaintenance):
    """Maintenance of the tables on ``settings.nessie.ref``, protecting what any Nessie commit needs."""

    def __init__(self, settings: LakehouseSettings, client: NessieClient) -> None:
        catalog = functools.cache(lambda: open_rest_catalog(settings, settings.nessie.ref or None))
        super().__init__(
            catalog, settings.maintenance, protected=functools.partial(nessie_protected, client),
            data_path=settings.data_path,
        )

    def plan(self, table: TableRef | None = None) -> MaintenanceReport:
        with rest_errors():
            return super().plan(table)

    def run(
        self,
        table: TableRef | None = None,
        progress: ProgressSink = NULL_PROGRESS,
        cancel: CancelToken | None = None,
    ) -> MaintenanceReport:
        with rest_errors():
            return super().run(table, progress, cancel)
