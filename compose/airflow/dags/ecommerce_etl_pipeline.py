"""The platform's phase 1 as an Airflow DAG: the six pipeline tasks in sequence, then the audit and
the publication of the run (the steps a local `lakehouse phase 1` runs, in the same order).

Every task is a thin call into ``lakehouse_core.phases.dag_step``: the pipeline itself lives in
``lakehouse_core``. Params (the DAG run's conf): orders, seed, data_dir, defect_rate, generate,
run_id and owner_pid (set by ``AirflowPhaseRunner``). Each step honours the data dir's run lock (a run
started here fails in one line while a CLI or TUI run holds it), and one DAG run runs at a time.

``promote_with_spark`` (off by default; the Spark provider is installed by scripts/services/airflow.sh):
a last task runs phase 2 of the published run, its Iceberg load submitted to the Spark cluster by
SparkSubmitOperator (``lakehouse_core.backends.stack.dag_spark``), published into ``nessie_ref``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task

PHASE1_TASKS = (
    "generate_sample_data",
    "ingest_to_bronze",
    "validate_data_quality",
    "transform_to_silver",
    "aggregate_to_gold",
    "generate_report",
)
RUN_TASKS = ("audit_outputs", "publish_outputs")


def _dag_run_args() -> tuple[dict[str, Any], str, dt.datetime | None]:
    context = get_current_context()
    dag_run = context["dag_run"]
    return dict(context["params"]), str(dag_run.run_id), getattr(dag_run, "run_after", None)


def _run_step(step: str) -> dict[str, Any]:
    from lakehouse_core.phases.dag_step import run_phase1_step

    conf, dag_run_id, run_after = _dag_run_args()
    return run_phase1_step(step, conf, dag_run_id=dag_run_id, run_after=run_after)


def _on_failure(context: Any) -> None:
    from lakehouse_core.phases.dag_step import fail_phase1_run

    dag_run = context["dag_run"]
    error = f"{context['ti'].task_id} failed: {context.get('exception')}"
    fail_phase1_run(dict(context["params"]), error, dag_run_id=str(dag_run.run_id),
                    run_after=getattr(dag_run, "run_after", None))


with DAG(
    dag_id="ecommerce_etl_pipeline",
    description="raw CSV -> bronze -> quality -> silver -> gold -> KPIs, audited and published",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["lakehouse", "phase1"],
    default_args={
        "retries": 1,
        "retry_delay": dt.timedelta(seconds=3),
        "on_failure_callback": _on_failure,
    },
    params={
        "orders": Param(5000, type="integer", minimum=1),
        "seed": Param(42, type="integer"),
        "data_dir": Param("", type="string", description="data dir (empty: LAKEHOUSE_DATA_DIR)"),
        "defect_rate": Param(0.0, type="number", minimum=0, maximum=1),
        "generate": Param("if-empty", enum=["if-empty", "always", "never"]),
        "run_id": Param("", type="string", description="phase-1 run id (empty: from the DAG run)"),
        "owner_pid": Param(0, type="integer", description="pid recording the run (0: the tasks)"),
        "promote_with_spark": Param(False, type="boolean",
                                    description="then load the published run into Iceberg on Spark"),
        "nessie_ref": Param("", type="string", description="branch phase 2 publishes to (empty: settings')"),
    },
) as dag:
    previous = None
    for name in (*PHASE1_TASKS, *RUN_TASKS):

        @task(task_id=name)
        def step(step_name: str = name) -> dict[str, Any]:
            return _run_step(step_name)

        current = step()
        if previous is not None:
            previous >> current
        previous = current

    try:
        from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
    except ImportError:  # the Spark provider is optional: without it the DAG ends with the publication
        SparkSubmitOperator = None

    if SparkSubmitOperator is not None:

        class PromoteWithSpark(SparkSubmitOperator):
            """Phase 2 of the published run with its load submitted by this operator; lakehouse_core
            builds the submission when the task runs (the catalog's keys stay out of rendered fields)."""

            def execute(self, context: Any) -> dict[str, Any]:
                from lakehouse_core.backends.stack.dag_spark import promote_with_spark

                def submit(job: Any) -> None:
                    self.application, self.conf, self.name = job.application, job.conf, job.name
                    self.application_args, self.env_vars = job.application_args, job.env_vars
                    self._hook = None  # a new hook per submission, with these arguments
                    SparkSubmitOperator.execute(self, context)

                return promote_with_spark(dict(context["params"]), submit)

        @task.short_circuit(task_id="spark_enabled")
        def spark_enabled() -> bool:
            return bool(get_current_context()["params"].get("promote_with_spark"))

        promote = PromoteWithSpark(task_id="promote_with_spark", application="", conn_id="spark_default",
                                   retries=0)
        previous >> spark_enabled() >> promote
