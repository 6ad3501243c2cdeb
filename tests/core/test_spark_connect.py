"""SparkSqlEngine without a server: the as-of clauses it writes, the read-only gate in Spark's dialect,
its one-line errors, an unreachable server as ServiceUnavailableError, and how it is chosen."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.backends.stack.spark_connect import SparkSqlEngine, apply_as_of, one_line
from lakehouse_core.cli import build_parser
from lakehouse_core.errors import ConfigError, QueryError, ServiceUnavailableError
from lakehouse_core.models import AsOf
from lakehouse_core.settings import LakehouseSettings
from lakehouse_core.sqlparse import refused_kind


def _settings(tmp_path: Path, **values: object) -> LakehouseSettings:
    return LakehouseSettings(_env_file=None, data_dir=tmp_path / "data", **values)  # type: ignore[call-arg]


def test_as_of_goes_after_every_table_read_and_nowhere_else() -> None:
    sql = (
        "WITH recent AS (SELECT * FROM bronze.orders o WHERE status = 'FROM x') "
        "SELECT r.order_id, c.name FROM recent r JOIN bronze.customers AS c ON r.customer_id = c.customer_id"
    )
    out = apply_as_of(sql, AsOf(snapshot_id=42))
    assert out == (
        "WITH recent AS (SELECT * FROM bronze.orders VERSION AS OF 42 o WHERE status = 'FROM x') "
        "SELECT r.order_id, c.name FROM recent r JOIN bronze.customers VERSION AS OF 42 AS c "
        "ON r.customer_id = c.customer_id"
    )
    at = datetime(2026, 1, 2, 13, 4, 5, 600000, tzinfo=timezone(timedelta(hours=1)))
    assert apply_as_of("SELECT 1 FROM gold.daily_sales", AsOf(timestamp=at)) == (
        "SELECT 1 FROM gold.daily_sales TIMESTAMP AS OF '2026-01-02 12:04:05.600000'"
    )
    own = "SELECT 1 FROM t VERSION AS OF 7"
    assert apply_as_of(own, AsOf(snapshot_id=9)) == own
    assert apply_as_of("SELECT 1 FROM t", AsOf(ref="main")) == "SELECT 1 FROM t"  # a ref picks the catalog
    assert apply_as_of("SELECT 1 FROM t", None) == "SELECT 1 FROM t"


def test_read_only_gate_in_spark_dialect() -> None:
    assert refused_kind("SELECT * FROM bronze.orders VERSION AS OF 3", "spark") is None
    assert refused_kind("SHOW TABLES IN bronze", "spark") is None
    assert refused_kind("DESCRIBE bronze.orders", "spark") is None
    assert refused_kind("INSERT INTO bronze.orders SELECT * FROM bronze.orders", "spark") == "INSERT"
    assert refused_kind("CALL nessie.system.expire_snapshots('bronze.orders')", "spark") == "CALL"
    assert refused_kind("SELECT 1; DROP TABLE bronze.orders", "spark") == "DROP"
    assert refused_kind("SET spark.sql.defaultCatalog = other", "spark") == "SET"


def test_refused_before_any_connection(tmp_path: Path) -> None:
    engine = SparkSqlEngine(_settings(tmp_path, mode="stack", spark={"connect_url": "sc://127.0.0.1:1"}))
    with pytest.raises(QueryError, match="read-only: MERGE statements are not allowed") as info:
        engine.execute("MERGE INTO gold.daily_sales t USING gold.daily_sales s ON t.d = s.d "
                       "WHEN MATCHED THEN DELETE")
    assert info.value.engine == "spark"


def test_engine_messages_are_one_line() -> None:
    plan = "[UNRESOLVED_COLUMN] `x` cannot be resolved.; line 1 pos 7;\n'Project ['x]\n+- Relation"
    assert one_line(RuntimeError(plan)) == "[UNRESOLVED_COLUMN] `x` cannot be resolved.; line 1 pos 7"
    grpc = '<_InactiveRpcError:\n\tstatus = StatusCode.UNAVAILABLE\n\tdetails = "Connection refused"\n>'
    assert one_line(RuntimeError(grpc)) == "Connection refused"


def test_unreachable_server_is_unavailable_quickly(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a free port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = SparkSqlEngine(_settings(tmp_path, mode="stack", spark={"connect_url": f"sc://127.0.0.1:{port}"}))
    started = datetime.now(UTC)
    with pytest.raises(ServiceUnavailableError, match=f"spark is unavailable: Spark Connect at sc://127.0.0.1:{port}"):
        engine.execute("SELECT 1")
    assert datetime.now(UTC) - started < timedelta(seconds=20)
    engine.close()


def test_chosen_by_setting_and_cli_in_stack_mode_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LAKEHOUSE_SPARK__CONNECT_URL"):
        SparkSqlEngine(_settings(tmp_path, mode="stack"))
    stack = load_backend(_settings(tmp_path, mode="stack", sql_engine="spark",
                                   spark={"connect_url": "sc://127.0.0.1:15002"}))
    assert isinstance(stack.sql, SparkSqlEngine) and stack.sql.name == "spark"
    assert not isinstance(load_backend(_settings(tmp_path, mode="stack")).sql, SparkSqlEngine)
    with pytest.raises(ConfigError, match="needs stack mode"):
        load_backend(_settings(tmp_path, sql_engine="spark"))
    args = build_parser().parse_args(["sql", "--engine", "spark", "SELECT 1"])
    assert args.sql_engine == "spark"
