"""Export keeps the engine's types: CSV and Parquet of a real DuckDB result, read back and compared."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.models import QueryResult
from tests.tui.conftest import make_settings
from tui.export import export_result

SQL = """
SELECT * FROM (VALUES
    (1, 12.50::DECIMAL(12,2), DATE '2024-02-29', TIMESTAMP '2024-02-29 13:45:07.123456', 'a,"quoted" text',
     CAST(NULL AS INTEGER)),
    (2, NULL, NULL, NULL, NULL, NULL),
    (3, -0.01::DECIMAL(12,2), DATE '1999-12-31', TIMESTAMP '1999-12-31 23:59:59', '', NULL)
) AS t(id, amount, day, stamp, note, nothing)
ORDER BY id
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> QueryResult:
    backend = load_backend(make_settings(tmp_path_factory.mktemp("export")))
    return backend.sql.execute(SQL)


def test_the_result_carries_the_engines_types(result: QueryResult) -> None:
    schema = result.table.schema
    assert schema.field("amount").type == pa.decimal128(12, 2)
    assert schema.field("day").type == pa.date32()
    assert pa.types.is_timestamp(schema.field("stamp").type)
    assert result.table.column("nothing").null_count == result.row_count == 3


def test_parquet_export_keeps_every_type_and_value(result: QueryResult, tmp_path: Path) -> None:
    path = tmp_path / "out" / "result.parquet"
    assert export_result(result, path, "parquet") == 3
    back = pq.read_table(path)
    assert back.schema.equals(result.table.schema)
    assert back.equals(result.table)


def test_csv_export_keeps_every_value(result: QueryResult, tmp_path: Path) -> None:
    path = tmp_path / "result.csv"
    assert export_result(result, path, "csv") == 3
    schema = result.table.schema
    options = pacsv.ConvertOptions(
        column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False
    )
    back = pacsv.read_csv(path, convert_options=options)
    assert tuple(back.column_names) == result.columns
    assert back.schema.equals(schema)
    assert back.to_pylist() == result.table.to_pylist()
    assert path.read_text().splitlines()[0] == '"id","amount","day","stamp","note","nothing"'
