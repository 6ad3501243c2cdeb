"""The stack's services: endpoints from settings, health probes and the dependency graph.

Pure data plus :func:`apply_blocking`, which turns raw probe results into the rows the service
table shows: a service whose dependency is DOWN or BLOCKED is BLOCKED by that dependency (its own
probe is not meaningful while what it needs is gone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from lakehouse_core.models import ServiceState, ServiceStatus
from lakehouse_core.settings import LakehouseSettings

ProbeKind = Literal["http", "postgres"]
ProbeCheck = Literal["status", "airflow_health", "spark_master"]

# Service -> the services it needs (the platform's docker-compose depends_on + data flow).
DEPENDENCIES: Mapping[str, tuple[str, ...]] = {
    "postgres": (),
    "minio": (),
    "nessie": ("minio", "postgres"),
    "spark": ("nessie", "minio"),
    "dremio": ("nessie", "minio"),
    "airflow": ("postgres",),
    "prometheus": (),
    "grafana": ("prometheus",),
    "jupyter": ("spark",),
}

# Compose service / container names that belong to each registry service.
CONTAINER_NAMES: Mapping[str, tuple[str, ...]] = {
    "postgres": ("postgres",),
    "minio": ("minio",),
    "nessie": ("nessie",),
    "spark": ("spark-master", "spark"),
    "dremio": ("dremio",),
    "airflow": ("airflow-webserver", "airflow-apiserver", "airflow-api-server", "airflow"),
    "prometheus": ("prometheus",),
    "grafana": ("grafana",),
    "jupyter": ("jupyter",),
}


@dataclass(frozen=True)
class ServiceSpec:
    """How to probe one service."""

    name: str
    title: str
    endpoint: str
    """What the table shows (base URL or host:port)."""
    probe: ProbeKind
    url: str = ""
    """Full probe URL for HTTP probes."""
    fallback_url: str = ""
    """Tried when ``url`` answers 404 (e.g. Dremio without /apiv2/server_status)."""
    check: ProbeCheck = "status"
    depends_on: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def service_specs(settings: LakehouseSettings) -> list[ServiceSpec]:
    """The platform's services in display order, with endpoints taken from ``settings``."""
    pg = settings.postgres

    def spec(name: str, title: str, endpoint: str, probe: ProbeKind, url: str = "", **kw: str) -> ServiceSpec:
        return ServiceSpec(
            name=name,
            title=title,
            endpoint=endpoint,
            probe=probe,
            url=url,
            depends_on=DEPENDENCIES[name],
            containers=CONTAINER_NAMES[name],
            **kw,  # type: ignore[arg-type]
        )

    return [
        spec("postgres", "PostgreSQL", f"{pg.host}:{pg.port}", "postgres"),
        spec("minio", "MinIO", settings.minio.endpoint, "http",
             _join(settings.minio.endpoint, "/minio/health/live")),
        spec("nessie", "Nessie", settings.nessie.url, "http", _join(settings.nessie.url, "/api/v2/config")),
        spec("spark", "Spark master", settings.spark.ui_url, "http", _join(settings.spark.ui_url, "/json/"),
             check="spark_master"),
        spec("dremio", "Dremio", settings.dremio.url, "http",
             _join(settings.dremio.url, "/apiv2/server_status"),
             fallback_url=_join(settings.dremio.url, "/")),
        spec("airflow", "Airflow", settings.airflow.url, "http",
             _join(settings.airflow.url, "/api/v2/monitor/health"), check="airflow_health"),
        spec("prometheus", "Prometheus", settings.prometheus.url, "http",
             _join(settings.prometheus.url, "/-/ready")),
        spec("grafana", "Grafana", settings.grafana.url, "http", _join(settings.grafana.url, "/api/health")),
        spec("jupyter", "Jupyter", settings.jupyter.url, "http", _join(settings.jupyter.url, "/api")),
    ]


def topological_order(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Services ordered so that every dependency comes before its dependants.

    Raises:
        ValueError: the graph has a cycle.
    """
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(name: str, path: tuple[str, ...]) -> None:
        mark = state.get(name)
        if mark == 2:
            return
        if mark == 1:
            raise ValueError(f"dependency cycle: {' -> '.join((*path, name))}")
        state[name] = 1
        for dep in deps.get(name, ()):
            visit(dep, (*path, name))
        state[name] = 2
        order.append(name)

    for name in deps:
        visit(name, ())
    return order


def compute_blocked_by(
    states: Mapping[str, ServiceState], deps: Mapping[str, Sequence[str]] = DEPENDENCIES
) -> dict[str, str | None]:
    """For each service, the first dependency that is DOWN or BLOCKED (None when none is).

    Blocking propagates: when MinIO is down, Nessie is blocked by ``minio`` and Spark by ``nessie``.
    Dependencies missing from ``states`` (not probed) never block.
    """
    graph = {name: tuple(deps.get(name, ())) for name in states}
    effective: dict[str, ServiceState] = {}
    blocked: dict[str, str | None] = {}
    for name in topological_order(graph):
        if name not in states:
            continue
        cause = next(
            (dep for dep in graph[name] if effective.get(dep) in (ServiceState.DOWN, ServiceState.BLOCKED)),
            None,
        )
        blocked[name] = cause
        effective[name] = ServiceState.BLOCKED if cause else states[name]
    return blocked


def root_cause(name: str, blocked_by: Mapping[str, str | None]) -> str | None:
    """Follow ``blocked_by`` links to the service that is actually down (bounded by the graph size)."""
    current = blocked_by.get(name)
    for _ in range(len(blocked_by) + 1):
        nxt = blocked_by.get(current) if current else None
        if not nxt:
            return current
        current = nxt
    return current


def apply_blocking(rows: Iterable[ServiceStatus]) -> list[ServiceStatus]:
    """Turn raw probe rows into displayed rows: dependants of a DOWN/BLOCKED service become BLOCKED.

    The own probe's outcome is kept in ``detail`` (e.g. ``own probe: up``) so nothing is lost.
    """
    row_list = list(rows)
    states = {row.name: row.state for row in row_list}
    deps = {row.name: row.depends_on for row in row_list}
    blocked = compute_blocked_by(states, deps)
    out: list[ServiceStatus] = []
    for row in row_list:
        cause = blocked.get(row.name)
        if not cause:
            out.append(row)
            continue
        root = root_cause(row.name, blocked)
        own = f"own probe: {row.state.value}"
        if row.state is not ServiceState.UP and row.detail:
            own += f" ({row.detail})"
        via = f"blocked by {cause}" + (f" (root cause: {root} is down)" if root and root != cause else "")
        out.append(replace(row, state=ServiceState.BLOCKED, blocked_by=cause, detail=f"{via}; {own}"))
    return out

