"""Open the embedded Iceberg catalog (pyiceberg SqlCatalog on SQLite + a local warehouse)."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlparse

from pyiceberg.catalog.sql import SqlCatalog

from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

CATALOG_NAME = "lakehouse"


def _sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///...`` URL (None for other URLs or in-memory)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.endswith(":memory:"):
        return None
    return Path(url[len(prefix):])


def open_embedded_catalog(settings: LakehouseSettings) -> SqlCatalog:
    """SqlCatalog on ``settings.catalog_url`` with warehouse ``settings.warehouse_uri``; creates the dirs."""
    db = _sqlite_file(settings.catalog_url)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    warehouse = settings.warehouse_uri
    parsed = urlparse(warehouse)
    if parsed.scheme in ("", "file"):
        Path(parsed.path if parsed.scheme else warehouse).mkdir(parents=True, exist_ok=True)
    logger.debug("opening SqlCatalog %s (warehouse %s)", settings.catalog_url, warehouse)
    return SqlCatalog(CATALOG_NAME, uri=settings.catalog_url, warehouse=warehouse)
