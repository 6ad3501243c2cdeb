"""Fake catalog and SQL engine of the TUI tests (bronze.orders has three snapshots)."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse_core.errors import (
    CancelledError,
    ConflictError,
    NotFoundError,
    QueryError,
)
from lakehouse_core.models import (
    AsOf,
    DataFileInfo,
    FieldInfo,
    Namespace,
    PartitionFieldInfo,
    PartitionStat,
    QueryResult,
    RefInfo,
    ScanPlan,
    SchemaVersion,
    SnapshotDiff,
    SnapshotInfo,
    TableDetail,
    TableRef,
)
from lakehouse_core.ports import FirstPageCallback
from tests.tui.fake_base import HANG_TIMEOUT_S, T0, Gate

# ------------------------------------------------------------------ catalog
ORDER_FIELDS = (
    FieldInfo(1, "order_id", "long", True),
    FieldInfo(2, "customer_id", "long"),
    FieldInfo(3, "product_id", "long"),
    FieldInfo(4, "order_date", "date"),
    FieldInfo(5, "quantity", "long"),
    FieldInfo(6, "total_amount", "decimal(12, 2)"),
    FieldInfo(7, "status", "string"),
    FieldInfo(8, "payment_method", "string"),
)
TABLES: dict[Namespace, tuple[str, ...]] = {
    ("bronze",): ("customers", "orders", "products"),
    ("gold",): ("daily_sales", "regional_sales"),
    ("silver",): ("orders_enriched",),
}
ORDER_SNAPSHOTS = (
    SnapshotInfo(
        3001, None, T0, "append", {"added-records": "5000", "added-data-files": "4", "total-records": "5000"}
    ),
    SnapshotInfo(
        3002,
        3001,
        T0 + timedelta(hours=1),
        "overwrite",
        {
            "added-records": "4990",
            "deleted-records": "5000",
            "added-data-files": "4",
            "deleted-data-files": "4",
            "total-records": "4990",
        },
    ),
    SnapshotInfo(
        3003,
        3002,
        T0 + timedelta(hours=2),
        "append",
        {"added-records": "1000", "added-data-files": "1", "total-records": "5990"},
    ),
)


ORDER_SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("customer_id", pa.int64()),
        ("product_id", pa.int64()),
        ("order_date", pa.date32()),
        ("quantity", pa.int64()),
        ("total_amount", pa.decimal128(12, 2)),
        ("status", pa.string()),
        ("payment_method", pa.string()),
    ]
)


def arrow_rows(rows: Sequence[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Python rows as an Arrow table of ``schema`` (what an engine hands over)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.Table.from_arrays(
        [pa.array(list(c), type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )


def order_row(i: int, snapshot_id: int) -> tuple[Any, ...]:
    status = "pending" if snapshot_id == 3001 else "completed"
    return (
        i,
        1 + i % 1000,
        1 + i % 200,
        T0.date() + timedelta(days=i % 28),
        1 + i % 3,
        Decimal(10 + i % 90) + Decimal("0.99"),
        status,
        "PayPal",
    )


class FakeCatalog:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.refs: list[RefInfo] = [
            RefInfo("main", "branch", "3003", is_default=True),
            RefInfo("audit", "tag", "3001", table="bronze.orders"),
        ]
        self.preview_calls: list[tuple[str, int | None]] = []

    def _known(self, table: TableRef) -> None:
        if table.name not in TABLES.get(table.namespace, ()):
            raise NotFoundError(f"table {table.identifier} does not exist")

    def _snapshots(self, table: TableRef) -> tuple[SnapshotInfo, ...]:
        if table.identifier == "bronze.orders":
            return ORDER_SNAPSHOTS
        seed = 4000 + 10 * sorted(n for names in TABLES.values() for n in names).index(table.name)
        return (
            SnapshotInfo(
                seed,
                None,
                T0,
                "append",
                {"added-records": "100", "added-data-files": "1", "total-records": "100"},
            ),
        )

    def list_refs(self, table: TableRef | None = None) -> list[RefInfo]:
        self.gate.check("list_refs")
        return list(self.refs)

    def create_ref(
        self,
        name: str,
        kind: Literal["branch", "tag"],
        *,
        table: TableRef | None = None,
        snapshot_id: int | None = None,
        from_ref: str | None = None,
    ) -> RefInfo:
        self.gate.check("create_ref")
        if any(r.name == name for r in self.refs):
            raise ConflictError(f"ref {name} already exists")
        ref = RefInfo(name, kind, str(snapshot_id or ""), table=table.identifier if table else None)
        self.refs.append(ref)
        return ref

    def list_namespaces(self, ref: str | None = None) -> list[Namespace]:
        self.gate.check("list_namespaces")
        return sorted(TABLES)

    def list_tables(self, namespace: Namespace, ref: str | None = None) -> list[TableRef]:
        self.gate.check("list_tables")
        return [TableRef(namespace, name) for name in TABLES.get(namespace, ())]

    def table_detail(self, table: TableRef, ref: str | None = None) -> TableDetail:
        self.gate.check("table_detail")
        self._known(table)
        snaps = self._snapshots(table)
        return TableDetail(
            table,
            f"file:///data/warehouse/{table.namespace[0]}/{table.name}",
            2,
            snaps[-1].snapshot_id,
            ORDER_FIELDS,
            (PartitionFieldInfo("order_date", "month", "order_date_month"),),
            row_count=snaps[-1].total_rows,
        )

    def snapshots(self, table: TableRef, ref: str | None = None) -> list[SnapshotInfo]:
        self.gate.check("snapshots")
        self._known(table)
        return list(self._snapshots(table))

    def schema_history(self, table: TableRef, ref: str | None = None) -> list[SchemaVersion]:
        self.gate.check("schema_history")
        return [SchemaVersion(0, ORDER_FIELDS[:7]), SchemaVersion(1, ORDER_FIELDS, is_current=True)]

    def partition_stats(
        self, table: TableRef, snapshot_id: int | None = None, ref: str | None = None
    ) -> list[PartitionStat]:
        self.gate.check("partition_stats")
        return [
            PartitionStat("order_date_month=2026-01", 4990, 4, 181_000),
            PartitionStat("order_date_month=2026-02", 1000, 1, 38_500),
        ]

    def files(
        self, table: TableRef, snapshot_id: int | None = None, ref: str | None = None
    ) -> list[DataFileInfo]:
        self.gate.check("files")
        return [
            DataFileInfo(
                f"file:///data/warehouse/{table.name}/data/0000{i}.parquet",
                "PARQUET",
                "order_date_month=2026-01",
                1250,
                45_000,
            )
            for i in range(4)
        ]

    def preview(
        self, table: TableRef, snapshot_id: int | None = None, limit: int = 100, ref: str | None = None
    ) -> QueryResult:
        self.gate.check("preview")
        self._known(table)
        snaps = {s.snapshot_id: s for s in self._snapshots(table)}
        snap = snaps[snapshot_id] if snapshot_id is not None else list(snaps.values())[-1]
        self.preview_calls.append((table.identifier, snapshot_id))
        rows = [order_row(i, snap.snapshot_id) for i in range(1, min(limit, snap.total_rows) + 1)]
        return QueryResult(
            tuple(f.name for f in ORDER_FIELDS),
            tuple(f.type for f in ORDER_FIELDS),
            arrow_rows(rows, ORDER_SCHEMA),
            "fake",
            0.004,
            total_rows=snap.total_rows,
            as_of=AsOf(snapshot_id=snap.snapshot_id),
        )

    def diff_snapshots(
        self, table: TableRef, from_snapshot: int, to_snapshot: int, sample: int = 10
    ) -> SnapshotDiff:
        self.gate.check("diff_snapshots")
        snaps = {s.snapshot_id: s for s in self._snapshots(table)}
        if from_snapshot not in snaps or to_snapshot not in snaps:
            raise NotFoundError(f"snapshot not found in {table.identifier}")
        added = max(0, snaps[to_snapshot].total_rows - snaps[from_snapshot].total_rows)
        removed = max(0, snaps[from_snapshot].total_rows - snaps[to_snapshot].total_rows)
        columns = tuple(f.name for f in ORDER_FIELDS)
        return SnapshotDiff(
            table.identifier,
            from_snapshot,
            to_snapshot,
            added,
            removed,
            columns,
            tuple(order_row(9000 + i, to_snapshot) for i in range(min(sample, added))),
            tuple(order_row(8000 + i, from_snapshot) for i in range(min(sample, removed))),
        )

    def scan_plan(self, table: TableRef, row_filter: str, ref: str | None = None) -> ScanPlan:
        self.gate.check("scan_plan")
        return ScanPlan(table.identifier, row_filter, 5, 1, 1000)


# ------------------------------------------------------------------ sql
DAILY_SALES_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("num_orders", pa.int64()),
        ("total_revenue", pa.decimal128(18, 2)),
        ("unique_customers", pa.int64()),
        ("avg_order_value", pa.decimal128(18, 2)),
    ]
)
def range_table(rows: int) -> pa.Table:
    """``SELECT * FROM range(rows)`` of the fake engine: ``i`` and ``label`` (``row <i>``), built in Arrow."""
    # no pa.array/pa.scalar/pa.table of Python objects: those import pandas (to test for pandas types),
    # 40 MB of RSS that an engine's result does not cost
    ids = pa.Array.from_buffers(pa.int64(), rows, [None, pa.py_buffer(np.arange(rows, dtype=np.int64))])
    labels = pc.utf8_replace_slice(ids.cast(pa.string()), start=0, stop=0, replacement="row ")
    return pa.Table.from_arrays([ids, labels], names=["i", "label"])


FIRST_PAGE_ROWS = 200
"""Rows the fake engine hands to ``on_first_page`` when a result has more."""
DAILY_SALES = (
    (T0.date(), 180, Decimal("9876.50"), 150, Decimal("54.87")),
    (T0.date() + timedelta(days=1), 175, Decimal("9001.25"), 149, Decimal("51.44")),
    (T0.date() + timedelta(days=2), 190, Decimal("10200.00"), 160, Decimal("53.68")),
)
DAILY_SALES_ETL = (  # branch "etl": day 2 recomputed, day 4 added
    DAILY_SALES[0],
    (T0.date() + timedelta(days=1), 176, Decimal("9051.25"), 149, Decimal("51.43")),
    DAILY_SALES[2],
    (T0.date() + timedelta(days=3), 160, Decimal("8800.00"), 140, Decimal("55.00")),
)


class FakeSqlEngine:
    name = "fake"
    supports_cancel = True

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.calls: list[tuple[str, int | None, AsOf | None]] = []
        self.cancelled = threading.Event()

    def execute(
        self,
        sql: str,
        *,
        limit: int | None = None,
        as_of: AsOf | None = None,
        on_first_page: FirstPageCallback | None = None,
    ) -> QueryResult:
        self.gate.check("execute")
        self.calls.append((sql, limit, as_of))
        text = " ".join(sql.split()).lower()
        if "sleep" in text:
            self.cancelled.clear()
            if self.cancelled.wait(HANG_TIMEOUT_S):
                raise CancelledError("query cancelled by user")
        if match := re.search(r"range\((\d+)\)", text):
            total = int(match.group(1))
            fetched = total if limit is None else min(total, limit)
            def result(data: pa.Table, truncated: bool) -> QueryResult:
                return QueryResult(
                    ("i", "label"),
                    ("BIGINT", "VARCHAR"),
                    data,
                    "fake",
                    0.012,
                    truncated=truncated,
                    total_rows=total,
                    sql=sql,
                    as_of=as_of,
                )

            if on_first_page is not None and fetched > FIRST_PAGE_ROWS:
                on_first_page(result(range_table(FIRST_PAGE_ROWS), True))
            return result(range_table(fetched), fetched < total)
        if text.startswith("selec ") or not text.startswith(("select", "with")):
            raise QueryError(f'Parser Error: syntax error at or near "{sql.split()[0]}"', engine="fake")
        if "gold.daily_sales" in text:
            etl = as_of is not None and as_of.ref == "etl"
            return QueryResult(
                ("date", "num_orders", "total_revenue", "unique_customers", "avg_order_value"),
                ("DATE", "BIGINT", "DECIMAL(18,2)", "BIGINT", "DECIMAL(18,2)"),
                arrow_rows(DAILY_SALES_ETL if etl else DAILY_SALES, DAILY_SALES_SCHEMA),
                "fake",
                0.012,
                sql=sql,
                as_of=as_of,
            )
        if "bronze.orders" in text:
            snapshot = as_of.snapshot_id if as_of and as_of.snapshot_id else 3003
            rows = [order_row(i, snapshot) for i in range(1, 6)]
            return QueryResult(
                tuple(f.name for f in ORDER_FIELDS),
                tuple(f.type for f in ORDER_FIELDS),
                arrow_rows(rows, ORDER_SCHEMA),
                "fake",
                0.012,
                sql=sql,
                as_of=as_of,
            )
        table = re.search(r"from\s+([\w.]+)", text)
        name = table.group(1) if table else "?"
        raise QueryError(f"Catalog Error: Table with name {name} does not exist!", engine="fake")

    def cancel(self) -> None:
        self.gate.check("cancel")
        self.cancelled.set()
