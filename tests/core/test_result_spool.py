"""ResultSpool and DuckDbSqlEngine's spooled results: large results live in a mapped, unlinked file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine
from lakehouse_core.engines.spool import ResultSpool
from lakehouse_core.errors import LakehouseError, QueryError
from tests.core.iceberg_fixtures import promoted

ROWS = 200_000
QUERY = (
    f"SELECT range AS i, 'row ' || range AS label, (range / 100)::DECIMAL(12, 2) AS amount, "
    f"DATE '2024-01-01' + (range % 365)::INTEGER AS day, "
    f"CASE WHEN range % 7 = 0 THEN NULL ELSE range END AS maybe FROM range({ROWS})"
)


def batches(n: int, size: int = 10_000) -> list[pa.RecordBatch]:
    return [
        pa.record_batch({"i": pa.array(range(s, min(s + size, n)), pa.int64())}) for s in range(0, n, size)
    ]


def test_small_result_stays_in_memory(tmp_path: Path) -> None:
    spool = ResultSpool(batches(1)[0].schema, tmp_path, threshold_bytes=1 << 20)
    for b in batches(20_000):  # 160 kB
        spool.add(b)
    table = spool.table()
    assert not spool.spooled and table.num_rows == 20_000 and list(tmp_path.iterdir()) == []


def test_large_result_is_mapped_from_an_unlinked_file(tmp_path: Path) -> None:
    spool = ResultSpool(batches(1)[0].schema, tmp_path, threshold_bytes=100_000)
    allocated = pa.total_allocated_bytes()
    for b in batches(500_000):  # 4 MB in batches the test drops as it goes
        spool.add(b)
    assert spool.spooled
    assert len(list(tmp_path.iterdir())) == 1  # being written
    table = spool.table(limit=400_000)
    assert table.num_rows == 400_000
    assert table.column("i").to_pylist()[::99_999] == [0, 99_999, 199_998, 299_997, 399_996]
    assert list(tmp_path.iterdir()) == []  # unlinked as soon as it was mapped
    # written in batches of >= WRITE_BYTES, not as the 10k-row batches came (each header is a page
    # the kernel maps with its neighbours when the file is read)
    assert table.column("i").num_chunks == 1
    # the rows are in the mapping, not in Arrow's heap
    assert pa.total_allocated_bytes() - allocated < 1_000_000


def test_discard_removes_the_file(tmp_path: Path) -> None:
    spool = ResultSpool(batches(1)[0].schema, tmp_path, threshold_bytes=1)
    spool.add(batches(10)[0])
    assert spool.spooled and list(tmp_path.iterdir())
    spool.discard()
    assert list(tmp_path.iterdir()) == []


def test_an_unusable_spool_directory_is_one_error_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    spool = ResultSpool(batches(1)[0].schema, blocker / "spool", threshold_bytes=1)
    with pytest.raises(LakehouseError, match=r"cannot spool the result to .*not-a-dir/spool") as info:
        spool.add(batches(10)[0])
    assert "\n" not in info.value.message


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    return promoted(tmp_path_factory.mktemp("spool"))[0]


def test_engine_spools_large_results_and_keeps_every_type(catalog, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    in_memory = DuckDbSqlEngine(catalog)
    spooled = DuckDbSqlEngine(catalog, spool_dir=spool_dir, spool_bytes=1 << 20)
    try:
        expected = in_memory.execute(QUERY, limit=150_000)
        allocated = pa.total_allocated_bytes()
        result = spooled.execute(QUERY, limit=150_000)
        assert pa.total_allocated_bytes() - allocated < 2_000_000  # 150k rows of 5 columns: ~5 MB
        assert result.truncated and result.row_count == 150_000
        assert result.table.equals(expected.table)
        assert result.types == expected.types
        assert result.tuples(1)[0][2] == Decimal("0.00") and result.tuples(8)[7][4] is None
        assert list(spool_dir.iterdir()) == []
        # a spooled result exports like any other
        pq.write_table(result.table, tmp_path / "out.parquet")
        assert pq.read_table(tmp_path / "out.parquet").equals(expected.table)
        # small results are not spooled at all
        assert spooled.execute("SELECT count(*) FROM bronze.orders").tuples() == in_memory.execute(
            "SELECT count(*) FROM bronze.orders"
        ).tuples()
    finally:
        in_memory.close()
        spooled.close()


def test_a_spool_that_cannot_be_written_is_a_query_error(catalog, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    engine = DuckDbSqlEngine(catalog, spool_dir=tmp_path / "file" / "spool", spool_bytes=1024)
    try:
        with pytest.raises(QueryError, match="cannot spool the result"):
            engine.execute(QUERY)
        assert engine.execute("SELECT 42").tuples() == ((42,),)  # the session still works
    finally:
        engine.close()
