"""The silver/gold SQL on Spark is the DuckDB SQL transpiled (one definition), and the Spark job's
submission: the catalog on the run branch, the run's commit headers, the jars from the cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from lakehouse_core.backends.stack.spark_phase import describe_line
from lakehouse_core.backends.stack.spark_submit import CATALOG, SparkJob
from lakehouse_core.errors import ConfigError
from lakehouse_core.pipeline._duck import sql_text
from lakehouse_core.pipeline.spark_sql import GOLD_SQL, SILVER_SQL, spark_sql_text, to_spark
from lakehouse_core.runmeta import RunCommit
from lakehouse_core.settings import LakehouseSettings


def test_duckdb_only_spellings_become_spark_spellings() -> None:
    silver = spark_sql_text(SILVER_SQL)
    assert "ISODOW" in sql_text(SILVER_SQL) and "ISODOW" not in silver
    assert "EXTRACT(DAYOFWEEK_ISO FROM o.order_date)" in silver
    daily = spark_sql_text("gold_daily_sales")
    assert "//" in sql_text("gold_daily_sales") and "//" not in daily and " DIV " in daily
    assert "DATEDIFF(DAY, MIN(order_date), MAX(order_date))" in spark_sql_text("gold_customer_metrics")
    assert to_spark("SELECT EXTRACT(isodow FROM d) FROM t") == "SELECT EXTRACT(DAYOFWEEK_ISO FROM d) FROM t"


@pytest.mark.parametrize("name", [SILVER_SQL, *GOLD_SQL])
def test_every_transform_parses_as_spark_sql(name: str) -> None:
    text = spark_sql_text(name)
    assert sqlglot.parse_one(text, read="spark").find(sqlglot.exp.Select) is not None
    assert "--" not in text  # comments dropped: one statement per string


def _settings(tmp_path: Path, **spark: object) -> LakehouseSettings:
    return LakehouseSettings(
        _env_file=None, mode="stack", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache",  # type: ignore[call-arg]
        spark={"master_url": "spark://127.0.0.1:7077", "ui_url": "http://127.0.0.1:8090", **spark},
    )


def test_submission_points_the_catalog_at_the_run_branch(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    jars = tmp_path / "cache" / "jars"
    jars.mkdir(parents=True)
    job = SparkJob(settings, branch="run-r1", job_args=["--run-id", "r1"], commit=RunCommit("r1", 2, "cli"))
    with pytest.raises(ConfigError, match="iceberg-spark-runtime-3.5_2.12-1.10.1.jar"):
        job.command()
    for name in ("iceberg-spark-runtime-3.5_2.12-1.10.1.jar", "iceberg-aws-bundle-1.10.1.jar"):
        (jars / name).write_bytes(b"jar")
    cmd = job.command()
    confs = dict(cmd[i + 1].split("=", 1) for i, a in enumerate(cmd) if a == "--conf")
    assert cmd[cmd.index("--master") + 1] == "spark://127.0.0.1:7077"
    assert confs[f"{CATALOG}.uri"] == "http://127.0.0.1:19120/iceberg/run-r1"
    message = confs[f"{CATALOG}.header.Nessie-Commit-Message"]
    assert message == "phase 2 run r1 from cli: spark job iceberg_operations"
    assert confs[f"{CATALOG}.header.Nessie-Commit-Property-lakehouse.run-id"] == "r1"
    assert confs["spark.jars"].split(",") == [
        str(jars / "iceberg-spark-runtime-3.5_2.12-1.10.1.jar"), str(jars / "iceberg-aws-bundle-1.10.1.jar")
    ]
    assert cmd[-3].endswith("spark/jobs/iceberg_operations.py") and cmd[-2:] == ["--run-id", "r1"]


def test_a_stack_without_spark_cannot_submit(tmp_path: Path) -> None:
    settings = LakehouseSettings(_env_file=None, mode="stack", data_dir=tmp_path)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="LAKEHOUSE_SPARK__MASTER_URL"):
        SparkJob(settings, branch="b", job_args=[])


def test_report_lines_read_as_progress_messages() -> None:
    assert describe_line({"step": "table", "table": "bronze.orders", "rows": 5000, "snapshot_id": 7}) == (
        "bronze.orders: 5,000 rows, snapshot 7"
    )
    assert describe_line(
        {"step": "pruning", "table": "bronze.orders", "day": "2026-01-02", "files_with_filter": 1,
         "files_without_filter": 365}
    ) == "pruning on bronze.orders: 1 file(s) for 2026-01-02, 365 without the filter"
    assert describe_line({"step": "error", "error": "boom"}) == "FAILED: boom"
