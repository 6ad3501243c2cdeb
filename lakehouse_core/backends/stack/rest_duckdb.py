"""RestDuckDbSqlEngine: stack-mode SQL without Dremio.

DuckDB reads the Iceberg tables that Nessie's Iceberg REST catalog serves (branch
``settings.nessie.ref``), with the httpfs extension and an S3 secret for MinIO. It reuses
DuckDbSqlEngine (views over ``iceberg_scan``); time travel to a snapshot of an older Nessie commit
reads that commit's metadata file. Nothing touches the network until the first query.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from urllib.parse import urlparse

import duckdb
from pyiceberg.table import Table

from lakehouse_core.backends.stack.iceberg_rest import (
    NessieRestCatalog,
    open_rest_catalog,
    rest_errors,
    s3_down,
)
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine, _extension_file
from lakehouse_core.errors import QueryError, ServiceUnavailableError
from lakehouse_core.models import AsOf, QueryResult
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

ENGINE_NAME = "duckdb (Nessie REST fallback)"


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def s3_secret_sql(settings: LakehouseSettings) -> str:
    """``CREATE SECRET`` for MinIO: key, secret, region, endpoint host:port, path style, SSL per URL."""
    url = urlparse(settings.minio.endpoint)
    endpoint = url.netloc or url.path
    return (
        "CREATE OR REPLACE SECRET lakehouse_minio (TYPE s3, "
        f"KEY_ID {_sql_literal(settings.minio.access_key)}, "
        f"SECRET {_sql_literal(settings.minio.secret_key.get_secret_value())}, "
        f"REGION {_sql_literal(settings.minio.region)}, "
        f"ENDPOINT {_sql_literal(endpoint)}, URL_STYLE 'path', "
        f"USE_SSL {'true' if url.scheme == 'https' else 'false'})"
    )


class _RestDuckDbEngine(DuckDbSqlEngine):
    """DuckDbSqlEngine + httpfs/S3 secret + historic metadata files for old Nessie snapshots."""

    name = ENGINE_NAME

    def __init__(self, catalog: NessieRestCatalog, settings: LakehouseSettings) -> None:
        self._settings = settings
        super().__init__(catalog, query_timeout_s=settings.query_timeout_s)

    def _load_extensions(self) -> bool:
        try:
            self._con.execute(f"LOAD '{_extension_file('httpfs')}'")
            self._con.execute(s3_secret_sql(self._settings))
            timeout_ms = int(self._settings.http_timeout_s * 1000)
            self._con.execute(f"SET http_timeout = {timeout_ms}")
        except (ImportError, StopIteration, duckdb.Error) as exc:
            logger.warning("DuckDB httpfs unavailable (%s); reading through pyiceberg scans", exc)
            return False
        return super()._load_extensions()

    def _create_view(self, key: tuple[str, str], tbl: Table, snapshot_id: int | None) -> None:
        catalog = self._catalog
        if snapshot_id is not None and isinstance(catalog, NessieRestCatalog):
            location = catalog.metadata_location_for(snapshot_id)
            if location and location != tbl.metadata_location:
                tbl = Table(
                    tbl.name(), metadata=tbl.metadata, metadata_location=location,
                    io=tbl.io, catalog=catalog,
                )
        super()._create_view(key, tbl, snapshot_id)


class RestDuckDbSqlEngine:
    """ports.SqlEngine: DuckDB over the Nessie Iceberg REST catalog (the stack fallback without Dremio)."""

    name = ENGINE_NAME
    supports_cancel = True

    def __init__(self, settings: LakehouseSettings, client: NessieClient | None = None) -> None:
        self._settings = settings
        self._client = client or NessieClient(settings)
        self._engine: _RestDuckDbEngine | None = None
        self._lock = threading.Lock()

    @property
    def ref(self) -> str:
        """The Nessie branch queries read."""
        return self._settings.nessie.ref

    @property
    def uses_iceberg_extension(self) -> bool | None:
        """True when DuckDB reads MinIO itself (iceberg + httpfs); None before the first query."""
        engine = self._engine
        return None if engine is None else engine.uses_iceberg_extension

    def _get_engine(self) -> _RestDuckDbEngine:
        with self._lock:
            if self._engine is None:
                catalog = open_rest_catalog(self._settings, self.ref, history=self._client)
                self._engine = _RestDuckDbEngine(catalog, self._settings)
            return self._engine

    def execute(self, sql: str, *, limit: int | None = None, as_of: AsOf | None = None) -> QueryResult:
        """Run one statement over the Iceberg tables of branch ``settings.nessie.ref``.

        Raises:
            QueryError: DuckDB's own message, with this engine's name.
            ServiceUnavailableError: Nessie or MinIO could not be reached (service + cause).
        """
        try:
            with rest_errors():
                result = self._get_engine().execute(sql, limit=limit, as_of=as_of)
        except QueryError as exc:
            if s3_down(exc.message):
                raise ServiceUnavailableError("minio", f"connection refused ({exc.message})") from exc
            raise QueryError(exc.message, ENGINE_NAME) from exc
        return dataclasses.replace(result, engine=ENGINE_NAME)

    def cancel(self) -> None:
        """Interrupt the running statement (no-op when idle)."""
        engine = self._engine
        if engine is not None:
            engine.cancel()

    def close(self) -> None:
        """Close the DuckDB connection and the Nessie client."""
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
        self._client.close()

    def __repr__(self) -> str:
        return f"RestDuckDbSqlEngine(ref={self.ref!r})"
