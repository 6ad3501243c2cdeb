"""DuckDbSqlEngine: ports.SqlEngine with DuckDB over the Iceberg tables of a pyiceberg Catalog.

Every Iceberg table ``ns.tbl`` is a DuckDB view ``"ns"."tbl"``. With the PyPI iceberg extension
(loaded by file path, no auto-install/auto-load) a view is ``iceberg_scan(<metadata location>,
snapshot_from_id => ...)``; without it the view reads a pyiceberg scan registered as arrow.
``ns.tbl [FOR] VERSION AS OF <id>`` (Dremio syntax, as in the platform's queries; found in sqlglot's
syntax tree, never inside a literal or a comment) reads a view pinned to that snapshot. Before each
statement the tables it names are re-resolved (one ``load_table`` each) and their views replaced
only when the metadata location or the selected snapshot changed.

A catalog whose refs span every table (Nessie) passes ``ref_catalog``: as of such a ref, every table
of the statement is read from the catalog of that ref, and views of tables the ref lacks are dropped.
Otherwise a ref is an Iceberg ref of each table (tables without it are read at their current snapshot).

The engine runs reads only: each statement is classified by DuckDB's parser before anything runs
(``sqlparse.refused_kind``) and any other one is refused with "read-only: COPY statements are not
allowed". Its connection is opened on first use and sandboxed (``duckdb_session.sandbox``): it
reads the warehouse and nothing else, and its configuration is locked.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.table import Table

from lakehouse_core.engines import duckdb_session
from lakehouse_core.engines.spool import ResultSpool
from lakehouse_core.errors import CancelledError, LakehouseError, QueryError
from lakehouse_core.iceberg import ops
from lakehouse_core.models import AsOf, QueryResult
from lakehouse_core.ports import FirstPageCallback
from lakehouse_core.sqlparse import (
    READ_ONLY_MESSAGE,
    qualified_names,
    refused_kind,
    replace_spans,
    table_refs,
)

logger = logging.getLogger(__name__)

ENGINE = "duckdb"
DIALECT = "duckdb"  # sqlglot's name of the SQL dialect
BATCH_ROWS = 8_192
"""Rows per Arrow batch read from DuckDB's streaming result; the first batch is the first page."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def referenced_tables(sql: str, known: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The known ``(namespace, table)`` pairs named in ``sql`` (case-insensitive, quoted or not).

    The tables of sqlglot's syntax tree; for a statement sqlglot cannot parse, every ``a.b`` pair of
    names outside literals and comments.
    """
    by_lower = {(ns.lower(), t.lower()): (ns, t) for ns, t in known}
    refs = table_refs(sql, DIALECT)
    names = qualified_names(sql, DIALECT) if refs is None else [(r.namespace, r.name) for r in refs]
    return {by_lower[key] for key in ((a.lower(), b.lower()) for a, b in names) if key in by_lower}


def check_read_only(sql: str) -> None:
    """The engines' gate: nothing runs unless each statement of ``sql`` only reads.

    Raises:
        QueryError: "read-only: <KIND> statements are not allowed", or DuckDB's parser error.
    """
    try:
        kind = refused_kind(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc), ENGINE) from exc
    if kind is not None:
        raise QueryError(READ_ONLY_MESSAGE.format(kind=kind), ENGINE)


class DuckDbSqlEngine:
    """DuckDB over the lakehouse tables; one connection, statements serialised by a lock."""

    name = ENGINE
    supports_cancel = True

    def __init__(
        self,
        catalog: Catalog,
        *,
        use_extension: bool = True,
        query_timeout_s: float | None = None,
        extra_extensions: tuple[str, ...] = (),
        init_sql: tuple[str, ...] = (),
        snapshot_table: Callable[[Table, int], Table] | None = None,
        ref_catalog: Callable[[str], Catalog] | None = None,
        readable: Sequence[str] | None = None,
        spool_dir: Path | None = None,
        spool_bytes: int = 0,
    ) -> None:
        """``extra_extensions`` (e.g. ``("httpfs",)``) load from their PyPI packages before iceberg;
        ``init_sql`` runs once after them (e.g. ``CREATE SECRET`` for an S3 warehouse). When any of
        it fails, or ``use_extension`` is False, views read pyiceberg scans instead of ``iceberg_scan``.
        ``snapshot_table(table, snapshot_id)`` gives the Table whose metadata file holds an older
        snapshot, for catalogs whose current metadata file drops old snapshots (Nessie's REST).
        ``ref_catalog(ref)`` gives the catalog that serves catalog-wide ref ``ref`` (a Nessie branch,
        tag or commit; raising NotFoundError for an unknown one); None: refs are Iceberg table refs.
        ``readable``: the only locations DuckDB may read (default: the catalog's ``warehouse``).
        ``spool_dir``/``spool_bytes``: results over ``spool_bytes`` go to a memory-mapped Arrow file
        there (``spool.ResultSpool``); 0 keeps them in memory.
        Nothing is opened here: the connection is made, and the extensions loaded, on first use."""
        self._catalog = catalog
        self._snapshot_table = snapshot_table
        self._ref_catalog = ref_catalog
        self._lock = threading.Lock()
        self._state = threading.Lock()  # guards _running / _cancel_requested
        self._running = False
        self._cancel_requested = False
        self._timeout = query_timeout_s
        self._use_extension = use_extension
        self._extensions = (*extra_extensions, *duckdb_session.ICEBERG_EXTENSIONS)
        self._init_sql = init_sql
        self._spool_dir = spool_dir
        self._spool_bytes = spool_bytes
        if readable is None:
            warehouse = catalog.properties.get("warehouse")
            readable = (warehouse,) if warehouse else ()
        self._readable = tuple(readable)
        self._con_: duckdb.DuckDBPyConnection | None = None
        self._uses_extension = False
        self._views: dict[tuple[str, str], tuple[str, int | None]] = {}
        self._schemas: set[str] = set()

    @property
    def _con(self) -> duckdb.DuckDBPyConnection:
        """The sandboxed connection, made on first use (callers hold ``_lock``)."""
        if self._con_ is None:
            con = duckdb_session.connect()
            self._uses_extension = self._use_extension and duckdb_session.load_extensions(
                con, self._extensions, self._init_sql
            )
            duckdb_session.sandbox(con, self._readable)
            self._con_ = con
        return self._con_

    @property
    def uses_iceberg_extension(self) -> bool:
        """True when views read ``iceberg_scan`` (opens the connection)."""
        with self._lock:
            self._con  # noqa: B018 - opens it
            return self._uses_extension

    def close(self) -> None:
        """Close the DuckDB connection (if one was opened)."""
        with self._lock:
            if self._con_ is not None:
                self._con_.close()
                self._con_ = None

    # ------------------------------------------------------------ views
    def _known_tables(self, catalog: Catalog) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for ns in catalog.list_namespaces():
            try:
                out.extend((".".join(i[:-1]), i[-1]) for i in catalog.list_tables(ns))
            except NoSuchNamespaceError:
                continue
        return out

    def _plan_snapshots(
        self, tables: dict[tuple[str, str], Table], as_of: AsOf | None
    ) -> dict[tuple[str, str], int | None]:
        """Snapshot id per referenced table (None = table empty at that point)."""
        plan: dict[tuple[str, str], int | None] = {}
        for key, tbl in tables.items():
            snap = tbl.current_snapshot()
            if as_of is not None and as_of.snapshot_id is None and as_of.timestamp is not None:
                snap = ops.resolve_snapshot(tbl, timestamp=as_of.timestamp)
            plan[key] = snap.snapshot_id if snap else None
        if as_of is None:
            return plan
        if as_of.snapshot_id is None and as_of.timestamp is not None:
            named = {f"{ns}.{name}": tables[(ns, name)] for (ns, name) in tables}
            before = ops.no_snapshot_at(named, as_of.timestamp)  # before any of them existed: say so
            if before is not None:
                raise before
        if as_of.snapshot_id is not None:
            owners = [k for k, t in tables.items() if t.snapshot_by_id(as_of.snapshot_id) is not None]
            if not owners:
                raise QueryError(
                    f"snapshot {as_of.snapshot_id} belongs to none of the tables the query reads", ENGINE
                )
            for key in owners:
                plan[key] = as_of.snapshot_id
        elif as_of.timestamp is None and as_of.ref:
            owners = [k for k, t in tables.items() if as_of.ref in t.refs()]
            if not owners:
                raise QueryError(f"ref {as_of.ref!r} exists in none of the tables the query reads", ENGINE)
            for key in owners:
                snap = tables[key].snapshot_by_name(as_of.ref)
                plan[key] = snap.snapshot_id if snap else None
        return plan

    def _rewrite_version_as_of(
        self, sql: str, known: list[tuple[str, str]], catalog: Catalog
    ) -> tuple[str, set[tuple[str, str]]]:
        """Turn Dremio-style ``ns.tbl VERSION AS OF <snapshot id>`` into a view pinned to that snapshot;
        returns the statement and the pinned views it reads."""
        by_lower = {(ns.lower(), t.lower()): (ns, t) for ns, t in known}
        edits = []
        pinned_views: set[tuple[str, str]] = set()
        for ref in table_refs(sql, DIALECT) or ():
            key = (ref.namespace.lower(), ref.name.lower())
            if ref.version is None or key not in by_lower:
                continue
            ns, name = by_lower[key]
            snapshot_id = ref.version
            tbl = catalog.load_table(f"{ns}.{name}")
            if tbl.snapshot_by_id(snapshot_id) is None:
                raise QueryError(f"snapshot {snapshot_id} does not exist in table {ns}.{name}", ENGINE)
            pinned = (ns, f"{name}__snapshot_{snapshot_id}")
            if self._views.get(pinned) != (tbl.metadata_location, snapshot_id):
                self._create_view(pinned, tbl, snapshot_id)
                self._views[pinned] = (tbl.metadata_location, snapshot_id)
            pinned_views.add(pinned)
            edits.append((ref.start, ref.clause_end, f"{_quote(pinned[0])}.{_quote(pinned[1])}"))
        return replace_spans(sql, edits), pinned_views

    def _catalog_as_of(self, as_of: AsOf | None) -> tuple[Catalog, AsOf | None]:
        """The catalog a statement reads and what is left of ``as_of`` once a catalog-wide ref chose it."""
        if as_of is None or not as_of.ref or self._ref_catalog is None:
            return self._catalog, as_of
        return self._ref_catalog(as_of.ref), dataclasses.replace(as_of, ref=None)

    def _drop_views(self, keep: set[tuple[str, str]]) -> None:
        """Drop the views of tables the statement's catalog does not hold (another ref's, dropped ones)."""
        for key in [k for k in self._views if k not in keep]:
            self._con.execute(f"DROP VIEW IF EXISTS {_quote(key[0])}.{_quote(key[1])}")
            del self._views[key]

    def _refresh_views(self, sql: str, as_of: AsOf | None) -> str:
        """Create/replace the views ``sql`` reads; returns ``sql`` with VERSION AS OF rewritten."""
        catalog, as_of = self._catalog_as_of(as_of)
        try:
            known = self._known_tables(catalog)
            sql, pinned = self._rewrite_version_as_of(sql, known, catalog)
            refs = referenced_tables(sql, known)
            tables = {key: catalog.load_table(f"{key[0]}.{key[1]}") for key in refs}
        except (NoSuchTableError, NoSuchNamespaceError) as exc:
            raise QueryError(f"catalog changed while resolving tables: {exc}", ENGINE) from exc
        self._drop_views({*known, *pinned})
        plan = self._plan_snapshots(tables, as_of)
        for key in known if self._uses_extension else ():  # views of unnamed tables, cheap
            if key not in tables and key not in self._views:
                tables[key] = catalog.load_table(f"{key[0]}.{key[1]}")
                head = tables[key].current_snapshot()
                plan[key] = head.snapshot_id if head else None
        for key, tbl in tables.items():
            state = (tbl.metadata_location, plan[key])
            if self._views.get(key) != state:
                self._create_view(key, tbl, plan[key])
                self._views[key] = state
        return sql

    def _create_view(self, key: tuple[str, str], tbl: Table, snapshot_id: int | None) -> None:
        ns, name = key
        head = tbl.current_snapshot()
        is_head = head is not None and head.snapshot_id == snapshot_id  # head: current schema
        if snapshot_id is not None and not is_head and self._snapshot_table is not None:
            # an older snapshot is read at the metadata of its own commit; the head never is: a later
            # commit without a snapshot (a schema change) must show at once
            tbl = self._snapshot_table(tbl, snapshot_id)
        if ns not in self._schemas:
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(ns)}")
            self._schemas.add(ns)
        target = f"{_quote(ns)}.{_quote(name)}"
        if self._uses_extension and snapshot_id is not None:
            location = tbl.metadata_location.replace("'", "''")
            pin = "" if is_head else f", snapshot_from_id => {int(snapshot_id)}"
            source = f"iceberg_scan('{location}'{pin})"
        else:
            arrow_name = f"__iceberg_{ns}_{name}"
            if snapshot_id is None:
                data = tbl.schema().as_arrow().empty_table()
            else:
                data = ops.read_as_of(tbl) if is_head else ops.read_as_of(tbl, snapshot_id=snapshot_id)
            self._con.register(arrow_name, data)
            source = _quote(arrow_name)
        self._con.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT * FROM {source}")
        logger.debug("view %s -> snapshot %s", target, snapshot_id)

    # ------------------------------------------------------------ execute / cancel
    def execute(
        self,
        sql: str,
        *,
        limit: int | None = None,
        as_of: AsOf | None = None,
        on_first_page: FirstPageCallback | None = None,
    ) -> QueryResult:
        """Run one statement once, reading its result batch by batch; at most ``limit`` rows are kept.

        ``on_first_page`` receives the first batch when more may follow (see ``ports.SqlEngine``).

        Raises:
            QueryError: a statement that does not only read ("read-only: COPY statements are not
                allowed"), or DuckDB's own message (bad SQL, unknown column, unknown snapshot/ref...).
            CancelledError: ``cancel()`` interrupted the query.
        """
        if limit is not None and limit < 0:
            raise QueryError(f"limit must be >= 0, got {limit}", ENGINE)
        check_read_only(sql)
        with self._lock:
            started = time.perf_counter()
            with self._state:
                self._cancel_requested = False
            try:
                self._con  # noqa: B018 - opens it: the views depend on whether the extensions loaded
                statement = self._refresh_views(sql, as_of)
            except duckdb.Error as exc:
                raise QueryError(str(exc), ENGINE) from exc
            except LakehouseError as exc:
                raise QueryError(exc.message, ENGINE) from exc

            def result(
                columns: tuple[str, ...], types: tuple[str, ...], data: pa.Table, cut: bool
            ) -> QueryResult:
                return QueryResult(
                    columns=columns,
                    types=types,
                    table=data,
                    engine=ENGINE,
                    elapsed_s=time.perf_counter() - started,
                    truncated=cut,
                    total_rows=None if cut else data.num_rows,
                    sql=sql,
                    as_of=as_of,
                )

            def first_page(columns: tuple[str, ...], types: tuple[str, ...], data: pa.Table) -> None:
                if on_first_page is not None:
                    on_first_page(result(columns, types, data, True))

            timer = threading.Timer(self._timeout, self.cancel) if self._timeout else None
            try:
                with self._state:
                    if self._cancel_requested:
                        raise CancelledError("query cancelled")
                    self._running = True
                if timer is not None:
                    timer.start()
                columns, types, data, truncated = self._run(statement, limit, first_page)
            except duckdb.InterruptException as exc:
                raise CancelledError("query cancelled") from exc
            except duckdb.Error as exc:
                raise QueryError(str(exc), ENGINE) from exc
            except (pa.ArrowException, OSError) as exc:  # DuckDB's error while streaming, as Arrow's
                if self._cancel_requested:
                    raise CancelledError("query cancelled") from exc
                raise QueryError(str(exc), ENGINE) from exc
            except CancelledError:
                raise
            except LakehouseError as exc:  # the result could not be spooled (disk full...)
                raise QueryError(exc.message, ENGINE) from exc
            finally:
                if timer is not None:
                    timer.cancel()
                with self._state:
                    self._running = False
            return result(columns, types, data, truncated)

    def _run(
        self,
        sql: str,
        limit: int | None,
        first_page: Callable[[tuple[str, ...], tuple[str, ...], pa.Table], None],
    ) -> tuple[tuple[str, ...], tuple[str, ...], pa.Table, bool]:
        rel = self._con.sql(sql)
        if rel is None:  # DDL / statements without a result
            return (), (), pa.table({}), False
        columns = tuple(rel.columns)
        types = tuple(str(t) for t in rel.types)
        if limit is not None:
            rel = rel.limit(limit + 1)  # one extra row tells whether the result was cut
        # interrupt() stops DuckDB while it computes a batch; between batches the loop checks the flag
        reader = rel.to_arrow_reader(BATCH_ROWS)
        spool = ResultSpool(reader.schema, self._spool_dir, self._spool_bytes)
        rows = 0
        try:
            with reader:
                for batch in reader:
                    if self._cancel_requested:
                        raise CancelledError("query cancelled")
                    first = rows == 0
                    spool.add(batch)
                    rows += batch.num_rows
                    if first and batch.num_rows >= BATCH_ROWS and (limit is None or rows <= limit):
                        first_page(columns, types, pa.Table.from_batches([batch]))
                    if limit is not None and rows > limit:
                        break
            data = spool.table(limit)
        except BaseException:
            spool.discard()
            raise
        truncated = limit is not None and rows > limit
        return columns, types, data, truncated

    def cancel(self) -> None:
        """Interrupt the running statement from any thread (no-op when idle)."""
        with self._state:
            self._cancel_requested = True
            running = self._running
        con = self._con_
        if running and con is not None:
            con.interrupt()
