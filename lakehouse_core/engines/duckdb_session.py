"""DuckDB connections of the lakehouse: extensions come from their PyPI packages, never the network.

Each extension ships in the PyPI package ``duckdb-extension-<name>`` and is loaded by file path;
a connection never auto-installs (download) nor auto-loads an extension.

``sandbox`` locks a connection that runs users' SQL: DuckDB's own access control
(``enable_external_access=false`` with ``allowed_directories``), then ``lock_configuration``.
``allowed_directories`` grants writes as well as reads, and DuckDB has no read-only file access
setting: a ``file://`` warehouse is therefore read through ``ReadOnlyLocalFileSystem`` (an fsspec
filesystem refusing every write) with DuckDB's own LocalFileSystem disabled.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlparse

import duckdb
from fsspec.implementations.local import LocalFileSystem

logger = logging.getLogger(__name__)

ICEBERG_EXTENSIONS = ("avro", "iceberg")
"""What ``iceberg_scan`` needs (avro reads the manifest lists and manifests)."""


def extension_file(name: str) -> str:
    """Path of ``<name>.duckdb_extension`` in the installed PyPI package ``duckdb-extension-<name>``.

    Raises:
        ImportError: the package is not installed.
        StopIteration: the package holds no extension file.
    """
    module = importlib.import_module(f"duckdb_extension_{name}")
    assert module.__file__ is not None
    return str(next(Path(module.__file__).parent.glob(f"extensions/v*/{name}.duckdb_extension")))


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory connection that neither installs nor auto-loads extensions.

    Its allocator hands freed memory back to the system past 8 MB (DuckDB's default 128 MB kept a
    streamed result's buffers in the process after the query)."""
    return duckdb.connect(
        config={
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
            "allocator_flush_threshold": "1MB",
        }
    )


def load_extensions(
    con: duckdb.DuckDBPyConnection, names: Sequence[str], init_sql: Sequence[str] = ()
) -> bool:
    """LOAD ``names`` by file path, in order, then run ``init_sql`` (settings of those extensions,
    e.g. ``CREATE SECRET``). False, with a warning logged, when any of it fails."""
    try:
        for name in names:
            con.execute(f"LOAD '{extension_file(name)}'")
        for statement in init_sql:
            con.execute(statement)
    except (ImportError, StopIteration, duckdb.Error) as exc:
        logger.warning("DuckDB extensions %s unavailable (%s); reading through pyiceberg scans", names, exc)
        return False
    return True


class ReadOnlyLocalFileSystem(LocalFileSystem):  # type: ignore[misc]
    """fsspec's local filesystem for ``file://`` paths that refuses every change (open for
    writing, create, remove, move, copy, link)."""

    protocol = ("file",)

    def _refuse(self, path: Any, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError(f"read-only file system: {path}")

    def _open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        if mode not in ("rb", "r"):
            self._refuse(path)
        return super()._open(path, mode, *args, **kwargs)

    makedirs = mkdir = makedir = mkdirs = touch = _refuse
    rm = rm_file = _rm = rmdir = mv = move = rename = _refuse
    cp_file = copy = put = put_file = pipe_file = link = symlink = chmod = _refuse


def _prefix(location: str) -> str:
    """``location`` as a directory prefix (trailing ``/``: ``s3://b`` must not allow ``s3://b-x``)."""
    return location if location.endswith("/") else location + "/"


def sandbox(con: duckdb.DuckDBPyConnection, readable: Sequence[str]) -> None:
    """Confine ``con`` to reading ``readable`` (directories: ``file://`` URIs, plain paths or
    ``s3://bucket/prefix``), then lock its configuration.

    After it the connection cannot read or write any other file or URL, load or install an
    extension, ATTACH a database, change a setting or show a secret unredacted; its own catalog
    (views, registered Arrow tables) still works. ``file://`` locations are read-only (see the
    module's doc); plain paths and ``s3://`` prefixes are readable and, as far as DuckDB goes,
    writable: only the statement gate of the engines keeps writes out of them.
    """
    local = [loc for loc in readable if urlparse(loc).scheme == "file"]
    if local:
        con.register_filesystem(ReadOnlyLocalFileSystem())
    allowed = ", ".join(_sql_string(_prefix(loc)) for loc in readable)
    con.execute(f"SET allowed_directories = [{allowed}]")
    con.execute("SET enable_external_access = false")
    if local and len(local) == len(readable):  # every location goes through the read-only fs
        con.execute("SET disabled_filesystems = 'LocalFileSystem'")
    con.execute("SET allow_community_extensions = false")
    con.execute("SET lock_configuration = true")


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
