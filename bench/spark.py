"""Phase 2 on the 2-worker Spark cluster against the embedded pyiceberg load: same input, same run.

One phase-1 run (the DuckDB pipeline) feeds two stack-mode phase-2 runs on two fresh Nessie branches:
pyiceberg in this process (``StackPhaseRunner``) and ``spark/jobs/iceberg_operations.py`` submitted to
the cluster (``SparkPhaseRunner``, load only: no time-travel/evolution/pruning demos). The Spark time
is split into the application's start-up (spark-submit to a SparkSession with executors) and the load.
Needs the stack services and the cluster: ``bash scripts/services.sh up``.

    python bench/spark.py --orders 1000000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lakehouse_core.backends.stack.nessie import NessieClient  # noqa: E402
from lakehouse_core.backends.stack.phases import StackPhaseRunner  # noqa: E402
from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine  # noqa: E402
from lakehouse_core.backends.stack.spark_phase import SparkPhaseRunner  # noqa: E402
from lakehouse_core.errors import NotFoundError  # noqa: E402
from lakehouse_core.models import PhaseResult  # noqa: E402
from lakehouse_core.settings import LakehouseSettings, load_settings  # noqa: E402


def _task_seconds(result: PhaseResult, name: str) -> float:
    return next(t.seconds for t in result.tasks if t.name == name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--master", default="spark://127.0.0.1:7077")
    parser.add_argument("--master-ui", default="http://127.0.0.1:8090")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        def settings(ref: str) -> LakehouseSettings:
            return load_settings(
                mode="stack", data_dir=Path(tmp) / "data", orders=args.orders, defect_rate=0.0,
                nessie={"ref": ref}, spark={"master_url": args.master, "ui_url": args.master_ui},
            )

        base = settings(f"bench-pyiceberg-{tag}")
        client = NessieClient(base)
        pyiceberg = StackPhaseRunner(base, client, RestDuckDbSqlEngine(base, client))
        t0 = time.perf_counter()
        assert pyiceberg.run(1).ok
        phase1_s = time.perf_counter() - t0
        branches = [f"bench-pyiceberg-{tag}", f"bench-spark-{tag}"]
        try:
            embedded = pyiceberg.run(2)
            spark_settings = settings(branches[1])
            spark = SparkPhaseRunner(spark_settings, NessieClient(spark_settings),
                                     RestDuckDbSqlEngine(spark_settings, client))
            spark.demos = False
            on_spark = spark.run(2)
            report = json.loads(spark.job_log(on_spark.run_id, "json").read_text())
        finally:
            for branch in branches:
                try:
                    client.delete_ref(branch)
                except NotFoundError:
                    pass
    py_s = _task_seconds(embedded, "promote_to_iceberg")
    spark_s = _task_seconds(on_spark, "promote_to_iceberg")
    startup_s, load_s = float(report["startup_s"]), float(report["load_s"])
    rows = embedded.rows_per_layer
    silver = rows.get("silver.orders_enriched", 0)
    print(f"orders: {args.orders:,} (silver {silver:,} rows); phase 1 {phase1_s:.1f}s")
    print("pyiceberg loads phase 1's silver/gold Parquet; Spark computes silver and gold from bronze")
    print(f"{'phase 2 load':<40} {'seconds':>9}")
    print(f"{'pyiceberg (embedded, this process)':<40} {py_s:>9.1f}")
    print(f"{'spark: whole step (submit..report)':<40} {spark_s:>9.1f}")
    print(f"{'spark: application start-up':<40} {startup_s:>9.1f}")
    print(f"{'spark: load (bronze+silver+gold)':<40} {load_s:>9.1f}")
    print(f"ratio spark/pyiceberg: whole step {spark_s / py_s:.2f}x, "
          f"load without start-up {load_s / py_s:.2f}x")
    print(f"executors: {report.get('executors')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
