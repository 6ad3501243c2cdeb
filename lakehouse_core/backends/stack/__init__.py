"""Stack mode: real services (Nessie, MinIO, PostgreSQL, Prometheus, Docker; Dremio when reachable).

A thin assembly: building it opens no connection and changes nothing on any service. Dremio's
first user and sources are made by ``lakehouse setup`` (``Backend.setup``).
"""

from __future__ import annotations

from lakehouse_core.errors import ConfigError
from lakehouse_core.ports import Backend, SqlEngine
from lakehouse_core.settings import LakehouseSettings

__all__ = ["build_stack"]


def build_stack(settings: LakehouseSettings) -> Backend:
    """Build the stack Backend from settings (nothing raises for a dead service; rows show DOWN)."""
    from lakehouse_core.backends.stack.airflow_client import AirflowClient
    from lakehouse_core.backends.stack.airflow_phases import AirflowPhaseRunner
    from lakehouse_core.backends.stack.catalog import NessieCatalogBrowser
    from lakehouse_core.backends.stack.docker_status import DockerStatus
    from lakehouse_core.backends.stack.dremio import DremioSqlEngine
    from lakehouse_core.backends.stack.dremio_setup import DremioSetup
    from lakehouse_core.backends.stack.maintenance import NessieTableMaintenance
    from lakehouse_core.backends.stack.nessie import NessieClient
    from lakehouse_core.backends.stack.phases import StackPhaseRunner
    from lakehouse_core.backends.stack.prometheus import PrometheusMetricsSource
    from lakehouse_core.backends.stack.refs import NessieRefControl
    from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
    from lakehouse_core.backends.stack.sql_choice import StackSqlEngine
    from lakehouse_core.backends.stack.status import StackServiceStatusProvider
    from lakehouse_core.compose.project import project_from_settings
    from lakehouse_core.engines.compare import EngineQueryComparer

    timeout_s = settings.http_timeout_s
    docker = compose = None
    if settings.docker.enabled:
        docker = DockerStatus(settings.docker.compose_project, timeout_s=timeout_s)
        compose = project_from_settings(settings.docker)  # runs nothing until asked
    client = NessieClient(settings)
    catalog = NessieCatalogBrowser(settings, client)

    def make_sql() -> StackSqlEngine:
        return StackSqlEngine(
            settings.dremio,
            timeout_s=timeout_s,
            make_dremio=lambda: DremioSqlEngine(
                settings.dremio,
                timeout_s=timeout_s,
                query_timeout_s=settings.query_timeout_s,
                fetch_limit=settings.tui.fetch_limit,
            ),
            make_fallback=lambda: RestDuckDbSqlEngine(settings, client),
        )

    sql: SqlEngine = make_sql()  # users' session (SQL panel, `lakehouse sql`); phase 3 gets its own below
    if settings.sql_engine == "spark":
        from lakehouse_core.backends.stack.spark_connect import SparkSqlEngine

        sql = SparkSqlEngine(settings, client)
    dremio_setup = (
        DremioSetup(settings.dremio, settings.minio, settings.nessie, timeout_s=timeout_s)
        if settings.dremio.active
        else None
    )
    airflow = AirflowClient(settings.airflow, timeout_s=timeout_s) if settings.airflow.active else None
    base: type[StackPhaseRunner] = StackPhaseRunner
    if settings.spark.phase2_engine == "spark":
        from lakehouse_core.backends.stack.spark_phase import SparkPhaseRunner

        base = SparkPhaseRunner
    if settings.phase1_runner == "airflow":
        if airflow is None:
            raise ConfigError(
                "phase1_runner is airflow but Airflow is not configured or disabled: "
                "set LAKEHOUSE_AIRFLOW__URL (e.g. http://127.0.0.1:8085)"
            )
        # phase 1 through the DAG; phase 2 by the chosen engine (Airflow's class defers phase 2 to super)
        runner = AirflowPhaseRunner if base is StackPhaseRunner else type(
            "AirflowSparkPhaseRunner", (AirflowPhaseRunner, base), {}
        )
        phases: StackPhaseRunner = runner(settings, client, make_sql(), airflow=airflow, catalog=catalog)
    else:
        phases = base(settings, client, make_sql(), catalog=catalog)
    return Backend(
        mode="stack",
        status=StackServiceStatusProvider(
            settings,
            docker=docker,
            setup_checks={"dremio": dremio_setup.missing} if dremio_setup is not None else {},
            compose=compose,
        ),
        catalog=catalog,
        sql=sql,
        metrics=PrometheusMetricsSource(settings),
        phases=phases,
        setup=dremio_setup,
        maintenance=NessieTableMaintenance(settings, client),
        runs=phases.runs,
        compare=EngineQueryComparer(sql),
        refs=NessieRefControl(client, catalog),
        dag_runs=airflow,
    )
