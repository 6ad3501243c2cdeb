"""Stack mode: real services (Nessie, MinIO, PostgreSQL, Prometheus, Docker; Dremio when reachable)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lakehouse_core.errors import LakehouseError
from lakehouse_core.ports import Backend, SqlEngine
from lakehouse_core.settings import LakehouseSettings

if TYPE_CHECKING:
    from lakehouse_core.backends.stack.nessie import NessieClient

logger = logging.getLogger(__name__)

__all__ = ["build_stack", "choose_sql_engine"]


def choose_sql_engine(settings: LakehouseSettings, client: NessieClient | None = None) -> SqlEngine:
    """DremioSqlEngine when enabled and reachable, else DuckDB over the Iceberg REST catalog."""
    from lakehouse_core.backends.stack.dremio import DremioSqlEngine, dremio_reachable, ensure_dremio_sources

    if settings.dremio.enabled and dremio_reachable(settings):
        logger.info("SQL through Dremio at %s", settings.dremio.url)
        try:  # the seed's manual first-login steps (first user, MinIO and Nessie sources) become zero steps
            logger.info("dremio sources: %s", ensure_dremio_sources(settings))
        except LakehouseError as exc:
            logger.warning("could not create the Dremio sources: %s", exc)
        return DremioSqlEngine(settings)
    logger.info("dremio disabled or unreachable: SQL through DuckDB over the Iceberg REST catalog")
    from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine

    return RestDuckDbSqlEngine(settings, client)


def build_stack(settings: LakehouseSettings) -> Backend:
    """Build the stack Backend from settings (nothing raises for a dead service; rows show DOWN)."""
    from lakehouse_core.backends.stack.catalog import NessieCatalogBrowser
    from lakehouse_core.backends.stack.docker_status import DockerStatus
    from lakehouse_core.backends.stack.nessie import NessieClient
    from lakehouse_core.backends.stack.phases import StackPhaseRunner
    from lakehouse_core.backends.stack.prometheus import PrometheusMetricsSource
    from lakehouse_core.backends.stack.status import StackServiceStatusProvider

    docker = (
        DockerStatus(settings.docker.compose_project, timeout_s=settings.http_timeout_s)
        if settings.docker.enabled
        else None
    )
    client = NessieClient(settings)
    catalog = NessieCatalogBrowser(settings, client)
    sql = choose_sql_engine(settings, client)
    return Backend(
        mode="stack",
        status=StackServiceStatusProvider(settings, docker=docker),
        catalog=catalog,
        sql=sql,
        metrics=PrometheusMetricsSource(settings),
        phases=StackPhaseRunner(settings, client, sql, catalog=catalog),
    )
