"""Open the embedded Iceberg catalog (pyiceberg SqlCatalog on SQLite + a local warehouse)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from lakehouse_core.paths import sqlite_file
from lakehouse_core.settings import LakehouseSettings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.catalog.sql import SqlCatalog

logger = logging.getLogger(__name__)

CATALOG_NAME = "lakehouse"
READER_IO = "pyiceberg.io.fsspec.FsspecFileIO"
"""FileIO of the catalog that only reads (browsing, SQL views, status probes): loading table metadata
through it does not import ``pyiceberg.io.pyarrow`` (and with it ``pyarrow.dataset`` and pandas, about
60 MB of the TUI's memory); scans still go through pyarrow, wrapped by pyiceberg."""


def open_embedded_catalog(settings: LakehouseSettings, *, staging: bool = False) -> SqlCatalog:
    """SqlCatalog on ``settings.catalog_url`` with warehouse ``settings.warehouse_uri``; creates the dirs
    (and SqlCatalog its tables): the catalog of writers (phase 2, maintenance).

    ``staging``: a StagingSqlCatalog (phase 2), whose commits stay invisible until ``move_pointers``.
    """
    from pyiceberg.catalog.sql import SqlCatalog

    db = sqlite_file(settings.catalog_url)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    warehouse = settings.warehouse_uri
    parsed = urlparse(warehouse)
    if parsed.scheme in ("", "file"):
        Path(parsed.path if parsed.scheme else warehouse).mkdir(parents=True, exist_ok=True)
    logger.debug("opening SqlCatalog %s (warehouse %s)", settings.catalog_url, warehouse)
    if staging:
        from lakehouse_core.iceberg.staging import StagingSqlCatalog

        return StagingSqlCatalog(CATALOG_NAME, uri=settings.catalog_url, warehouse=warehouse)
    return SqlCatalog(CATALOG_NAME, uri=settings.catalog_url, warehouse=warehouse)


def open_embedded_reader(settings: LakehouseSettings, writer: Callable[[], Catalog]) -> Catalog:
    """The catalog of readers (the browser, SQL engines, probes): nothing is created by opening it.

    On SQLite, a ``SqliteCatalogReader`` (no SQLAlchemy; a missing database reads as empty); on other
    databases a SqlCatalog. Both load metadata through the lighter FileIO ``READER_IO``; what they
    commit (a new ref of a loaded table) goes through ``writer``.
    """
    db = sqlite_file(settings.catalog_url)
    if db is None:
        from pyiceberg.catalog.sql import SqlCatalog

        uri, warehouse = settings.catalog_url, settings.warehouse_uri
        return SqlCatalog(CATALOG_NAME, uri=uri, warehouse=warehouse, **{"py-io-impl": READER_IO})
    from lakehouse_core.iceberg.sqlite_reader import SqliteCatalogReader

    return SqliteCatalogReader(
        CATALOG_NAME, db, writer, warehouse=settings.warehouse_uri, **{"py-io-impl": READER_IO}
    )
