"""The SQL sandbox: users' SQL only reads, in a DuckDB session that reads the warehouse only.

Two layers, each tested alone: the statement gate (DuckDB's parser refuses anything but reads
before it runs) and DuckDB's own sandbox (reached here by calling the connection with the gate
bypassed). Then the CLI (`lakehouse sql` in a subprocess) and phase 3 after a user's attempts.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
from lakehouse_core.engines import duckdb_session
from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine
from lakehouse_core.errors import QueryError
from lakehouse_core.iceberg.catalog import open_embedded_catalog
from lakehouse_core.iceberg.promote import append_table
from lakehouse_core.models import AsOf
from lakehouse_core.queries import BUSINESS_QUERIES
from lakehouse_core.settings import LakehouseSettings
from tests.conftest import embedded_settings
from tests.core.iceberg_fixtures import orders, promoted, write_orders

ROOT = Path(__file__).resolve().parents[2]
DAILY = "SELECT date, num_orders, total_revenue FROM gold.daily_sales ORDER BY date"


@dataclass(frozen=True)
class Lake:
    root: Path
    settings: LakehouseSettings
    warehouse: Path
    metadata_json: Path
    """The current metadata file of bronze.orders."""
    first_snapshot: int
    daily: tuple[tuple[object, ...], ...]
    """The real rows of ``DAILY``."""


def _path(uri: str) -> Path:
    return Path(urlparse(uri).path)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The fixture lakehouse promoted once, then 5 more orders (bronze.orders: 2 snapshots)."""
    root = tmp_path_factory.mktemp("sandbox")
    catalog, fx = promoted(root)
    table = catalog.load_table("bronze.orders")
    first = table.current_snapshot()
    assert first is not None
    append_table(catalog, "bronze.orders", write_orders(root / "x.parquet", orders(1, 5, first_id=900)), "r2")
    table = catalog.load_table("bronze.orders")
    daily = tuple(
        (r["date"], r["num_orders"], r["total_revenue"])
        for r in sorted(fx.rows["gold.daily_sales"], key=lambda r: r["date"])
    )
    return Lake(
        root=root,
        settings=embedded_settings(root),
        warehouse=_path(catalog.properties["warehouse"]),
        metadata_json=_path(table.metadata_location),
        first_snapshot=first.snapshot_id,
        daily=daily,
    )


@pytest.fixture(params=["extension", "arrow-fallback"])
def engine(request: pytest.FixtureRequest, lake: Lake) -> Iterator[DuckDbSqlEngine]:
    eng = DuckDbSqlEngine(open_embedded_catalog(lake.settings), use_extension=request.param == "extension")
    yield eng
    eng.close()


def refused_cases(lake: Lake, tmp: Path) -> list[tuple[str, str]]:
    """(statement, the kind its refusal names): every case of the issue and a few more."""
    return [
        (f"COPY (SELECT 1) TO '{tmp / 'out.csv'}'", "COPY"),
        (f"COPY (SELECT 'x') TO '{lake.metadata_json}' (FORMAT csv)", "COPY"),
        (f"COPY bronze.orders TO '{lake.warehouse / 'bronze' / 'stolen.parquet'}'", "COPY"),
        (f"ATTACH '{lake.root / 'catalog.db'}' AS cat (TYPE sqlite)", "ATTACH"),
        (f"LOAD '{tmp / 'evil.duckdb_extension'}'", "LOAD"),
        ("INSTALL httpfs FROM 'http://127.0.0.1:9/'", "INSTALL"),
        ("FORCE INSTALL iceberg", "INSTALL"),
        ("CREATE OR REPLACE VIEW gold.daily_sales AS SELECT DATE '2020-01-01' AS date", "CREATE"),
        ("DROP VIEW gold.daily_sales", "DROP"),
        ("SET enable_external_access = true", "SET"),
        ("RESET lock_configuration", "RESET"),
        ("PRAGMA threads = 1", "PRAGMA"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        (f"EXPORT DATABASE '{tmp / 'export'}'", "EXPORT"),
        ("CREATE TABLE t AS SELECT 1 AS x", "CREATE"),
        ("INSERT INTO gold.daily_sales VALUES (1)", "INSERT"),
        ("DETACH memory", "DETACH"),
        ("CALL enable_logging()", "CALL"),
        ("USE gold", "USE"),
        ("SELECT 1; DROP VIEW gold.daily_sales", "DROP"),  # one non-read refuses the whole input
        (f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{tmp / 'e.csv'}'", "COPY"),
    ]


def test_the_gate_refuses_everything_but_reads(engine: DuckDbSqlEngine, lake: Lake, tmp_path: Path) -> None:
    before = _digest(lake.metadata_json)
    for sql, kind in refused_cases(lake, tmp_path):
        with pytest.raises(QueryError) as info:
            engine.execute(sql)
        assert info.value.message == f"read-only: {kind} statements are not allowed", sql
        assert info.value.engine == "duckdb"
    assert list(tmp_path.iterdir()) == []
    assert _digest(lake.metadata_json) == before
    assert not (lake.warehouse / "bronze" / "stolen.parquet").exists()
    assert engine.execute(DAILY).tuples() == lake.daily  # the app's view is still the real one


def test_reads_still_work(engine: DuckDbSqlEngine, lake: Lake) -> None:
    assert engine.execute(DAILY).tuples() == lake.daily
    assert engine.execute(f"WITH d AS ({DAILY}) SELECT COUNT(*) FROM d").tuples() == ((len(lake.daily),),)
    assert engine.execute("FROM gold.daily_sales SELECT COUNT(*)").tuples() == ((len(lake.daily),),)
    assert "daily_sales" in str(engine.execute(f"EXPLAIN {DAILY}").tuples())
    described = engine.execute("DESCRIBE gold.daily_sales").tuples()
    assert [r[0] for r in described][:3] == ["date", "num_orders", "total_revenue"]
    shown = {(r[1], r[2]) for r in engine.execute("SHOW ALL TABLES").tuples()}
    assert ("gold", "daily_sales") in shown
    assert engine.execute("SHOW TABLES").columns == ("name",)
    summary = engine.execute("SUMMARIZE SELECT num_orders FROM gold.daily_sales")
    assert summary.tuples()[0][0] == "num_orders"
    assert engine.execute("PRAGMA version").row_count == 1
    assert engine.execute("EXPLAIN ANALYZE SELECT COUNT(*) FROM bronze.orders").row_count >= 1


def test_time_travel_still_works(engine: DuckDbSqlEngine, lake: Lake) -> None:
    count = "SELECT COUNT(*) FROM bronze.orders"
    assert engine.execute(count).tuples() == ((65,),)
    assert engine.execute(count, as_of=AsOf(snapshot_id=lake.first_snapshot)).tuples() == ((60,),)
    pinned = f"SELECT COUNT(*) FROM bronze.orders VERSION AS OF {lake.first_snapshot}"
    assert engine.execute(pinned).tuples() == ((60,),)


def test_files_outside_the_warehouse_are_out_of_reach(engine: DuckDbSqlEngine, lake: Lake) -> None:
    """SELECTs pass the gate: DuckDB's sandbox refuses what they read outside the warehouse."""
    outside = [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('file:///etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        f"SELECT * FROM read_text('{lake.root / 'catalog.db'}')",
        f"SELECT * FROM read_blob('{lake.warehouse.as_uri()}/../catalog.db')",
        f"SELECT * FROM read_parquet('{lake.root / 'x.parquet'}')",
        "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
    ]
    for sql in outside:
        with pytest.raises(QueryError, match="Permission Error") as info:
            engine.execute(sql)
        assert "\n" not in info.value.message.strip(), sql
    inside = f"SELECT COUNT(*) > 0 FROM glob('{lake.warehouse.as_uri()}/bronze/orders/metadata/*')"
    assert engine.execute(inside).tuples() == ((True,),)  # the warehouse itself stays readable


def test_duckdb_refuses_even_with_the_gate_bypassed(lake: Lake, tmp_path: Path) -> None:
    """The connection itself, called without the gate: nothing outside the warehouse is read or
    written, the warehouse is not written, no extension, ATTACH or setting change."""
    engine = DuckDbSqlEngine(open_embedded_catalog(lake.settings))
    try:
        assert engine.execute(DAILY).tuples() == lake.daily  # opens the sandboxed connection
        con = engine._con  # the gate is bypassed from here on
        before = _digest(lake.metadata_json)
        attempts = [
            "SELECT * FROM read_csv('/etc/passwd')",
            f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
            f"COPY (SELECT 'x') TO '{lake.metadata_json}' (FORMAT csv)",
            f"COPY (SELECT 'x') TO '{lake.metadata_json.as_uri()}' (FORMAT csv)",
            f"COPY (SELECT 1) TO '{lake.warehouse.as_uri()}/bronze/new.csv'",
            f"EXPORT DATABASE '{lake.warehouse.as_uri()}/dump'",
            f"ATTACH '{lake.root / 'catalog.db'}' AS cat",
            f"LOAD '{tmp_path / 'evil.duckdb_extension'}'",
            "INSTALL httpfs FROM 'http://127.0.0.1:9/'",
            "SET enable_external_access = true",
            "RESET lock_configuration",
            "SET allowed_directories = ['/']",
            "PRAGMA threads = 1",
            "SELECT * FROM duckdb_secrets(redact = false)",
        ]
        for sql in attempts:
            with pytest.raises(duckdb.Error):
                con.execute(sql)
        assert _digest(lake.metadata_json) == before
        assert list(tmp_path.iterdir()) == []
        assert not (lake.warehouse / "bronze" / "new.csv").exists()
        assert not (lake.warehouse / "dump").exists()
        settings = dict(con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('enable_external_access', 'lock_configuration', 'autoinstall_known_extensions', "
            "'autoload_known_extensions')"
        ).fetchall())
        allowed = con.execute("SELECT current_setting('allowed_directories')::VARCHAR").fetchone()[0]
        assert settings == {
            "enable_external_access": "false",
            "lock_configuration": "true",
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
        }
        # DuckDB adds its temp directory itself; the warehouse is the one we give
        assert f"'file:{lake.warehouse}/'" in allowed
        assert engine.execute(DAILY).tuples() == lake.daily
    finally:
        engine.close()


def test_read_only_filesystem_refuses_every_change(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("kept")
    fs = duckdb_session.ReadOnlyLocalFileSystem()
    assert fs.cat_file(str(target)) == b"kept"
    for change in (
        lambda: fs.open(str(target), "wb"),
        lambda: fs.open(str(target), "ab"),
        lambda: fs.rm(str(target)),
        lambda: fs.mv(str(target), str(tmp_path / "g")),
        lambda: fs.makedirs(str(tmp_path / "d")),
        lambda: fs.touch(str(tmp_path / "new")),
    ):
        with pytest.raises(PermissionError):
            change()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"] and target.read_text() == "kept"


def test_s3_access_is_limited_to_the_warehouse_bucket() -> None:
    """allowed_directories takes an s3:// prefix: other buckets (even one whose name extends the
    warehouse's) and plain URLs are refused before any request; the bucket itself is asked for."""
    pytest.importorskip("duckdb_extension_httpfs")
    con = duckdb_session.connect()
    secret = (
        "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v', ENDPOINT '127.0.0.1:9', "
        "URL_STYLE 'path', USE_SSL false)"
    )
    assert duckdb_session.load_extensions(con, ("httpfs",), (secret, "SET http_timeout = 1000"))
    duckdb_session.sandbox(con, ("s3://warehouse",))
    for url in ("s3://warehouse-evil/x.parquet", "s3://other/x.parquet", "http://127.0.0.1:9/x.parquet"):
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"SELECT * FROM read_parquet('{url}')")
    with pytest.raises(duckdb.IOException):  # allowed: DuckDB asks the (closed) endpoint
        con.execute("SELECT * FROM read_parquet('s3://warehouse/x.parquet')")
    con.close()


def test_stack_fallback_refuses_before_asking_nessie(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path, mode="stack", nessie={"url": "http://127.0.0.1:9/api/v2"})
    engine = RestDuckDbSqlEngine(settings)
    with pytest.raises(QueryError) as info:
        engine.execute("COPY (SELECT 1) TO 's3://warehouse/x.csv'")
    assert info.value.message == "read-only: COPY statements are not allowed"
    assert info.value.engine == "duckdb (Nessie REST fallback)"
    assert engine.uses_iceberg_extension is None  # nothing was opened
    engine.close()


def test_building_an_engine_opens_nothing(lake: Lake) -> None:
    engine = DuckDbSqlEngine(open_embedded_catalog(lake.settings))
    assert engine._con_ is None
    with pytest.raises(QueryError):
        engine.execute("DROP VIEW gold.daily_sales")
    assert engine._con_ is None  # refused before the connection was needed
    engine.close()


def test_phase_3_is_not_fooled_by_the_users_session(lake: Lake) -> None:
    """Even a view replaced in the user's session (gate bypassed) never reaches phase 3: it has
    its own engine."""
    backend = load_backend(lake.settings)
    fake = "CREATE OR REPLACE VIEW gold.daily_sales AS SELECT DATE '2020-01-01' AS date, 1 AS num_orders"
    with pytest.raises(QueryError, match="^read-only: CREATE statements are not allowed$"):
        backend.sql.execute(fake)
    with pytest.raises(QueryError, match="^read-only: DROP statements are not allowed$"):
        backend.sql.execute("DROP VIEW bronze.orders")
    assert backend.sql.execute(DAILY).tuples() == lake.daily
    con = backend.sql._con  # type: ignore[attr-defined]
    con.execute(fake + ", 0 AS total_revenue, 0 AS avg_order_value, 0 AS unique_customers")
    con.execute("DROP VIEW bronze.orders")
    assert backend.sql.execute("SELECT COUNT(*) FROM gold.daily_sales").tuples() == ((1,),)  # fooled

    result = backend.phases.run(3)
    assert result.ok
    reference = DuckDbSqlEngine(open_embedded_catalog(lake.settings))
    for query in BUSINESS_QUERIES:
        expected = [list(row) for row in reference.execute(query.sql, limit=1000).tuples()]
        got = result.outputs[query.key]["rows"]
        assert len(got) == len(expected) and got[:1] and len(got[0]) == len(expected[0]), query.key
    daily = next(q for q in BUSINESS_QUERIES if "daily_sales" in q.sql)
    assert len(result.outputs[daily.key]["rows"]) > 1  # the real days, not the one fake row
    assert result.outputs["time_travel"]["count_now"] == 65
    reference.close()


# ---------------------------------------------------------------- the CLI, as a user runs it
def lakehouse(lake: Lake, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["PYTHONPATH"] = str(ROOT)
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "lakehouse_core.cli", "--data-dir", str(lake.root), *argv],
        capture_output=True, text=True, env=env, cwd=lake.root, timeout=120, check=False,
    )


CLI_REFUSED = [
    ("COPY (SELECT 1) TO '/tmp/lakehouse-sandbox-out.csv'", "COPY"),
    ("ATTACH '/tmp/other.db'", "ATTACH"),
    ("LOAD '/tmp/evil.duckdb_extension'", "LOAD"),
    ("INSTALL httpfs FROM 'http://127.0.0.1:9/'", "INSTALL"),
    ("CREATE OR REPLACE VIEW gold.daily_sales AS SELECT 1 AS x", "CREATE"),
    ("DROP VIEW gold.daily_sales", "DROP"),
    ("SET enable_external_access = true", "SET"),
    ("PRAGMA threads = 1", "PRAGMA"),
]


@pytest.mark.parametrize(("sql", "kind"), CLI_REFUSED, ids=[k for _, k in CLI_REFUSED])
def test_cli_refuses_with_one_line(lake: Lake, sql: str, kind: str) -> None:
    done = lakehouse(lake, "sql", sql)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: read-only: {kind} statements are not allowed"
    assert done.stdout == ""


def test_cli_copy_over_metadata_json_leaves_the_catalog_intact(lake: Lake) -> None:
    before = _digest(lake.metadata_json)
    done = lakehouse(lake, "sql", f"COPY (SELECT 'x') TO '{lake.metadata_json}' (FORMAT csv)")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: read-only: COPY statements are not allowed"
    assert _digest(lake.metadata_json) == before
    again = lakehouse(lake, "--json", "sql", "SELECT COUNT(*) AS n FROM bronze.orders")
    assert again.returncode == 0 and json.loads(again.stdout)["rows"] == [[65]]


def test_cli_reads_outside_the_warehouse_fail_in_one_line(lake: Lake) -> None:
    done = lakehouse(lake, "sql", "SELECT * FROM read_csv('/etc/passwd')")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    # DuckDB's message: for a plain path it names the disabled local file system, not the path
    assert len(lines) == 1 and lines[0].startswith("error: Permission Error")


def test_cli_select_and_time_travel_still_work(lake: Lake) -> None:
    now = lakehouse(lake, "--json", "sql", "SELECT COUNT(*) AS n FROM bronze.orders")
    assert now.returncode == 0, now.stderr
    then = lakehouse(lake, "--json", "sql", "SELECT COUNT(*) AS n FROM bronze.orders",
                     "--as-of", str(lake.first_snapshot))
    assert then.returncode == 0, then.stderr
    assert json.loads(now.stdout)["rows"] == [[65]] and json.loads(then.stdout)["rows"] == [[60]]
