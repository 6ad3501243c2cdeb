"""Open the embedded Iceberg catalog (pyiceberg SqlCatalog on SQLite + a local warehouse)."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlparse

from pyiceberg.catalog.sql import SqlCatalog

from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

CATALOG_NAME = "lakehouse"
READER_IO = "pyiceberg.io.fsspec.FsspecFileIO"
"""FileIO of the catalog that only reads (browsing, SQL views, status probes): loading table metadata
through it does not import ``pyiceberg.io.pyarrow`` (and with it ``pyarrow.dataset`` and pandas, about
60 MB of the TUI's memory); scans still go through pyarrow, wrapped by pyiceberg."""


def _sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///...`` URL (None for other URLs or in-memory)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.endswith(":memory:"):
        return None
    return Path(url[len(prefix):])


def open_embedded_catalog(
    settings: LakehouseSettings, *, for_reading: bool = False, staging: bool = False
) -> SqlCatalog:
    """SqlCatalog on ``settings.catalog_url`` with warehouse ``settings.warehouse_uri``; creates the dirs.

    ``for_reading``: a catalog for readers (the browser, SQL engines, probes), with the lighter FileIO
    ``READER_IO``; writers (phase 2, maintenance) keep pyiceberg's default pyarrow FileIO.
    ``staging``: a StagingSqlCatalog (phase 2), whose commits stay invisible until ``move_pointers``.
    """
    db = _sqlite_file(settings.catalog_url)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    warehouse = settings.warehouse_uri
    parsed = urlparse(warehouse)
    if parsed.scheme in ("", "file"):
        Path(parsed.path if parsed.scheme else warehouse).mkdir(parents=True, exist_ok=True)
    logger.debug("opening SqlCatalog %s (warehouse %s)", settings.catalog_url, warehouse)
    properties = {"py-io-impl": READER_IO} if for_reading else {}
    if staging:
        from lakehouse_core.iceberg.staging import StagingSqlCatalog

        return StagingSqlCatalog(CATALOG_NAME, uri=settings.catalog_url, warehouse=warehouse, **properties)
    return SqlCatalog(CATALOG_NAME, uri=settings.catalog_url, warehouse=warehouse, **properties)
