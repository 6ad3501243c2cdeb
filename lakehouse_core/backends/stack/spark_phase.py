"""SparkPhaseRunner: stack mode with phase 2 loaded by Spark (``LAKEHOUSE_SPARK__PHASE2_ENGINE=spark``).

Phase 2 keeps the stack's run model: the run branch ``run-<id>`` is created from the target branch,
``spark/jobs/iceberg_operations.py`` is submitted to the standalone cluster with its catalog on that
branch (bronze from the phase-1 Parquet, silver and gold computed on Spark by the transpiled DuckDB
SQL), the staged tables are audited, and publishing merges the branch in one Nessie commit. A job
that fails or is cancelled (the application is killed) leaves only its run branch: readers of the
target see nothing of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lakehouse_core.backends.stack.phases import StackPhaseRunner
from lakehouse_core.backends.stack.publish import run_branch
from lakehouse_core.backends.stack.spark_submit import JOB, JobStatus, SparkJob
from lakehouse_core.models import ProgressEvent, SnapshotRef
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases import Step, iceberg_layout
from lakehouse_core.phases.wap import phase2_steps
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.runmeta import RunCommit

logger = logging.getLogger(__name__)

TASK = "promote_to_iceberg"


def describe_line(line: Mapping[str, Any]) -> str:
    """One human line of the job's report line."""
    step = line.get("step")
    if step == "started":
        return f"application {line.get('app_id')} started ({line.get('startup_s')}s), UI {line.get('ui')}"
    if step == "table":
        return f"{line.get('table')}: {int(line.get('rows', 0)):,} rows, snapshot {line.get('snapshot_id')}"
    if step == "pruning":
        return (
            f"pruning on {line.get('table')}: {line.get('files_with_filter')} file(s) for {line.get('day')}, "
            f"{line.get('files_without_filter')} without the filter"
        )
    if step == "error":
        return f"FAILED: {line.get('error')}"
    rest = {k: v for k, v in line.items() if k != "step"}
    return f"{step}: {json.dumps(rest, default=str)[:200]}"


class SparkPhaseRunner(StackPhaseRunner):
    """StackPhaseRunner whose phase 2 is a Spark job on the standalone cluster."""

    demos = True
    """Run the job's time travel, schema evolution and pruning steps after the load (bench/spark.py
    turns them off to time the load alone)."""

    def phase2_steps(self) -> list[Step]:
        assert self.runs is not None
        return [
            self._branch_step(),
            *phase2_steps(
                self.paths, self.runs.publisher, self.runs.publish, auto_publish=self.settings.auto_publish,
                run_source=self.settings.run_source, load=self.spark_load,
            ),
        ]

    def phase2_details(self) -> tuple[str, ...]:
        spark = self.settings.spark
        return (
            f"engine: Spark {spark.master_url} (job {JOB.relative_to(JOB.parents[2])})",
            f"nessie branch: {self.branch}",
            f"written on the run branch {run_branch('<run id>')}, merged into {self.branch} in one commit",
            f"catalog: Iceberg REST {self.settings.nessie.url}/iceberg/<run branch>, S3FileIO on "
            f"{self.settings.minio.endpoint}",
            "silver and gold: the DuckDB SQL of pipeline/sql transpiled to Spark SQL",
            *iceberg_layout(),
        )

    def job_log(self, run_id: str, suffix: str = "log") -> Path:
        """Where the job's driver log (``log``) and report (``json``) of run ``run_id`` go."""
        logs = self.settings.services_state_path / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        return logs / f"spark-job-{run_id}.{suffix}"

    def job(
        self,
        root: DataPaths,
        source_run: str,
        *,
        run_id: str,
        properties: Mapping[str, str],
        log_path: Path | None = None,
    ) -> SparkJob:
        """The job that loads phase-1 run ``source_run`` on run ``run_id``'s branch (its report to
        ``job_log(run_id, "json")``)."""
        return SparkJob(
            self.settings,
            branch=run_branch(run_id),
            job_args=[
                "--source", str(root.for_run(source_run).outputs),
                "--run-id", run_id, "--source-run", source_run,
                "--run-source", self.settings.run_source, "--target-ref", self.branch,
                "--properties", json.dumps(dict(properties)),
                "--report", str(self.job_log(run_id, "json")),
                *([] if self.demos else ["--no-demos"]),
            ],
            commit=RunCommit(run_id, 2, self.settings.run_source),
            log_path=log_path,
        )

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
        """Submit the job on the run branch ``catalog`` was opened on; its snapshots."""
        job = self.job(root, source_run, run_id=run_id, properties=properties, log_path=self.job_log(run_id))

        def on_line(line: dict[str, Any]) -> None:
            progress.emit(ProgressEvent(2, TASK, "log", message=describe_line(line)))

        def on_tasks(status: JobStatus) -> None:
            (stages_done, stages), (tasks_done, tasks) = status.stages, status.tasks
            progress.emit(
                ProgressEvent(
                    2, TASK, "advance", done=tasks_done, total=tasks or None,
                    message=f"stages {stages_done}/{stages}, tasks {tasks_done}/{tasks}",
                )
            )

        report = job.run(on_line, on_tasks, cancelled=lambda: cancel is not None and cancel.cancelled)
        snapshots = [
            SnapshotRef(table, int(entry["snapshot_id"]), "overwrite")
            for table, entry in (report.get("tables") or {}).items()
        ]
        return snapshots, f"loaded on Spark (application {report.get('app_id')})"
