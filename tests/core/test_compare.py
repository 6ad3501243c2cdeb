"""engines.compare: the rows that differ between two results (full-row anti-join, both ways)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from lakehouse_core.engines.compare import EngineQueryComparer, compare_results, diff_rows, shared_columns
from lakehouse_core.errors import CancelledError
from lakehouse_core.models import AsOf, QueryResult
from lakehouse_core.ports import CancelToken, QueryComparer


def _result(table: pa.Table, as_of: AsOf | None = None) -> QueryResult:
    return QueryResult(tuple(table.column_names), (), table, "fake", 0.0, as_of=as_of)


def test_changed_added_and_removed_rows_are_found_both_ways() -> None:
    one, two, four, five = Decimal("1.00"), Decimal("2.00"), Decimal("4.00"), Decimal("5.00")
    left = pa.table({"day": [1, 2, 3, 4], "revenue": [one, two, None, four]})
    right = pa.table({"day": [1, 2, 3, 5], "revenue": [one, Decimal("2.50"), None, five]})
    left_only, right_only, columns = diff_rows(left, right)
    assert left_only == (1, 3)  # day 2 changed, day 4 only on the left; NULL equals NULL
    assert right_only == (1, 3)
    assert columns == ("day", "revenue")


def test_identical_results_in_another_order_do_not_differ() -> None:
    left = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    right = pa.table({"a": [3, 1, 2], "b": ["z", "x", "y"]})
    comparison = compare_results(_result(left), _result(right))
    assert comparison.identical and comparison.left_only == comparison.right_only == ()


def test_duplicates_count() -> None:
    left = pa.table({"a": [7, 7, 7, 8]})
    right = pa.table({"a": [7, 8, 8]})
    left_only, right_only, _ = diff_rows(left, right)
    assert left_only == (1, 2)  # two of the three 7s have no partner
    assert right_only == (2,)


def test_columns_by_name_and_types_that_differ_compare_as_text() -> None:
    left = pa.table({"a": pa.array([1, 2], pa.int32()), "only_left": ["p", "q"]})
    right = pa.table({"a": pa.array(["1", "3"]), "only_right": [0.5, 0.5]})
    left_only, right_only, columns = diff_rows(left, right)
    assert columns == ("a",)
    assert left_only == (1,) and right_only == (1,)
    assert shared_columns(("x", "y"), ("y", "x")) == [(0, 1), (1, 0)]


def test_no_shared_column_means_every_row_differs() -> None:
    left_only, right_only, columns = diff_rows(pa.table({"a": [1, 2]}), pa.table({"b": [1]}))
    assert (left_only, right_only, columns) == ((0, 1), (0,), ())


def test_nested_values_are_compared() -> None:
    left = pa.table({"k": [1, 2], "tags": [["a", "b"], ["c"]]})
    right = pa.table({"k": [1, 2], "tags": [["a", "b"], ["d"]]})
    assert diff_rows(left, right)[:2] == ((1,), (1,))


class _Engine:
    name = "fake"
    supports_cancel = True

    def __init__(self, tables: dict[str | None, pa.Table]) -> None:
        self.tables = tables
        self.calls: list[tuple[str, AsOf | None, int | None]] = []

    def execute(self, sql: str, *, limit: int | None = None, as_of: AsOf | None = None,
                on_first_page: object = None) -> QueryResult:
        self.calls.append((sql, as_of, limit))
        return _result(self.tables[as_of.ref if as_of else None], as_of)

    def cancel(self) -> None:
        return None


def test_comparer_runs_the_statement_on_both_refs() -> None:
    engine = _Engine({"main": pa.table({"a": [1, 2]}), "etl": pa.table({"a": [1, 3]})})
    comparer = EngineQueryComparer(engine)
    assert isinstance(comparer, QueryComparer)
    out = comparer.compare("SELECT a FROM t", AsOf(ref="main"), AsOf(ref="etl"), limit=10)
    assert [c[1] for c in engine.calls] == [AsOf(ref="main"), AsOf(ref="etl")]
    assert {c[2] for c in engine.calls} == {10}
    assert out.left.as_of == AsOf(ref="main") and out.right.as_of == AsOf(ref="etl")
    assert out.left_only == (1,) and out.right_only == (1,) and not out.identical


def test_comparer_stops_when_cancelled() -> None:
    engine = _Engine({None: pa.table({"a": [1]})})
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        EngineQueryComparer(engine).compare("SELECT 1", None, None, cancel=token)
    assert engine.calls == []
