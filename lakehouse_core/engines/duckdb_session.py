"""DuckDB connections of the lakehouse: extensions come from their PyPI packages, never the network.

Each extension ships in the PyPI package ``duckdb-extension-<name>`` and is loaded by file path;
a connection never auto-installs (download) nor auto-loads an extension.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from pathlib import Path

import duckdb

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
    """An in-memory connection that neither installs nor auto-loads extensions."""
    return duckdb.connect(
        config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
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
