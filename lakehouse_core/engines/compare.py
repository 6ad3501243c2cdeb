"""Rows that differ between two query results, and ports.QueryComparer over any SqlEngine.

The diff is a full-row anti-join in DuckDB over the two Arrow tables, both ways: each row carries its
position and its occurrence number among equal rows (so duplicates count), and two rows are equal
when every compared column is equal or both are NULL (``IS NOT DISTINCT FROM``). Columns are
compared by name; a column whose Arrow types differ between the two sides is compared as text.
"""

from __future__ import annotations

import logging

import duckdb
import pyarrow as pa

from lakehouse_core.engines import duckdb_session
from lakehouse_core.models import AsOf, QueryComparison, QueryResult
from lakehouse_core.ports import CancelToken, SqlEngine

logger = logging.getLogger(__name__)

ROW = "__row"
OCCURRENCE = "__occurrence"


def shared_columns(left: tuple[str, ...], right: tuple[str, ...]) -> list[tuple[int, int]]:
    """Positions ``(left, right)`` of the columns compared: every position when the names are the
    same list, else each left name's first match on the right (each right column used once)."""
    if left == right:
        return [(i, i) for i in range(len(left))]
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    for i, name in enumerate(left):
        j = next((j for j, other in enumerate(right) if other == name and j not in used), None)
        if j is not None:
            pairs.append((i, j))
            used.add(j)
    return pairs


def _side(table: pa.Table, positions: list[int], as_text: set[int]) -> pa.Table:
    """The compared columns renamed ``c0..cn`` (text where the sides' types differ), plus ``__row``."""
    columns = [table.column(p) for p in positions]
    arrays = [c.cast(pa.string()) if k in as_text else c for k, c in enumerate(columns)]
    names = [f"c{k}" for k in range(len(positions))]
    return pa.table([*arrays, pa.array(range(table.num_rows), pa.int64())], names=[*names, ROW])


def _anti_join_sql(count: int) -> str:
    cols = ", ".join(f"c{k}" for k in range(count))
    match = " AND ".join([*(f"a.c{k} IS NOT DISTINCT FROM b.c{k}" for k in range(count)),
                          f"a.{OCCURRENCE} = b.{OCCURRENCE}"])
    numbered = (f"SELECT *, row_number() OVER (PARTITION BY {cols} ORDER BY {ROW}) AS {OCCURRENCE} "
                "FROM {side}")
    return (
        f"WITH a AS ({numbered.format(side='__a')}), b AS ({numbered.format(side='__b')}) "
        f"SELECT a.{ROW} FROM a ANTI JOIN b ON {match} ORDER BY a.{ROW}"
    )


def diff_rows(
    left: pa.Table, right: pa.Table
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[str, ...]]:
    """``(left_only, right_only, columns)``: row indices of each table with no equal row in the other,
    compared on the columns both have (``columns``). With no column in common every row differs."""
    pairs = shared_columns(tuple(left.column_names), tuple(right.column_names))
    if not pairs:
        return tuple(range(left.num_rows)), tuple(range(right.num_rows)), ()
    as_text = {k for k, (i, j) in enumerate(pairs) if left.schema.field(i).type != right.schema.field(j).type}
    a = _side(left, [i for i, _ in pairs], as_text)
    b = _side(right, [j for _, j in pairs], as_text)
    con = duckdb_session.connect()
    try:
        con.register("__a", a)
        con.register("__b", b)
        query = _anti_join_sql(len(pairs))
        left_only = tuple(int(r[0]) for r in con.execute(query).fetchall())
        con.unregister("__a")
        con.unregister("__b")
        con.register("__a", b)
        con.register("__b", a)
        right_only = tuple(int(r[0]) for r in con.execute(query).fetchall())
    finally:
        con.close()
    return left_only, right_only, tuple(left.column_names[i] for i, _ in pairs)


def compare_results(left: QueryResult, right: QueryResult) -> QueryComparison:
    """The two results with the rows that differ between them (see ``diff_rows``)."""
    left_only, right_only, columns = diff_rows(left.table, right.table)
    return QueryComparison(left, right, left_only, right_only, columns)


class EngineQueryComparer:
    """ports.QueryComparer: the statement on ``engine`` twice, one version after the other."""

    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    def compare(
        self,
        sql: str,
        left: AsOf | None,
        right: AsOf | None,
        *,
        limit: int | None = None,
        cancel: CancelToken | None = None,
    ) -> QueryComparison:
        """Run ``sql`` as of ``left`` and as of ``right``, then diff the two results.

        Raises:
            QueryError: either run failed (the engine's message).
            CancelledError: cancelled before or between the runs, or the engine was interrupted.
        """
        results: list[QueryResult] = []
        for as_of in (left, right):
            if cancel is not None:
                cancel.raise_if_cancelled()
            results.append(self._engine.execute(sql, limit=limit, as_of=as_of))
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            return compare_results(results[0], results[1])
        except duckdb.Error as exc:  # a type DuckDB cannot partition by: compare every column as text
            logger.info("comparing as text: %s", exc)
            texts = [_as_text(r) for r in results]
            left_only, right_only, columns = diff_rows(texts[0], texts[1])
            return QueryComparison(results[0], results[1], left_only, right_only, columns)


def _as_text(result: QueryResult) -> pa.Table:
    table = result.table
    return pa.table([c.cast(pa.string()) for c in table.columns], names=table.column_names)
