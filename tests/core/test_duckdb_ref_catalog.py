"""DuckDbSqlEngine with ``ref_catalog``: as of a catalog-wide ref (Nessie's model) every table of the
statement is read from that ref's catalog; two embedded catalogs stand in for two Nessie branches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyiceberg.catalog import Catalog

from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine
from lakehouse_core.errors import NotFoundError, QueryError
from lakehouse_core.models import AsOf
from tests.core.iceberg_fixtures import promoted

COUNT = "SELECT COUNT(*) FROM bronze.orders"
GOLD = "SELECT COUNT(*) FROM gold.daily_sales"


@pytest.fixture(scope="module")
def branches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    main, _ = promoted(tmp_path_factory.mktemp("main"), days=20, per_day=3)  # 60 orders, 20 days
    etl, _ = promoted(tmp_path_factory.mktemp("etl"), days=10, per_day=2)  # 20 orders, 10 days
    etl.drop_table("gold.regional_sales")  # a table the etl ref lacks
    return {"main": main, "etl": etl}


@pytest.fixture(params=["extension", "arrow-fallback"])
def engine(request: pytest.FixtureRequest, branches: dict[str, Any]) -> Iterator[DuckDbSqlEngine]:
    def ref_catalog(ref: str) -> Catalog:
        if ref not in branches:
            raise NotFoundError(f"no Nessie branch, tag or commit {ref!r}")
        catalog: Catalog = branches[ref]
        return catalog

    eng = DuckDbSqlEngine(
        branches["main"],
        use_extension=request.param == "extension",
        ref_catalog=ref_catalog,
        readable=[c.properties["warehouse"] for c in branches.values()],
    )
    yield eng
    eng.close()


def count(engine: DuckDbSqlEngine, sql: str, as_of: AsOf | None = None) -> int:
    return int(engine.execute(sql, as_of=as_of).tuples()[0][0])


def test_every_table_is_read_at_the_ref_and_back(engine: DuckDbSqlEngine) -> None:
    assert (count(engine, COUNT), count(engine, GOLD)) == (60, 20)
    etl = AsOf(ref="etl")
    assert (count(engine, COUNT, etl), count(engine, GOLD, etl)) == (20, 10)
    joined = "SELECT (SELECT COUNT(*) FROM bronze.orders) + (SELECT COUNT(*) FROM gold.daily_sales)"
    assert count(engine, joined, etl) == 30 and count(engine, joined) == 80
    assert count(engine, COUNT, AsOf(ref="main")) == 60


def test_a_table_the_ref_lacks_is_not_read_from_another_ref(engine: DuckDbSqlEngine) -> None:
    regional = "SELECT COUNT(*) FROM gold.regional_sales"
    assert count(engine, regional) > 0  # its view now exists, made from main
    with pytest.raises(QueryError, match="regional_sales"):
        engine.execute(regional, as_of=AsOf(ref="etl"))
    assert count(engine, regional) > 0


def test_unknown_ref_is_a_query_error(engine: DuckDbSqlEngine) -> None:
    with pytest.raises(QueryError, match="no Nessie branch, tag or commit 'nope'"):
        engine.execute(COUNT, as_of=AsOf(ref="nope"))


def test_a_snapshot_is_looked_up_on_the_picked_ref(engine: DuckDbSqlEngine, branches: dict[str, Any]) -> None:
    etl_snapshot = branches["etl"].load_table("bronze.orders").current_snapshot().snapshot_id
    with pytest.raises(QueryError, match=f"snapshot {etl_snapshot} belongs to none of the tables"):
        engine.execute(COUNT, as_of=AsOf(snapshot_id=etl_snapshot))
    assert count(engine, COUNT, AsOf(ref="etl", snapshot_id=etl_snapshot)) == 20
