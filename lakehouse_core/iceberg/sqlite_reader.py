"""Read the embedded SQLite catalog with the standard library; write through a real SqlCatalog.

pyiceberg's SqlCatalog builds on SQLAlchemy (about 17 MB of a process) and creates its tables when it
is constructed. Readers (the Catalog screen, the SQL panel, status probes) only look up a few rows of
the two tables every SQL catalog has (``iceberg_tables``, ``iceberg_namespace_properties``: the
layout of the Iceberg JDBC catalog, which pyiceberg follows), so ``SqliteCatalogReader`` reads them
with ``sqlite3`` in read-only mode: opening it creates nothing, and a missing database is an empty
catalog. Table metadata is loaded like SqlCatalog loads it. Everything that writes (a commit from a
table loaded here, e.g. a new branch, and every create/drop/rename) goes to the SqlCatalog that
``writer`` opens on first use.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.io import load_file_io
from pyiceberg.serializers import FromInputFile
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.typedef import Identifier, Properties

if TYPE_CHECKING:
    from pyiceberg.table.update import TableRequirement, TableUpdate

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0
"""How long a read waits for a writer's transaction (SQLite's busy timeout)."""
_TABLE_ROWS = "(iceberg_type IS NULL OR iceberg_type = 'TABLE')"
"""Rows that are tables, not views (iceberg_type: the v1 schema of the SQL catalog; absent in v0)."""


def _to_writer(name: str) -> Any:
    """A method that makes the same call on the reader's writer catalog."""

    def method(self: SqliteCatalogReader, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._writer(), name)(*args, **kwargs)

    method.__name__ = name
    return method


def table_at(catalog: Catalog, identifier: Identifier, location: str) -> Table:
    """The table ``identifier`` of ``catalog`` as its metadata file ``location`` describes it."""
    io = load_file_io(catalog.properties, location)
    metadata = FromInputFile.table_metadata(io.new_input(location))
    return Table(
        identifier=identifier,
        metadata=metadata,
        metadata_location=location,
        io=catalog._load_file_io(metadata.properties, location),
        catalog=catalog,
    )


class SqliteCatalogReader(Catalog):
    """A read path over the SQLite file of a pyiceberg SqlCatalog (see the module docstring)."""

    def __init__(
        self, name: str, database: Path, writer: Callable[[], Catalog], **properties: str
    ) -> None:
        super().__init__(name, **properties)
        self._database = database
        self._writer = writer

    # ------------------------------------------------------------ sqlite
    def _rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` on the catalog database opened read-only; none when the database or its
        tables do not exist yet (nothing has been written)."""
        if not self._database.is_file():
            return []
        try:
            con = sqlite3.connect(
                f"{self._database.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S
            )
        except sqlite3.OperationalError:
            return []
        try:
            return con.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            if "no such column: iceberg_type" in str(exc):  # a v0 catalog: every row is a table
                return con.execute(sql.replace(_TABLE_ROWS, "1 = 1"), params).fetchall()
            raise
        finally:
            con.close()

    # ------------------------------------------------------------ reads
    def load_table(self, identifier: str | Identifier) -> Table:
        namespace = Catalog.namespace_to_string(Catalog.namespace_from(identifier))
        name = Catalog.table_name_from(identifier)
        rows = self._rows(
            "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? "
            f"AND table_name = ? AND {_TABLE_ROWS}",
            self.name, namespace, name,
        )
        if not rows or not rows[0][0]:
            raise NoSuchTableError(f"Table does not exist: {namespace}.{name}")
        return table_at(self, Catalog.identifier_to_tuple(namespace) + (name,), str(rows[0][0]))

    def table_exists(self, identifier: str | Identifier) -> bool:
        try:
            self.load_table(identifier)
        except NoSuchTableError:
            return False
        return True

    def _all_namespaces(self) -> set[tuple[str, ...]]:
        rows = self._rows(
            "SELECT table_namespace FROM iceberg_tables WHERE catalog_name = ? UNION "
            "SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = ?",
            self.name, self.name,
        )
        return {Catalog.identifier_to_tuple(str(row[0])) for row in rows}

    def namespace_exists(self, namespace: str | Identifier) -> bool:
        return Catalog.identifier_to_tuple(namespace) in self._all_namespaces()

    def list_namespaces(self, namespace: str | Identifier = ()) -> list[Identifier]:
        """Direct children of ``namespace`` (every top-level namespace for ``()``), as SqlCatalog."""
        parent = Catalog.identifier_to_tuple(namespace)
        if parent and not self.namespace_exists(parent):
            raise NoSuchNamespaceError(f"Namespace does not exist: {namespace}")
        level = len(parent) + 1
        children = {ns[:level] for ns in self._all_namespaces() if len(ns) >= level}
        return [ns for ns in children if ns[:-1] == parent]

    def list_tables(self, namespace: str | Identifier) -> list[Identifier]:
        if namespace and not self.namespace_exists(namespace):
            raise NoSuchNamespaceError(f"Namespace does not exist: {namespace}")
        text = Catalog.namespace_to_string(namespace)
        rows = self._rows(
            "SELECT table_name FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? "
            f"AND {_TABLE_ROWS}",
            self.name, text,
        )
        return [Catalog.identifier_to_tuple(text) + (str(row[0]),) for row in rows]

    def load_namespace_properties(self, namespace: str | Identifier) -> Properties:
        if not self.namespace_exists(namespace):
            raise NoSuchNamespaceError(f"Namespace {Catalog.namespace_to_string(namespace)} does not exists")
        rows = self._rows(
            "SELECT property_key, property_value FROM iceberg_namespace_properties "
            "WHERE catalog_name = ? AND namespace = ?",
            self.name, Catalog.namespace_to_string(namespace),
        )
        return {str(key): str(value) for key, value in rows}

    def list_views(self, namespace: str | Identifier) -> list[Identifier]:
        return []

    def view_exists(self, identifier: str | Identifier) -> bool:
        return False

    def supports_server_side_planning(self) -> bool:
        return False

    # ------------------------------------------------------------ writes: the real SqlCatalog
    def commit_table(
        self, table: Table, requirements: tuple[TableRequirement, ...], updates: tuple[TableUpdate, ...]
    ) -> CommitTableResponse:
        return self._writer().commit_table(table, requirements, updates)

    create_table = _to_writer("create_table")
    create_table_transaction = _to_writer("create_table_transaction")
    register_table = _to_writer("register_table")
    drop_table = _to_writer("drop_table")
    purge_table = _to_writer("purge_table")
    rename_table = _to_writer("rename_table")
    create_namespace = _to_writer("create_namespace")
    drop_namespace = _to_writer("drop_namespace")
    update_namespace_properties = _to_writer("update_namespace_properties")
    create_view = _to_writer("create_view")
    drop_view = _to_writer("drop_view")
    register_view = _to_writer("register_view")
    load_view = _to_writer("load_view")
