"""RestDuckDbSqlEngine: DuckDB over Nessie's Iceberg REST catalog + MinIO (stack mode without Dremio)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
from lakehouse_core.errors import QueryError
from lakehouse_core.iceberg.promote import append_table, promote_all
from lakehouse_core.models import AsOf
from lakehouse_core.ports import SqlEngine
from tests.core.iceberg_fixtures import build_fixture, orders, write_orders
from tests.stack.conftest import StackEndpoints, make_stack_settings

ENGINE = "duckdb (Nessie REST fallback)"


@pytest.fixture(scope="module")
def setup(stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("stack-sql")
    branch = f"test-sql-{uuid.uuid4().hex[:10]}"
    settings = make_stack_settings(stack, root / "data", nessie={
        "url": stack.nessie_url, "ref": branch})
    client = NessieClient(settings)
    # an empty branch (at Nessie's root commit): table histories hold only this module's commits
    client.create_branch(branch, "main", at_hash=client.config()["noAncestorHash"])
    writer = open_rest_catalog(settings, branch)
    fx = build_fixture(root)  # 20 days x 3 orders
    promote_all(writer, fx.paths, run_id="run-1")
    first = writer.load_table("bronze.orders").current_snapshot().snapshot_id
    append_table(writer, "bronze.orders", write_orders(Path(root) / "extra.parquet",
                                                         orders(1, 4, first_id=900)), "run-2")
    engine = RestDuckDbSqlEngine(settings, NessieClient(settings))
    yield {"engine": engine, "first_snapshot": first, "settings": settings}
    engine.close()
    client.delete_ref(branch)
    client.close()


def test_reports_its_engine_name(setup: dict[str, Any]) -> None:
    engine: RestDuckDbSqlEngine = setup["engine"]
    assert isinstance(engine, SqlEngine)
    assert engine.name == ENGINE and engine.supports_cancel


def test_query_over_a_stack_table(setup: dict[str, Any]) -> None:
    engine: RestDuckDbSqlEngine = setup["engine"]
    result = engine.execute(
        "SELECT COUNT(*) AS n, MIN(order_id) AS lo, MAX(order_id) AS hi FROM bronze.orders"
    )
    assert result.engine == ENGINE
    assert engine.uses_iceberg_extension is True  # iceberg_scan over s3:// with the MinIO secret
    assert result.columns == ("n", "lo", "hi") and result.tuples() == ((64, 1, 903),)
    joined = engine.execute(
        "SELECT COUNT(*) FROM bronze.orders o JOIN bronze.customers c USING (customer_id)"
    )
    assert joined.tuples()[0][0] == 64


def test_time_travel_to_an_older_nessie_commit(setup: dict[str, Any]) -> None:
    engine: RestDuckDbSqlEngine = setup["engine"]
    then = engine.execute("SELECT COUNT(*) FROM bronze.orders",
                          as_of=AsOf(snapshot_id=setup["first_snapshot"]))
    now = engine.execute("SELECT COUNT(*) FROM bronze.orders")
    assert (then.tuples()[0][0], now.tuples()[0][0]) == (60, 64)
    assert then.as_of == AsOf(snapshot_id=setup["first_snapshot"])


def test_limit_truncates(setup: dict[str, Any]) -> None:
    engine: RestDuckDbSqlEngine = setup["engine"]
    result = engine.execute("SELECT order_id FROM bronze.orders ORDER BY order_id", limit=5)
    assert [r[0] for r in result.tuples()] == [1, 2, 3, 4, 5] and result.truncated


def test_bad_sql_raises_query_error_with_engine_name(setup: dict[str, Any]) -> None:
    engine: RestDuckDbSqlEngine = setup["engine"]
    with pytest.raises(QueryError, match="no_such_column") as info:
        engine.execute("SELECT no_such_column FROM bronze.orders")
    assert info.value.engine == ENGINE
