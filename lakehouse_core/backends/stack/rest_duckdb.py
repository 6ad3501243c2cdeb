"""RestDuckDbSqlEngine: stack-mode SQL without Dremio.

DuckDB reads the Iceberg tables that Nessie's Iceberg REST catalog serves (branch
``settings.nessie.ref``), with the httpfs extension and an S3 secret for MinIO. It reuses
DuckDbSqlEngine (views over ``iceberg_scan``); time travel to a snapshot of an older Nessie commit
reads that commit's metadata file. As of a Nessie branch, tag or commit hash (``AsOf(ref=...)``)
every table is read from the Iceberg REST catalog of that ref (``/iceberg/<ref>``, ``@<hash>`` for a
commit). Nothing touches the network until the first query.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Callable
from urllib.parse import urlparse

from pyiceberg.table import Table

from lakehouse_core.backends.stack.iceberg_rest import (
    NessieRestCatalog,
    open_rest_catalog,
    rest_errors,
)
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine, check_read_only
from lakehouse_core.errors import (
    LakehouseError,
    NotFoundError,
    QueryError,
    ServiceUnavailableError,
    unavailable_error,
)
from lakehouse_core.models import AsOf, QueryResult
from lakehouse_core.paths import DataPaths
from lakehouse_core.ports import FirstPageCallback
from lakehouse_core.settings import LakehouseSettings, MinioSettings

logger = logging.getLogger(__name__)

ENGINE_NAME = "duckdb (Nessie REST fallback)"
COMMIT_HASH = re.compile(r"[0-9a-fA-F]{16,64}")
"""A Nessie commit hash (Nessie 0.99 accepts only full hashes; shorter ones are 'not found')."""


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def s3_secret_sql(minio: MinioSettings) -> str:
    """``CREATE SECRET`` for MinIO: key, secret, region, endpoint host:port, path style, SSL per URL."""
    url = urlparse(minio.endpoint)
    endpoint = url.netloc or url.path
    return (
        "CREATE OR REPLACE SECRET lakehouse_minio (TYPE s3, "
        f"KEY_ID {_sql_literal(minio.access_key)}, "
        f"SECRET {_sql_literal(minio.secret_key.get_secret_value())}, "
        f"REGION {_sql_literal(minio.region)}, "
        f"ENDPOINT {_sql_literal(endpoint)}, URL_STYLE 'path', "
        f"USE_SSL {'true' if url.scheme == 'https' else 'false'})"
    )


def historic_table(tbl: Table, snapshot_id: int) -> Table:
    """The Table read at the metadata file of the Nessie commit that made ``snapshot_id`` (the
    history its NessieRestCatalog rebuilt when loading it); ``tbl`` itself otherwise."""
    catalog = tbl.catalog
    if not isinstance(catalog, NessieRestCatalog):
        return tbl
    location = catalog.metadata_location_for(snapshot_id)
    if not location or location == tbl.metadata_location:
        return tbl
    return Table(tbl.name(), metadata=tbl.metadata, metadata_location=location, io=tbl.io, catalog=catalog)


def nessie_ref_spec(client: NessieClient, text: str) -> str:
    """What Nessie's APIs take for a user's ref ``text``: a branch or tag name, ``name@hash``, or
    ``@hash`` for a bare commit hash (a ref of that name wins over a hash).

    Raises:
        NotFoundError: no branch, tag or commit of that name/hash.
        ServiceUnavailableError: Nessie could not be reached.
    """
    value = text.strip()
    if "@" not in value:
        try:
            return client.get_ref(value).name
        except NotFoundError:
            pass
        except ServiceUnavailableError:
            raise
        except LakehouseError:  # HTTP 400: not a valid ref name (e.g. a hash starting with a digit)
            pass
        if not COMMIT_HASH.fullmatch(value):
            raise NotFoundError(f"no Nessie branch, tag or commit {value!r}")
        value = f"@{value}"
    try:
        client.commit_log(value, limit=1)
    except ServiceUnavailableError:
        raise
    except LakehouseError as exc:
        raise NotFoundError(f"no Nessie branch, tag or commit {text.strip()!r}") from exc
    return value


def open_rest_duckdb(
    catalog: NessieRestCatalog,
    settings: LakehouseSettings,
    ref_catalog: Callable[[str], NessieRestCatalog] | None = None,
) -> DuckDbSqlEngine:
    """DuckDbSqlEngine over ``catalog`` reading MinIO itself (httpfs + S3 secret + http timeout);
    ``ref_catalog`` gives the catalog of another Nessie ref (as-of a ref).

    DuckDB may read the warehouse bucket and nothing else (``duckdb_session.sandbox``)."""
    return DuckDbSqlEngine(
        catalog,
        query_timeout_s=settings.query_timeout_s,
        extra_extensions=("httpfs",),
        init_sql=(s3_secret_sql(settings.minio), f"SET http_timeout = {int(settings.http_timeout_s * 1000)}"),
        snapshot_table=historic_table,
        ref_catalog=ref_catalog,
        readable=(f"s3://{settings.minio.warehouse_bucket}/",),
        spool_dir=DataPaths(settings.data_path).spool,
        spool_bytes=int(settings.result_spool_mb * 2**20),
    )


class RestDuckDbSqlEngine:
    """ports.SqlEngine: DuckDB over the Nessie Iceberg REST catalog (the stack fallback without Dremio)."""

    name = ENGINE_NAME
    supports_cancel = True

    def __init__(self, settings: LakehouseSettings, client: NessieClient | None = None) -> None:
        self._settings = settings
        self._client = client or NessieClient(settings)
        self._engine: DuckDbSqlEngine | None = None
        self._catalogs: dict[str, NessieRestCatalog] = {}
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

    def _get_engine(self) -> DuckDbSqlEngine:
        with self._lock:
            if self._engine is None:
                catalog = open_rest_catalog(self._settings, self.ref, history=self._client)
                self._catalogs[self.ref] = catalog
                self._engine = open_rest_duckdb(catalog, self._settings, self.ref_catalog)
            return self._engine

    def ref_catalog(self, ref: str) -> NessieRestCatalog:
        """The history-enabled RestCatalog of Nessie branch, tag or commit ``ref`` (one per ref, kept).

        Raises:
            NotFoundError: Nessie has no such branch, tag or commit.
        """
        spec = nessie_ref_spec(self._client, ref)
        with self._lock:
            catalog = self._catalogs.get(spec)
        if catalog is None:
            catalog = open_rest_catalog(self._settings, spec, history=self._client)
            with self._lock:
                catalog = self._catalogs.setdefault(spec, catalog)
        return catalog

    def execute(
        self,
        sql: str,
        *,
        limit: int | None = None,
        as_of: AsOf | None = None,
        on_first_page: FirstPageCallback | None = None,
    ) -> QueryResult:
        """Run one statement over the Iceberg tables of branch ``settings.nessie.ref``, or of the
        Nessie branch, tag or commit ``as_of.ref`` (streamed as by the embedded engine:
        ``on_first_page`` gets the first batch).

        Raises:
            QueryError: a statement that does not only read (refused before Nessie is asked), or
                DuckDB's own message, with this engine's name.
            ServiceUnavailableError: Nessie or MinIO could not be reached (service + cause).
        """
        try:
            check_read_only(sql)
            with rest_errors():
                first_page = None
                if on_first_page is not None:
                    callback = on_first_page

                    def first_page(first: QueryResult) -> None:
                        callback(dataclasses.replace(first, engine=ENGINE_NAME))

                result = self._get_engine().execute(sql, limit=limit, as_of=as_of, on_first_page=first_page)
        except QueryError as exc:
            down = unavailable_error(exc)
            if down is not None:
                raise down from exc
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
            self._catalogs.clear()
        self._client.close()

    def __repr__(self) -> str:
        return f"RestDuckDbSqlEngine(ref={self.ref!r})"
