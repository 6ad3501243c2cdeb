"""DuckDbSqlEngine: the platform's business queries, limits, errors, cancel, as_of, view refresh."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine, referenced_tables
from lakehouse_core.errors import CancelledError, QueryError
from lakehouse_core.iceberg import ops
from lakehouse_core.iceberg.promote import append_table
from lakehouse_core.models import AsOf
from lakehouse_core.ports import SqlEngine
from tests.core.iceberg_fixtures import orders, promoted, write_orders

DAILY = (
    "SELECT date, num_orders, total_revenue, avg_order_value FROM gold.daily_sales "
    "ORDER BY date DESC LIMIT 14"
)
TOP10 = (
    "SELECT customer_id, total_orders, lifetime_value FROM gold.customer_metrics "
    "ORDER BY lifetime_value DESC LIMIT 10"
)
CATEGORY = (
    "SELECT category, SUM(total_revenue) AS revenu, SUM(units_sold) AS unites "
    "FROM gold.product_performance GROUP BY category ORDER BY revenu DESC"
)
COUNT_ORDERS = "SELECT COUNT(*) FROM bronze.orders"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """Promoted fixture + one extra append of 5 orders (snapshots s1 -> s2 on bronze.orders)."""
    root = tmp_path_factory.mktemp("sql")
    catalog, fx = promoted(root)
    table = catalog.load_table("bronze.orders")
    s1 = ops.snapshot_info(table.current_snapshot())
    time.sleep(0.005)
    extra = write_orders(root / "extra.parquet", orders(1, 5, first_id=1000))
    append_table(catalog, "bronze.orders", extra, "run-2")
    table.refresh()
    ops.create_ref(table, "v1", "tag", snapshot_id=s1.snapshot_id)
    s2 = ops.snapshot_info(table.current_snapshot())
    return catalog, fx, s1, s2


@pytest.fixture(params=["extension", "arrow-fallback"])
def engine(request: pytest.FixtureRequest, world):
    eng = DuckDbSqlEngine(world[0], use_extension=request.param == "extension")
    assert eng.uses_iceberg_extension == (request.param == "extension")
    yield eng
    eng.close()


def test_protocol(engine) -> None:
    assert isinstance(engine, SqlEngine)
    assert engine.name == "duckdb" and engine.supports_cancel


def test_daily_revenue_trend_last_14_days(engine, world) -> None:
    _, fx, _, _ = world
    result = engine.execute(DAILY)
    expected = [
        (r["date"], r["num_orders"], r["total_revenue"], r["avg_order_value"])
        for r in sorted(fx.rows["gold.daily_sales"], key=lambda r: r["date"], reverse=True)[:14]
    ]
    assert list(result.tuples()) == expected
    assert result.columns == ("date", "num_orders", "total_revenue", "avg_order_value")
    assert result.types == ("DATE", "BIGINT", "DECIMAL(18,2)", "DECIMAL(18,2)")
    assert result.engine == "duckdb" and result.elapsed_s > 0 and not result.truncated
    assert result.total_rows == 14 and result.sql == DAILY


def test_top_10_customers_by_lifetime_value(engine, world) -> None:
    _, fx, _, _ = world
    result = engine.execute(TOP10)
    metrics = fx.rows["gold.customer_metrics"]
    everyone = {(r["customer_id"], r["total_orders"], r["lifetime_value"]) for r in metrics}
    values = sorted((v for _, _, v in everyone), reverse=True)[:10]
    assert [r[2] for r in result.tuples()] == values
    assert set(result.tuples()) <= everyone and len(result.tuples()) == 10


def test_revenue_and_units_by_category(engine, world) -> None:
    _, fx, _, _ = world
    revenue: dict[str, object] = defaultdict(int)
    units: dict[str, int] = defaultdict(int)
    for r in fx.rows["gold.product_performance"]:
        revenue[r["category"]] += r["total_revenue"]
        units[r["category"]] += r["units_sold"]
    expected = sorted(((c, revenue[c], units[c]) for c in revenue), key=lambda t: t[1], reverse=True)
    result = engine.execute(CATEGORY)
    assert [tuple(r) for r in result.tuples()] == [(c, v, u) for c, v, u in expected]
    assert result.columns == ("category", "revenu", "unites")


def test_time_travel_count_at_older_snapshot(engine, world) -> None:
    _, _, s1, s2 = world
    assert engine.execute(COUNT_ORDERS).tuples() == ((65,),)
    assert engine.execute(COUNT_ORDERS, as_of=AsOf(snapshot_id=s1.snapshot_id)).tuples() == ((60,),)
    dremio_style = f"SELECT COUNT(*) FROM bronze.orders VERSION AS OF {s1.snapshot_id}"
    assert engine.execute(dremio_style).tuples() == ((60,),)
    both = "SELECT (SELECT COUNT(*) FROM bronze.orders AT_S), (SELECT COUNT(*) FROM bronze.orders)"
    both = both.replace("bronze.orders AT_S", f"bronze.orders FOR VERSION AS OF {s1.snapshot_id}")
    assert engine.execute(both).tuples() == ((60, 65),)
    with pytest.raises(QueryError, match="snapshot 123 does not exist"):
        engine.execute("SELECT COUNT(*) FROM bronze.orders VERSION AS OF 123")


def test_version_as_of_is_read_from_the_syntax_tree(engine, world) -> None:
    _, _, s1, _ = world
    sql = (
        f"SELECT COUNT(*), 'bronze.orders VERSION AS OF 1' AS text FROM Bronze.\"orders\" "
        f"FOR VERSION AS OF {s1.snapshot_id} AS o /* bronze.orders VERSION AS OF 2 */"
    )
    assert engine.execute(sql).tuples() == ((60, "bronze.orders VERSION AS OF 1"),)
    shadow = (
        f"WITH orders AS (SELECT * FROM bronze.orders VERSION AS OF {s1.snapshot_id}) "
        "SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM bronze.orders)"
    )
    assert engine.execute(shadow).tuples() == ((60, 65),)
    untouched = "SELECT 'bronze.orders VERSION AS OF 123' -- bronze.orders VERSION AS OF 123"
    assert engine.execute(untouched).tuples() == (("bronze.orders VERSION AS OF 123",),)


def test_as_of_snapshot_applies_to_its_table_only(engine, world) -> None:
    _, _, s1, _ = world
    sql = "SELECT (SELECT COUNT(*) FROM bronze.orders), (SELECT COUNT(*) FROM gold.daily_sales)"
    result = engine.execute(sql, as_of=AsOf(snapshot_id=s1.snapshot_id))
    assert result.tuples() == ((60, 20),) and result.as_of == AsOf(snapshot_id=s1.snapshot_id)
    with pytest.raises(QueryError, match="snapshot 99"):
        engine.execute(sql, as_of=AsOf(snapshot_id=99))
    assert engine.execute(sql).tuples() == ((65, 20),)


def test_as_of_timestamp_applies_to_all_tables(engine, world) -> None:
    _, _, s1, s2 = world
    sql = "SELECT (SELECT COUNT(*) FROM bronze.orders), (SELECT COUNT(*) FROM gold.daily_sales)"
    # promote_all committed bronze.orders before gold.daily_sales: at s1 the gold table was still empty
    assert engine.execute(sql, as_of=AsOf(timestamp=s1.committed_at)).tuples() == ((60, 0),)
    assert engine.execute(sql, as_of=AsOf(timestamp=s2.committed_at)).tuples() == ((65, 20),)
    long_ago = s1.committed_at - timedelta(days=1)  # before any table the query reads existed
    with pytest.raises(QueryError) as info:
        engine.execute(sql, as_of=AsOf(timestamp=long_ago))
    assert info.value.message == (  # s1: bronze.orders' first snapshot, the first of the two tables
        f"no snapshot at or before {long_ago.isoformat()} in any of bronze.orders, gold.daily_sales: "
        f"the first snapshot (of bronze.orders) is from {s1.committed_at.isoformat(timespec='seconds')}"
    )
    with pytest.raises(QueryError, match=r"^no snapshot at or before .* in bronze\.orders: its first snap"):
        engine.execute("SELECT * FROM bronze.orders", as_of=AsOf(timestamp=long_ago))


def test_as_of_ref(engine) -> None:
    sql = "SELECT (SELECT COUNT(*) FROM bronze.orders), (SELECT COUNT(*) FROM gold.daily_sales)"
    assert engine.execute(sql, as_of=AsOf(ref="v1")).tuples() == ((60, 20),)
    assert engine.execute(sql, as_of=AsOf(ref="main")).tuples() == ((65, 20),)
    with pytest.raises(QueryError, match="ref 'nope'"):
        engine.execute(sql, as_of=AsOf(ref="nope"))


def test_limit_and_truncated(engine) -> None:
    sql = "SELECT order_id FROM bronze.orders ORDER BY order_id"
    cut = engine.execute(sql, limit=10)
    assert [r[0] for r in cut.tuples()] == list(range(1, 11))
    assert cut.truncated and cut.total_rows is None
    exact = engine.execute(sql, limit=65)
    assert exact.row_count == 65 and not exact.truncated and exact.total_rows == 65
    assert engine.execute(sql).row_count == 65
    zero = engine.execute(sql, limit=0)
    assert zero.tuples() == () and zero.truncated and zero.columns == ("order_id",)
    big = engine.execute("SELECT range AS i, range * 2 AS j FROM range(1000000)", limit=250_000)
    assert big.row_count == 250_000 and big.truncated and big.tuples()[-1] == (249_999, 499_998)
    full = engine.execute("SELECT range AS i FROM range(1000000)")
    assert (
        full.row_count == 1_000_000
        and full.table.column(0)[999_999].as_py() == 999_999
        and not full.truncated
    )


def test_first_page_comes_from_the_same_execution(engine) -> None:
    pages: list = []
    result = engine.execute("SELECT range AS i FROM range(100000)", limit=50_000, on_first_page=pages.append)
    assert len(pages) == 1 and 0 < pages[0].row_count < 50_000 and pages[0].truncated
    assert pages[0].table.equals(result.table.slice(0, pages[0].row_count))
    assert result.row_count == 50_000 and result.truncated and result.table.schema == pages[0].table.schema
    whole: list = []
    assert engine.execute("SELECT 1 AS x", on_first_page=whole.append).tuples() == ((1,),)
    assert whole == []  # the first rows are the whole result: no separate first page


def test_cancel_after_the_first_page(engine) -> None:
    with pytest.raises(CancelledError):
        engine.execute("SELECT range FROM range(20000000)", on_first_page=lambda _: engine.cancel())
    assert engine.execute("SELECT 42").tuples() == ((42,),)


def test_writes_are_refused_and_duplicate_names(engine) -> None:
    with pytest.raises(QueryError, match="^read-only: CREATE statements are not allowed$"):
        engine.execute("CREATE TEMP TABLE IF NOT EXISTS scratch AS SELECT 1 AS x")
    dup = engine.execute("SELECT 1 AS a, 2 AS a")
    assert dup.columns == ("a", "a") and dup.tuples() == ((1, 2),)


def test_bad_queries_raise_query_error_with_duckdb_message(engine) -> None:
    with pytest.raises(QueryError) as info:
        engine.execute("SELECT no_such_column FROM bronze.orders")
    assert 'Referenced column "no_such_column" not found' in info.value.message
    assert info.value.engine == "duckdb"
    with pytest.raises(QueryError, match="syntax error"):
        engine.execute("SELEC 1")
    with pytest.raises(QueryError, match="nope"):
        engine.execute("SELECT * FROM bronze.nope")
    assert engine.execute("SELECT 42").tuples() == ((42,),)  # still usable


def test_cancel_long_query_from_another_thread(engine) -> None:
    outcome: dict[str, BaseException | None] = {}

    def run() -> None:
        try:
            engine.execute("SELECT SUM(a.range * b.range) FROM range(200000) a, range(200000) b")
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    for _ in range(500):  # bounded: wait until the statement runs, then cancel
        if engine._running:
            break
        time.sleep(0.01)
    while worker.is_alive():
        engine.cancel()
        worker.join(timeout=0.2)
    assert isinstance(outcome["error"], CancelledError)
    assert engine.execute("SELECT 1").tuples() == ((1,),)
    engine.cancel()  # idle: no-op
    assert engine.execute("SELECT 2").tuples() == ((2,),)


def test_views_follow_new_snapshots_and_schema_evolution(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path)
    engine = DuckDbSqlEngine(catalog)
    assert engine.execute(COUNT_ORDERS).tuples() == ((60,),)
    extra = write_orders(tmp_path / "x.parquet", orders(1, 2, first_id=7000))
    append_table(catalog, "bronze.orders", extra, "r")
    assert engine.execute(COUNT_ORDERS).tuples() == ((62,),)
    ops.add_column(catalog.load_table("bronze.orders"), "channel", "string")
    old_query = "SELECT COUNT(order_id), SUM(quantity) > 0 FROM bronze.orders"
    assert engine.execute(old_query).tuples() == ((62, True),)
    assert engine.execute("SELECT COUNT(channel) FROM BRONZE.Orders").tuples() == ((0,),)


def test_concurrent_executes_are_serialised(engine) -> None:
    results: list[tuple] = []

    def run(n: int) -> None:
        results.append(engine.execute(f"SELECT COUNT(*) + {n} FROM bronze.orders").tuples()[0])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [(65 + n,) for n in range(6)]


def test_referenced_tables_parsing() -> None:
    known = [("bronze", "orders"), ("gold", "daily_sales")]
    sql = 'SELECT * FROM Bronze . orders o JOIN "gold"."daily_sales" d ON true, other.thing'
    assert referenced_tables(sql, known) == {("bronze", "orders"), ("gold", "daily_sales")}


def test_init_hooks_and_query_timeout(world) -> None:
    engine = DuckDbSqlEngine(
        world[0], extra_extensions=("httpfs",), init_sql=("SET threads = 1",), query_timeout_s=0.5
    )
    try:
        assert engine.execute("SELECT current_setting('threads')").tuples() == ((1,),)
        # duckdb_extensions() lists the extension directory, which the sandbox does not allow
        loaded = (
            "SELECT (SELECT COUNT(*) FROM duckdb_functions()"
            "  WHERE function_name IN ('iceberg_scan', 'read_avro')),"
            " (SELECT COUNT(*) FROM duckdb_settings() WHERE name = 's3_endpoint')"  # httpfs's setting
        )
        assert engine.execute(loaded).tuples()[0][0] >= 2 and engine.execute(loaded).tuples()[0][1] == 1
        with pytest.raises(CancelledError):
            engine.execute("SELECT SUM(a.range * b.range) FROM range(200000) a, range(200000) b")
        assert engine.execute(COUNT_ORDERS).tuples() == ((65,),)
    finally:
        engine.close()


def test_snapshot_table_hook_reads_older_snapshots(world) -> None:
    catalog, fx, s1, _ = world
    asked: list[int] = []

    def snapshot_table(tbl, snapshot_id: int):
        asked.append(snapshot_id)
        return tbl

    engine = DuckDbSqlEngine(catalog, snapshot_table=snapshot_table)
    try:
        result = engine.execute(f"SELECT COUNT(*) FROM bronze.orders VERSION AS OF {s1.snapshot_id}")
        assert result.tuples() == ((len(fx.rows["bronze.orders"]),),)
        assert s1.snapshot_id in asked
    finally:
        engine.close()


def test_failing_init_sql_falls_back_to_pyiceberg_scans(world) -> None:
    engine = DuckDbSqlEngine(world[0], init_sql=("SET no_such_setting = 1",))
    try:
        assert engine.uses_iceberg_extension is False
        assert engine.execute(COUNT_ORDERS).tuples() == ((65,),)
    finally:
        engine.close()
