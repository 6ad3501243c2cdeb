"""The Airflow DAG's optional last step (param ``promote_with_spark``): phase 2 of the DAG run's
published phase-1 run, loaded by ``spark/jobs/iceberg_operations.py`` that the task's
SparkSubmitOperator submits to the cluster, so one DAG run goes from raw files to Iceberg tables.

The run model is stack-mode phase 2's (``SparkPhaseRunner``): the Nessie branch's run lock, the run
branch ``run-<id>`` written by the job, the staged tables audited, published by one merge into the
target branch (``nessie_ref`` of the DAG run's conf, else the settings'). The submission (application,
confs, jars, arguments, environment) is ``SparkJob``'s, handed to the operator instead of run here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
from lakehouse_core.backends.stack.spark_phase import SparkPhaseRunner
from lakehouse_core.backends.stack.spark_submit import JOB, SparkJob
from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import SnapshotRef
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases.dag_step import LoggingProgress, Phase1Conf
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

ENV_KEYS = ("SPARK_HOME", "SPARK_CONF_DIR", "SPARK_LOCAL_IP", "JAVA_HOME", "PYSPARK_PYTHON",
            "PYSPARK_DRIVER_PYTHON", "PYTHONPATH")
"""What ``SparkJob.environment`` sets for spark-submit (the operator adds them to the task's env)."""


@dataclass(frozen=True)
class SparkSubmission:
    """SparkSubmitOperator's arguments for one submission of the job (the master is its connection's)."""

    application: str
    conf: dict[str, str]
    application_args: list[str]
    env_vars: dict[str, str]
    name: str


def submission(job: SparkJob) -> SparkSubmission:
    """``job``'s spark-submit command as SparkSubmitOperator arguments."""
    command = job.command()
    app = command.index(str(JOB))
    conf: dict[str, str] = {}
    options = command[1:app]
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if flag == "--conf":
            key, _, conf_value = value.partition("=")
            conf[key] = conf_value
        elif flag == "--driver-memory":
            conf["spark.driver.memory"] = value
    environment = job.environment()
    env = {key: environment[key] for key in ENV_KEYS if environment.get(key)}
    env["PATH"] = f"{environment['SPARK_HOME']}/bin:{environment.get('PATH', '')}"  # its spark-submit
    return SparkSubmission(str(JOB), conf, command[app + 1:], env, f"lakehouse-{job.branch}")


class OperatorSparkPhaseRunner(SparkPhaseRunner):
    """SparkPhaseRunner whose job is submitted by ``submit`` (the DAG task's SparkSubmitOperator)."""

    demos = False  # the load only (no time travel, evolution or pruning demonstrations in a DAG run)

    def __init__(
        self,
        settings: LakehouseSettings,
        client: NessieClient,
        *,
        submit: Callable[[SparkSubmission], None],
    ) -> None:
        super().__init__(settings, client, RestDuckDbSqlEngine(settings, client))
        self._submit = submit

    def spark_load(
        self,
        catalog: Any,
        root: DataPaths,
        source_run: str,
        *,
        run_id: str,
        progress: ProgressSink = NULL_PROGRESS,
        cancel: CancelToken | None = None,
        properties: Mapping[str, str],
    ) -> tuple[list[SnapshotRef], str]:
        report_path = self.job_log(run_id, "json")
        job = self.job(root, source_run, run_id=run_id, properties=properties)
        report_path.unlink(missing_ok=True)
        self._submit(submission(job))  # raises when spark-submit fails
        try:
            report = json.loads(report_path.read_text())
        except (OSError, ValueError) as exc:
            raise LakehouseError(f"the Spark job wrote no report {report_path}: {exc}") from exc
        snapshots = [
            SnapshotRef(table, int(entry["snapshot_id"]), "overwrite")
            for table, entry in (report.get("tables") or {}).items()
        ]
        return snapshots, f"loaded on Spark by SparkSubmitOperator (application {report.get('app_id')})"


def promote_with_spark(conf: Mapping[str, Any], submit: Callable[[SparkSubmission], None]) -> dict[str, Any]:
    """Phase 2 of the DAG run whose conf is ``conf``, its job submitted by ``submit``; the result as
    plain JSON (the task's XCom)."""
    settings = Phase1Conf.from_mapping(conf).settings()
    ref = str(conf.get("nessie_ref") or "")
    if ref:
        settings = settings.model_copy(update={"nessie": settings.nessie.model_copy(update={"ref": ref})})
    runner = OperatorSparkPhaseRunner(settings, NessieClient(settings), submit=submit)
    result = runner.run(2, LoggingProgress())
    return {
        "run_id": result.run_id,
        "branch": settings.nessie.ref,
        "rows": dict(result.rows_per_layer),
        "tasks": [t.name for t in result.tasks],
        "data_dir": str(Path(settings.data_path)),
    }
