"""SparkSqlEngine: stack-mode SQL on Spark, through the Spark Connect server of scripts/services/spark.sh.

Each engine has its own Connect session (``spark.connect_url``). Its catalogs are set on the session:
``lakehouse`` is Nessie's Iceberg REST catalog of branch ``settings.nessie.ref`` (S3FileIO on MinIO),
the session's default catalog, so ``bronze.orders`` names an Iceberg table; as of a Nessie branch, tag
or commit (``AsOf(ref=...)``) another catalog on that ref's REST path becomes the default for the one
statement. A snapshot id or a point in time becomes ``VERSION AS OF`` / ``TIMESTAMP AS OF`` after every
table the statement reads. Only statements the read-only gate (``sqlparse.refused_kind``, Spark
dialect) passes are sent. Rows come back as Arrow batches; ``cancel`` interrupts the statement by its
tag. Nothing touches the network until the first query.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.rest_duckdb import nessie_ref_spec
from lakehouse_core.backends.stack.spark_submit import catalog_confs
from lakehouse_core.errors import (
    CancelledError,
    ConfigError,
    LakehouseError,
    QueryError,
    ServiceUnavailableError,
)
from lakehouse_core.models import AsOf, QueryResult
from lakehouse_core.ports import FirstPageCallback
from lakehouse_core.settings import LakehouseSettings
from lakehouse_core.sqlparse import (
    READ_ONLY_MESSAGE,
    TableRef,
    refused_kind,
    replace_spans,
    table_refs,
    tokenize,
)

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession

logger = logging.getLogger(__name__)

ENGINE = "spark"
DIALECT = "spark"  # sqlglot's name of Spark SQL
CATALOG = "lakehouse"
RETRY_POLICY = {"max_retries": 2, "max_backoff": 2000}
"""The Connect client's retries of an unreachable server (its default waits up to ten minutes)."""
_UNAVAILABLE = ("UNAVAILABLE", "Connection refused", "failed to connect", "DNS resolution failed")


def spark_timestamp(ts: datetime) -> str:
    """A point in time as Spark's ``TIMESTAMP AS OF`` literal, in UTC (the session time zone)."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.strftime("%Y-%m-%d %H:%M:%S.%f")


def apply_as_of(sql: str, as_of: AsOf | None, pinned: Mapping[tuple[str, str], str] | None = None) -> str:
    """Add ``VERSION AS OF <id>`` / ``TIMESTAMP AS OF '<ts>'`` after every table of FROM/JOIN (tables
    from sqlglot's Spark syntax tree: CTE names, table functions and tables with their own clause are
    left alone; the rest of the text is sent as written). A ref is not written into the SQL.

    ``pinned`` maps a table ``(namespace, name)`` to the catalog holding the snapshot (the table at
    the Nessie commit that wrote it): those tables are read from there, and when there are any, only
    they get the clause.

    Raises:
        QueryError: the statement reads tables but sqlglot cannot parse it.
    """
    if as_of is None:
        return sql
    if as_of.snapshot_id is not None:
        clause = f" VERSION AS OF {as_of.snapshot_id}"
    elif as_of.timestamp is not None:
        clause = f" TIMESTAMP AS OF '{spark_timestamp(as_of.timestamp)}'"
    else:
        return sql
    refs = read_tables(sql)
    pinned = pinned or {}
    edits = []
    for ref in refs:
        catalog = pinned.get((ref.namespace, ref.name))
        if catalog is not None:
            edits.append((ref.start, ref.start, f"`{catalog}`."))
        if catalog is not None or not pinned:
            edits.append((ref.end, ref.end, clause))
    return replace_spans(sql, edits)


def read_tables(sql: str) -> list[TableRef]:
    """The tables of FROM/JOIN clauses without a time-travel clause of their own.

    Raises:
        QueryError: the statement reads tables but sqlglot cannot parse it.
    """
    refs = table_refs(sql, DIALECT)
    if refs is None:
        if not any(t.text.upper() in ("FROM", "JOIN") for t in tokenize(sql, DIALECT)):
            return []
        raise QueryError("cannot apply the as-of: the statement could not be parsed", ENGINE)
    return [r for r in refs if r.in_from and not r.time_travel]


def one_line(exc: BaseException) -> str:
    """The engine's message on one line (Spark appends the analysed plan and the JVM stack trace)."""
    text = str(exc).strip()
    details = re.search(r'details = "([^"]*)"', text)  # a gRPC error (the server could not be reached)
    if details:
        return details.group(1)
    first = text.splitlines()[0] if text else type(exc).__name__
    return first.rstrip("; ") or type(exc).__name__


def _is_unavailable(exc: BaseException) -> bool:
    from pyspark.errors.exceptions.connect import SparkConnectGrpcException

    if not isinstance(exc, SparkConnectGrpcException) or getattr(exc, "getErrorClass", lambda: None)():
        return False
    return any(marker in str(exc) for marker in _UNAVAILABLE)


def _catalog_name(ref_spec: str) -> str:
    return "ref_" + hashlib.sha1(ref_spec.encode()).hexdigest()[:12]


class SparkSqlEngine:
    """ports.SqlEngine on Spark SQL over Spark Connect (engine name ``spark``)."""

    name = ENGINE
    supports_cancel = True

    def __init__(self, settings: LakehouseSettings, client: NessieClient | None = None) -> None:
        if not settings.spark.connect_url:
            raise ConfigError(
                "Spark Connect is not configured: set LAKEHOUSE_SPARK__CONNECT_URL (sc://127.0.0.1:15002)"
            )
        self._settings = settings
        self._client = client or NessieClient(settings)
        self._session: SparkSession | None = None
        self._catalogs: dict[str, str] = {}  # Nessie ref spec -> catalog name on the session
        self._lock = threading.Lock()  # one statement at a time on the session
        self._tag = f"lakehouse-{uuid.uuid4().hex[:12]}"
        self._running = False
        self._cancelled = False

    @property
    def url(self) -> str:
        return str(self._settings.spark.connect_url)

    # ------------------------------------------------------------ session and catalogs
    def _get_session(self) -> SparkSession:
        if self._session is None:
            try:
                from pyspark.sql.connect.session import SparkSession
            except ImportError as exc:
                missing = f"Spark SQL needs pyspark[connect]: pip install -e '.[spark]' ({exc})"
                raise ConfigError(missing) from exc
            session = SparkSession(connection=self.url)  # not the process-wide default session
            session._client._retry_policy.update(RETRY_POLICY)
            self._session = session
            self._catalogs.clear()
            self._set_catalog(self._settings.nessie.ref, CATALOG)
        return self._session

    def _set_catalog(self, ref_spec: str, name: str) -> None:
        assert self._session is not None
        confs = catalog_confs(self._settings, ref_spec, catalog=f"spark.sql.catalog.{name}")
        confs[f"spark.sql.catalog.{name}.cache-enabled"] = "false"  # every statement sees Nessie's head
        for key, value in confs.items():
            self._session.conf.set(key, value)
        self._catalogs[ref_spec] = name

    def _catalog_for(self, as_of: AsOf | None) -> str:
        """The catalog a statement reads (the branch's, or the one of ``as_of.ref``)."""
        if as_of is None or not as_of.ref or as_of.snapshot_id is not None or as_of.timestamp is not None:
            return CATALOG
        spec = nessie_ref_spec(self._client, as_of.ref)
        if spec not in self._catalogs:
            self._set_catalog(spec, _catalog_name(spec))
        return self._catalogs[spec]

    def _pinned(self, sql: str, as_of: AsOf | None) -> dict[tuple[str, str], str]:
        """For ``as_of.snapshot_id``: the tables read whose Nessie history (on the engine's branch)
        has a commit that made that snapshot, each with the catalog of that commit (a table replaced
        since keeps its older snapshots only in the metadata of older commits)."""
        if as_of is None or as_of.snapshot_id is None:
            return {}
        branch = self._settings.nessie.ref
        pinned: dict[tuple[str, str], str] = {}
        for ref in read_tables(sql):
            if not ref.namespace:
                continue
            versions = self._client.content_history(branch, f"{ref.namespace}.{ref.name}")
            commit = next((v.commit_hash for v in versions if v.snapshot_id == as_of.snapshot_id), None)
            if commit:
                spec = f"{branch}@{commit}"
                if spec not in self._catalogs:
                    self._set_catalog(spec, _catalog_name(spec))
                pinned[(ref.namespace, ref.name)] = self._catalogs[spec]
        return pinned

    # ------------------------------------------------------------ execute
    def execute(
        self,
        sql: str,
        *,
        limit: int | None = None,
        as_of: AsOf | None = None,
        on_first_page: FirstPageCallback | None = None,
    ) -> QueryResult:
        """Run one statement on Spark over the Iceberg tables of Nessie branch ``settings.nessie.ref``
        (or of ``as_of.ref``; ``as_of.snapshot_id`` / ``timestamp`` apply to every table read). At most
        ``limit`` rows are fetched; ``on_first_page`` gets the first Arrow batch when more follow.

        Raises:
            QueryError: a statement that does not only read (refused before Spark is asked), or
                Spark's own message on one line.
            CancelledError: ``cancel()`` interrupted it.
            ServiceUnavailableError: the Connect server (or Nessie, for a ref) could not be reached.
            NotFoundError: ``as_of.ref`` names no Nessie branch, tag or commit.
        """
        kind = refused_kind(sql, DIALECT)
        if kind is not None:
            raise QueryError(READ_ONLY_MESSAGE.format(kind=kind), ENGINE)
        with self._lock:
            started = time.perf_counter()
            self._cancelled = False
            timer = threading.Timer(self._settings.query_timeout_s, self._interrupt)
            timer.daemon = True
            tagged = None
            try:
                session = self._get_session()
                catalog = self._catalog_for(as_of)
                text = apply_as_of(sql, as_of, self._pinned(sql, as_of))
                tagged = session._client
                tagged.add_tag(self._tag)
                self._running = True
                timer.start()
                session.conf.set("spark.sql.defaultCatalog", catalog)
                frame = session.sql(text)
                if limit is not None:
                    frame = frame.limit(limit + 1)
                types, table = self._fetch(frame, sql, limit, as_of, started, on_first_page)
            except Exception as exc:
                raise self._error(exc, timed_out=timer.finished.is_set() and self._running) from exc
            finally:
                timer.cancel()
                self._running = False
                if tagged is not None:
                    tagged.remove_tag(self._tag)
        truncated = limit is not None and table.num_rows > limit
        if truncated:
            table = table.slice(0, limit)
        return QueryResult(
            columns=tuple(table.column_names), types=types, table=table, engine=ENGINE,
            elapsed_s=time.perf_counter() - started, truncated=truncated, sql=sql, as_of=as_of,
        )

    def _fetch(
        self, frame: Any, sql: str, limit: int | None, as_of: AsOf | None, started: float,
        on_first_page: FirstPageCallback | None,
    ) -> tuple[tuple[str, ...], pa.Table]:
        """The engine's type names and all rows of ``frame``, the first batch to ``on_first_page``
        as soon as a second one arrives."""
        from pyspark.sql.pandas.types import to_arrow_schema

        session = frame.sparkSession
        pieces: Iterator[Any] = session._client.to_table_as_iterator(frame._plan.to_proto(session._client))
        schema: Any = None
        batches: list[pa.Table] = []
        for piece in pieces:
            if not isinstance(piece, pa.Table):
                schema = piece
                continue
            batches.append(piece)
            if len(batches) == 2 and on_first_page is not None:
                first = batches[0]
                if limit is not None:
                    first = first.slice(0, limit)
                on_first_page(QueryResult(
                    columns=tuple(first.column_names), types=self._types(schema, first), table=first,
                    engine=ENGINE, elapsed_s=time.perf_counter() - started, truncated=True, sql=sql,
                    as_of=as_of,
                ))
        if batches:
            table = pa.concat_tables(batches)
        elif schema is not None:
            table = to_arrow_schema(schema).empty_table()
        else:
            table = pa.table({})
        return self._types(schema, table), table

    @staticmethod
    def _types(schema: Any, table: pa.Table) -> tuple[str, ...]:
        if schema is not None and len(schema.fields) == table.num_columns:
            return tuple(f.dataType.simpleString().upper() for f in schema.fields)
        return tuple(str(t).upper() for t in table.schema.types)

    def _error(self, exc: Exception, *, timed_out: bool) -> Exception:
        if isinstance(exc, LakehouseError):
            return exc
        if self._cancelled:
            return CancelledError("query cancelled")
        if timed_out:
            limit = self._settings.query_timeout_s
            return QueryError(f"query interrupted after {limit:.0f}s (query_timeout_s)", ENGINE)
        if _is_unavailable(exc):
            return ServiceUnavailableError("spark", f"Spark Connect at {self.url}: {one_line(exc)}")
        return QueryError(one_line(exc), ENGINE)

    # ------------------------------------------------------------ cancel / close
    def _interrupt(self) -> None:
        session = self._session
        if session is None or not self._running:
            return
        try:
            session._client.interrupt_tag(self._tag)
        except Exception as exc:  # the statement may end while we interrupt it
            logger.warning("spark: interrupt of %s failed: %s", self._tag, one_line(exc))

    def cancel(self) -> None:
        """Interrupt the running statement (no-op when idle)."""
        if self._running:
            self._cancelled = True
            self._interrupt()

    def close(self) -> None:
        """End the Connect session and the Nessie client."""
        with self._lock:
            if self._session is not None:
                try:
                    self._session.stop()
                except Exception as exc:  # the server may be gone
                    logger.debug("spark: session stop: %s", one_line(exc))
                self._session = None
        self._client.close()

    def __repr__(self) -> str:
        return f"SparkSqlEngine(url={self.url!r}, ref={self._settings.nessie.ref!r})"
