"""The stack's services: endpoints from settings, health probes and the dependency graph.

Pure data plus :func:`apply_blocking`, which turns raw probe results into the rows the service
table shows: a service whose dependency is DOWN or BLOCKED is BLOCKED by that dependency (its own
probe is not meaningful while what it needs is gone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from lakehouse_core.models import ServiceState, ServiceStatus
from lakehouse_core.settings import LakehouseSettings, OptionalService

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
    "exporter": (),
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
    "exporter": ("exporter", "lakehouse-exporter"),
    "grafana": ("grafana",),
    "jupyter": ("jupyter",),
}


INACTIVE = (ServiceState.NOT_CONFIGURED, ServiceState.DISABLED)
"""States of a service that is not part of this stack: never blocked, never blocking, never down."""


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
    inactive: ServiceState | None = None
    """NOT_CONFIGURED or DISABLED: the service is shown as such, never probed, never counted as down."""
    hint: str = ""
    """For an inactive service: the setting that makes it active."""


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def _inactive(name: str, service: OptionalService, url_setting: str) -> dict[str, Any]:
    """ServiceSpec fields of an optional service that is not configured or disabled (else none)."""
    key = name.upper()
    if not service.enabled:  # what the user said wins over a URL left unset
        return {"inactive": ServiceState.DISABLED, "hint": f"{name}.enabled is false in the settings"}
    if not service.configured:
        hint = f"set LAKEHOUSE_{key}__{url_setting} to add it"
        return {"inactive": ServiceState.NOT_CONFIGURED, "hint": hint}
    return {}


def service_specs(settings: LakehouseSettings) -> list[ServiceSpec]:
    """The platform's services in display order, with endpoints taken from ``settings``. Optional
    services (Spark, Dremio, Airflow, Grafana, Jupyter) that are not configured or disabled get a spec
    with ``inactive`` set and no probe URL."""
    pg = settings.postgres
    exporter = settings.prometheus.exporter_url or f"http://127.0.0.1:{settings.prometheus.exporter_port}"

    def spec(name: str, title: str, endpoint: str, probe: ProbeKind, url: str = "", **kw: Any) -> ServiceSpec:
        return ServiceSpec(
            name=name,
            title=title,
            endpoint=endpoint,
            probe=probe,
            url=url,
            depends_on=DEPENDENCIES[name],
            containers=CONTAINER_NAMES[name],
            **kw,
        )

    def optional(
        name: str, title: str, service: OptionalService, url_setting: str, path: str, **kw: Any
    ) -> ServiceSpec:
        inactive = _inactive(name, service, url_setting)
        base = service.endpoint or ""
        if inactive:
            return spec(name, title, base, "http", **inactive)
        return spec(name, title, base, "http", _join(base, path), **kw)

    dremio = settings.dremio.endpoint or ""
    return [
        spec("postgres", "PostgreSQL", f"{pg.host}:{pg.port}", "postgres"),
        spec("minio", "MinIO", settings.minio.endpoint, "http",
             _join(settings.minio.endpoint, "/minio/health/live")),
        spec("nessie", "Nessie", settings.nessie.url, "http", _join(settings.nessie.url, "/api/v2/config")),
        optional("spark", "Spark master", settings.spark, "UI_URL", "/json/", check="spark_master"),
        optional("dremio", "Dremio", settings.dremio, "URL", "/apiv2/server_status",
                 fallback_url=_join(dremio, "/")),
        optional("airflow", "Airflow", settings.airflow, "URL", "/api/v2/monitor/health",
                 check="airflow_health"),
        spec("prometheus", "Prometheus", settings.prometheus.url, "http",
             _join(settings.prometheus.url, "/-/ready")),
        spec("exporter", "Pipeline exporter", exporter, "http", _join(exporter, "/metrics")),
        optional("grafana", "Grafana", settings.grafana, "URL", "/api/health"),
        optional("jupyter", "Jupyter", settings.jupyter, "URL", "/api"),
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
    states = {row.name: row.state for row in row_list if row.state not in INACTIVE}
    deps = {row.name: row.depends_on for row in row_list}
    blocked = compute_blocked_by(states, deps)
    out: list[ServiceStatus] = []
    for row in row_list:
        cause = blocked.get(row.name)
        if not cause or row.state in INACTIVE:
            out.append(row)
            continue
        root = root_cause(row.name, blocked)
        own = f"own probe: {row.state.value}"
        if row.state is not ServiceState.UP and row.detail:
            own += f" ({row.detail})"
        via = f"blocked by {cause}" + (f" (root cause: {root} is down)" if root and root != cause else "")
        out.append(replace(row, state=ServiceState.BLOCKED, blocked_by=cause, detail=f"{via}; {own}"))
    return out

