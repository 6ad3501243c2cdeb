"""Phase 2 on Spark: the platform's Iceberg operations, in order, on Nessie's Iceberg REST catalog.

    spark-submit [--conf ...] spark/jobs/iceberg_operations.py --source <phase-1 run dir> \
        --run-id <phase-2 run id> --source-run <phase-1 run id> [--fingerprint F] [--target-ref main]

1. namespaces ``bronze``/``silver``/``gold`` in the catalog ``nessie`` (Nessie's Iceberg REST; the
   submitter points it at the run's branch, so nothing is visible on the target until it is merged);
2. bronze tables with their partitioning (``days(order_date)``, ``category``, none) loaded from the
   phase-1 Parquet;
3. ``silver.orders_enriched`` partitioned by ``(order_year, order_month)`` and the four gold tables,
   computed on Spark by the DuckDB SQL of ``lakehouse_core/pipeline/sql`` transpiled to Spark SQL;
4. time travel (the target ref before this run, the run's snapshot), schema evolution (a column
   added: old queries still work; then dropped, so the tables keep their contract) and partition
   pruning (data files planned with and without a one-day filter).

Every table's snapshot carries the run id, phase, run source, source run and fingerprint in its
summary. The report goes to stdout as lines ``@@lakehouse {json}`` (one per step; the last one,
``"step": "report"``, holds everything) and to ``--report`` when given.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # the submitter sets PYTHONPATH; a bare spark-submit may not
    sys.path.insert(0, str(REPO_ROOT))

from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from lakehouse_core.iceberg.tables import TABLES, TableDef  # noqa: E402
from lakehouse_core.paths import GOLD_TABLES, DataPaths  # noqa: E402
from lakehouse_core.pipeline.parts import deletes_path  # noqa: E402
from lakehouse_core.pipeline.spark_sql import (  # noqa: E402
    GOLD_SQL,
    SILVER_SQL,
    spark_columns,
    spark_sql_text,
)

CATALOG = "nessie"
MARK = "@@lakehouse "
EVOLUTION_COLUMN = "discount_pct"
READ_OPTIONS = {"split-size": str(128 * 1024 * 1024), "file-open-cost": str(1024 * 1024)}
"""Iceberg read options of the job's scans. A day-partitioned table is hundreds of small files, and
Iceberg's adaptive split size (16 MB at the least, each file weighing 4 MB) made one task per four
files: 92 tasks of a few kilobytes each to read 1,000 orders."""


def emit(step: str, **fields: Any) -> dict[str, Any]:
    """One report line on stdout (the submitter turns it into a progress event)."""
    line = {"step": step, **fields}
    print(MARK + json.dumps(line, default=str), flush=True)
    return line


def _ident(table: TableDef) -> str:
    return f"{CATALOG}.{table.identifier}"


def _partition_clause(table: TableDef) -> str:
    if not table.partition:
        return ""
    parts = [f"days({c})" if kind == "day" else c for c, kind in table.partition]
    return f" PARTITIONED BY ({', '.join(parts)})"


class IcebergOperations:
    """The job's steps on one SparkSession; ``report`` collects what they found."""

    def __init__(self, spark: SparkSession, args: argparse.Namespace) -> None:
        self.spark = spark
        self.args = args
        self.paths = DataPaths(Path(args.source))
        self.report: dict[str, Any] = {"run_id": args.run_id, "app_id": spark.sparkContext.applicationId}
        self.properties = {
            "lakehouse.run-id": args.run_id,
            "lakehouse.phase": "2",
            "lakehouse.run-source": args.run_source,
            "lakehouse.source-run": args.source_run,
            **json.loads(args.properties or "{}"),
        }

    # ------------------------------------------------------------ writes
    def namespaces(self) -> None:
        for ns in ("bronze", "silver", "gold"):
            self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {CATALOG}.{ns}")
        emit("namespaces", namespaces=["bronze", "silver", "gold"])

    def _write(self, table: TableDef, frame: DataFrame, source: Path | None = None) -> int:
        """Replace the table's rows with ``frame`` (cast to the contract) in one snapshot."""
        columns = spark_columns(table.arrow_schema)
        ddl = ", ".join(f"{name} {kind}" for name, kind in columns)
        self.spark.sql(
            f"CREATE TABLE IF NOT EXISTS {_ident(table)} ({ddl}) USING iceberg{_partition_clause(table)}"
        )
        typed = frame.select(*(F.col(name).cast(kind).alias(name) for name, kind in columns))
        writer = typed.writeTo(_ident(table))
        if table.partition:
            # range distribution: each partition value goes to one task, sorted, and is written by
            # one open file at a time (the default fanout writer keeps a file per partition open:
            # 365 days of Parquet buffers do not fit a 768 MB executor)
            writer = writer.option("distribution-mode", "range").option("fanout-enabled", "false")
        for key, value in self.properties.items():
            writer = writer.option(f"snapshot-property.{key}", value)
        writer = writer.option("snapshot-property.lakehouse.source-file", str(source)) if source else writer
        writer.overwrite(F.lit(True))
        snap = self.spark.sql(
            f"SELECT snapshot_id, summary['total-records'] AS rows FROM {_ident(table)}.snapshots "
            "ORDER BY committed_at DESC LIMIT 1"
        ).collect()[0]
        rows = int(snap["rows"])
        self.report.setdefault("tables", {})[table.identifier] = {
            "rows": rows, "snapshot_id": int(snap["snapshot_id"])
        }
        emit("table", table=table.identifier, rows=rows, snapshot_id=int(snap["snapshot_id"]))
        return rows

    def _read(self, ident: str) -> DataFrame:
        return self.spark.read.options(**READ_OPTIONS).table(ident)

    def bronze(self) -> None:
        for table in (t for t in TABLES if t.namespace == "bronze"):
            source = table.source_path(self.paths)
            if deletes_path(source).exists():
                raise SystemExit(
                    f"{source} has superseded rows (an incremental phase-1 run): the Spark job loads "
                    "full runs only; load this one with the pyiceberg engine"
                )
            self._write(table, self.spark.read.parquet(str(source)), source)

    def silver_and_gold(self) -> None:
        for name in ("customers", "products", "orders"):
            self._read(f"{CATALOG}.bronze.{name}").createOrReplaceTempView(f"bronze_{name}")
        silver = next(t for t in TABLES if t.identifier == "silver.orders_enriched")
        self._write(silver, self.spark.sql(spark_sql_text(SILVER_SQL)))
        self._read(_ident(silver)).createOrReplaceTempView("silver_orders_enriched")
        for name, sql_name in zip(GOLD_TABLES, GOLD_SQL, strict=True):
            gold = next(t for t in TABLES if t.identifier == f"gold.{name}")
            self._write(gold, self.spark.sql(spark_sql_text(sql_name)))

    # ------------------------------------------------------------ demonstrations
    def time_travel(self) -> None:
        """Rows of bronze.orders at this run's snapshot (VERSION AS OF) and on the target ref (what
        readers see until the run is published; Nessie's ``table@ref`` name)."""
        table = f"{CATALOG}.bronze.orders"
        snapshot_id = self.report["tables"]["bronze.orders"]["snapshot_id"]
        at_snapshot = self.spark.sql(
            f"SELECT COUNT(*) AS n FROM {table} VERSION AS OF {snapshot_id}"
        ).collect()
        target = self.args.target_ref
        try:
            on_target = f"SELECT COUNT(*) AS n FROM {CATALOG}.bronze.`orders@{target}`"
            before = int(self.spark.sql(on_target).collect()[0]["n"])
        except Exception as exc:  # noqa: BLE001 - the target has no such table before the first publish
            before = None
            emit("time_travel_note", note=f"{target} has no bronze.orders yet: {str(exc).splitlines()[0]}")
        found = {"snapshot_id": snapshot_id, "rows_at_snapshot": int(at_snapshot[0]["n"]),
                 "target_ref": target, "rows_on_target": before}
        self.report["time_travel"] = found
        emit("time_travel", **found)

    def schema_evolution(self) -> None:
        """Add a column to silver.orders_enriched: old queries still answer the same; drop it again."""
        table = f"{CATALOG}.silver.orders_enriched"
        old_query = f"SELECT COUNT(*) AS n, SUM(revenue) AS revenue FROM {table}"
        before = self.spark.sql(old_query).collect()[0]
        self.spark.sql(f"ALTER TABLE {table} ADD COLUMN {EVOLUTION_COLUMN} DECIMAL(5, 2)")
        after = self.spark.sql(old_query).collect()[0]
        new_nulls = self.spark.sql(
            f"SELECT COUNT(*) AS n FROM {table} WHERE {EVOLUTION_COLUMN} IS NULL"
        ).collect()[0]["n"]
        columns = [f.name for f in self.spark.table(table).schema.fields]
        self.spark.sql(f"ALTER TABLE {table} DROP COLUMN {EVOLUTION_COLUMN}")
        found = {
            "added": EVOLUTION_COLUMN, "columns_with_it": len(columns),
            "old_query_same": (before["n"], before["revenue"]) == (after["n"], after["revenue"]),
            "old_rows_null_in_new_column": int(new_nulls), "dropped_again": True,
        }
        self.report["schema_evolution"] = found
        emit("schema_evolution", **found)

    def partition_pruning(self) -> None:
        """Data files Iceberg plans for bronze.orders with and without a one-day filter."""
        jvm = self.spark.sparkContext._jvm
        table = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(
            self.spark._jsparkSession, f"{CATALOG}.bronze.orders"
        )
        orders = self._read(f"{CATALOG}.bronze.orders")
        per_day = orders.groupBy("order_date").agg(F.count(F.lit(1)).alias("n"))
        day_row = per_day.orderBy(F.desc("n"), "order_date").limit(1).collect()[0]
        day = str(day_row["order_date"])

        def planned(expression: Any | None) -> int:
            scan = table.newScan()
            if expression is not None:
                scan = scan.filter(expression)
            files = scan.planFiles()
            it, n = files.iterator(), 0
            while it.hasNext():
                it.next()
                n += 1
            files.close()
            return n

        expressions = jvm.org.apache.iceberg.expressions.Expressions
        found = {
            "table": "bronze.orders", "day": day, "rows_that_day": int(day_row["n"]),
            "files_without_filter": planned(None),
            "files_with_filter": planned(expressions.equal("order_date", day)),
        }
        self.report["pruning"] = found
        emit("pruning", **found)

    def executors(self) -> None:
        """Executors of this application (from its own monitoring REST API): id, worker, tasks."""
        sc = self.spark.sparkContext
        url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/allexecutors"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - the driver's own UI
                body = json.loads(response.read())
        except OSError as exc:  # a report without executors rather than a failed load
            emit("executors_note", note=f"monitoring REST API unavailable: {exc}")
            return
        found = [
            {"id": e["id"], "host_port": e.get("hostPort"), "tasks": e.get("totalTasks", 0),
             "worker_ui": (e.get("executorLogs") or {}).get("stdout", "").split("/logPage")[0]}
            for e in body if e["id"] != "driver"
        ]
        self.report["executors"] = found
        emit("executors", executors=found)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="the phase-1 run directory (bronze Parquet)")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--source-run", required=True)
    parser.add_argument("--run-source", default="spark")
    parser.add_argument("--properties", default="", help="JSON object: more snapshot-summary properties")
    parser.add_argument("--target-ref", default="main", help="the branch the run is published to")
    parser.add_argument("--report", help="also write the report as JSON here")
    parser.add_argument("--no-demos", action="store_true", help="load only: no time travel/evolution/pruning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.perf_counter()
    spark = SparkSession.builder.appName(f"lakehouse phase 2 {args.run_id}").getOrCreate()
    emit("started", app_id=spark.sparkContext.applicationId, ui=spark.sparkContext.uiWebUrl,
         startup_s=round(time.perf_counter() - t0, 3))
    ops = IcebergOperations(spark, args)
    ops.report["startup_s"] = round(time.perf_counter() - t0, 3)
    t1 = time.perf_counter()
    try:
        ops.namespaces()
        ops.bronze()
        ops.silver_and_gold()
        ops.report["load_s"] = round(time.perf_counter() - t1, 3)
        if not args.no_demos:
            ops.time_travel()
            ops.schema_evolution()
            ops.partition_pruning()
        ops.executors()
    except Exception as exc:  # noqa: BLE001 - the submitter shows the first line; the log has the rest
        emit("error", error=str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
        spark.stop()
        return 1
    ops.report["seconds"] = round(time.perf_counter() - t0, 3)
    emit("report", **ops.report)
    if args.report:
        Path(args.report).write_text(json.dumps(ops.report, indent=2, default=str) + "\n", encoding="utf-8")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
