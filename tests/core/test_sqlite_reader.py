"""SqliteCatalogReader: the embedded catalog's read path, on the real SQLite file of a SqlCatalog."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

from lakehouse_core.iceberg.catalog import open_embedded_catalog, open_embedded_reader
from lakehouse_core.iceberg.sqlite_reader import SqliteCatalogReader
from lakehouse_core.settings import load_settings
from tests.core.iceberg_fixtures import promoted


def _settings(root: Path):
    return load_settings(data_dir=root, catalog_uri=None, warehouse=None)


def test_reads_what_the_sql_catalog_wrote(tmp_path: Path) -> None:
    catalog, fx = promoted(tmp_path, days=5, per_day=2)
    catalog.create_namespace("empty_ns")  # a namespace with no table is listed too
    reader = open_embedded_reader(_settings(tmp_path), lambda: catalog)
    assert isinstance(reader, SqliteCatalogReader)
    assert sorted(reader.list_namespaces()) == sorted(catalog.list_namespaces())
    assert ("empty_ns",) in reader.list_namespaces()
    for ns in catalog.list_namespaces():
        assert sorted(reader.list_tables(ns)) == sorted(catalog.list_tables(ns))
    mine, theirs = reader.load_table("bronze.orders"), catalog.load_table("bronze.orders")
    assert mine.metadata_location == theirs.metadata_location
    assert mine.name() == ("bronze", "orders")
    assert mine.scan().to_arrow().num_rows == len(fx.rows["bronze.orders"]) == 10
    assert reader.table_exists("gold.daily_sales") and not reader.table_exists("gold.nope")
    assert reader.load_namespace_properties("empty_ns") == catalog.load_namespace_properties("empty_ns")


def test_unknown_names_raise_pyicebergs_errors(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path, days=2, per_day=1)
    reader = open_embedded_reader(_settings(tmp_path), lambda: catalog)
    with pytest.raises(NoSuchTableError):
        reader.load_table("bronze.nope")
    with pytest.raises(NoSuchNamespaceError):
        reader.list_tables("nope")
    with pytest.raises(NoSuchNamespaceError):
        reader.list_namespaces("nope")


def test_opening_and_reading_a_missing_catalog_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    opened: list[str] = []

    def writer():
        opened.append("writer")
        return open_embedded_catalog(_settings(root))

    reader = open_embedded_reader(_settings(root), writer)
    assert reader.list_namespaces() == []
    assert not reader.table_exists("bronze.orders")
    with pytest.raises(NoSuchTableError):
        reader.load_table("bronze.orders")
    assert not root.exists() and opened == []  # nothing written, the writer never opened


def test_a_catalog_database_without_tables_reads_as_empty(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "catalog.db").close()  # an empty database file
    reader = open_embedded_reader(_settings(tmp_path), lambda: pytest.fail("no write expected"))
    assert reader.list_namespaces() == []


def test_commits_of_tables_it_loaded_go_through_the_writer(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path, days=3, per_day=1)
    opened: list[str] = []

    def writer():
        opened.append("writer")
        return catalog

    reader = open_embedded_reader(_settings(tmp_path), writer)
    table = reader.load_table("bronze.orders")
    head = table.current_snapshot()
    assert head is not None
    table.manage_snapshots().create_tag(head.snapshot_id, "audited").commit()
    assert opened, "the commit went through the writer catalog"
    assert "audited" in catalog.load_table("bronze.orders").refs()
    assert "audited" in reader.load_table("bronze.orders").refs()
    reader.create_namespace("made_through_reader")
    assert ("made_through_reader",) in catalog.list_namespaces()
