"""The DAG's promote_with_spark task hands SparkSubmitOperator the submission SparkJob would run
itself: the same application, confs (the catalog on the run branch, the jars, commit headers), job
arguments and spark-submit environment."""

from __future__ import annotations

from pathlib import Path

from lakehouse_core.backends.stack.dag_spark import submission
from lakehouse_core.backends.stack.spark_submit import CATALOG, JOB, SparkJob
from lakehouse_core.runmeta import RunCommit
from lakehouse_core.settings import LakehouseSettings


def test_the_operator_gets_the_command_sparkjob_would_run(tmp_path: Path) -> None:
    settings = LakehouseSettings(  # type: ignore[call-arg]
        _env_file=None, mode="stack", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache",
        spark={"master_url": "spark://127.0.0.1:7077", "driver_memory": "768m"},
    )
    jars = tmp_path / "cache" / "jars"
    jars.mkdir(parents=True)
    for name in ("iceberg-spark-runtime-3.5_2.12-1.10.1.jar", "iceberg-aws-bundle-1.10.1.jar"):
        (jars / name).write_bytes(b"jar")
    job = SparkJob(settings, branch="run-r1", job_args=["--run-id", "r1", "--no-demos"],
                   commit=RunCommit("r1", 2, "airflow"))
    sub = submission(job)
    command = job.command()
    assert sub.application == str(JOB) and sub.application_args == ["--run-id", "r1", "--no-demos"]
    expected = dict(command[i + 1].split("=", 1) for i, a in enumerate(command) if a == "--conf")
    assert sub.conf == {**expected, "spark.driver.memory": "768m"}
    assert sub.conf[f"{CATALOG}.uri"].endswith("/iceberg/run-r1")
    assert sub.conf[f"{CATALOG}.header.Nessie-Commit-Property-lakehouse.run-id"] == "r1"
    environment = job.environment()
    assert sub.env_vars["SPARK_HOME"] == environment["SPARK_HOME"]
    assert sub.env_vars["PATH"].split(":")[0] == f"{environment['SPARK_HOME']}/bin"
    assert Path(sub.env_vars["PATH"].split(":")[0], "spark-submit").is_file()
    assert set(sub.env_vars) <= {"PATH", "SPARK_HOME", "SPARK_CONF_DIR", "SPARK_LOCAL_IP", "JAVA_HOME",
                                 "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH"}
