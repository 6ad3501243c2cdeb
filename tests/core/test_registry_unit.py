"""The stack registry: endpoints from settings, dependency graph and BLOCKED propagation (pure logic)."""

from __future__ import annotations

import pytest

from lakehouse_core.backends.stack.registry import (
    DEPENDENCIES,
    apply_blocking,
    compute_blocked_by,
    service_specs,
    topological_order,
)
from lakehouse_core.models import ServiceState, ServiceStatus
from lakehouse_core.settings import load_settings

UP, DOWN, BLOCKED, DEGRADED = ServiceState.UP, ServiceState.DOWN, ServiceState.BLOCKED, ServiceState.DEGRADED


def _row(name: str, state: ServiceState, detail: str = "") -> ServiceStatus:
    return ServiceStatus(name=name, state=state, detail=detail, depends_on=DEPENDENCIES[name])


def test_specs_take_endpoints_from_settings() -> None:
    settings = load_settings(
        minio={"endpoint": "http://127.0.0.1:9100"},
        nessie={"url": "http://127.0.0.1:19999/"},
        postgres={"host": "127.0.0.1", "port": 5499},
        spark={"ui_url": "http://127.0.0.1:8090"},
        dremio={"url": "http://127.0.0.1:9047"},
        airflow={"url": "http://127.0.0.1:8085"},
        grafana={"url": "http://127.0.0.1:3000"},
        jupyter={"url": "http://127.0.0.1:8888"},
    )
    specs = {s.name: s for s in service_specs(settings)}
    assert list(specs) == ["postgres", "minio", "nessie", "spark", "dremio", "airflow",
                           "prometheus", "exporter", "grafana", "jupyter"]
    assert specs["exporter"].url == "http://127.0.0.1:9108/metrics"
    assert specs["exporter"].depends_on == ()
    assert specs["minio"].url == "http://127.0.0.1:9100/minio/health/live"
    assert specs["nessie"].url == "http://127.0.0.1:19999/api/v2/config"
    assert specs["spark"].url == "http://127.0.0.1:8090/json/"
    assert specs["airflow"].url == "http://127.0.0.1:8085/api/v2/monitor/health"
    assert specs["dremio"].url == "http://127.0.0.1:9047/apiv2/server_status"
    assert specs["dremio"].fallback_url == "http://127.0.0.1:9047/"
    assert specs["prometheus"].url == "http://127.0.0.1:9090/-/ready"
    assert specs["grafana"].url == "http://127.0.0.1:3000/api/health"
    assert specs["jupyter"].url == "http://127.0.0.1:8888/api"
    assert specs["postgres"].probe == "postgres"
    assert specs["postgres"].endpoint == "127.0.0.1:5499"
    assert specs["nessie"].depends_on == ("minio", "postgres")
    assert specs["jupyter"].depends_on == ("spark",)


def test_optional_services_not_configured_or_disabled_have_no_probe() -> None:
    settings = load_settings(_env_file=None, dremio={"url": "http://127.0.0.1:9047", "enabled": False})
    specs = {s.name: s for s in service_specs(settings)}
    assert {name: (s.inactive, s.url, s.hint) for name, s in specs.items() if s.inactive} == {
        "spark": (ServiceState.NOT_CONFIGURED, "", "set LAKEHOUSE_SPARK__UI_URL to add it"),
        "dremio": (ServiceState.DISABLED, "", "dremio.enabled is false in the settings"),
        "airflow": (ServiceState.NOT_CONFIGURED, "", "set LAKEHOUSE_AIRFLOW__URL to add it"),
        "grafana": (ServiceState.NOT_CONFIGURED, "", "set LAKEHOUSE_GRAFANA__URL to add it"),
        "jupyter": (ServiceState.NOT_CONFIGURED, "", "set LAKEHOUSE_JUPYTER__URL to add it"),
    }
    assert specs["dremio"].endpoint == "http://127.0.0.1:9047"
    assert all(specs[name].inactive is None for name in ("postgres", "minio", "nessie", "prometheus"))


def test_inactive_services_are_never_blocked_nor_blocking() -> None:
    rows = apply_blocking([
        _row("nessie", DOWN, "connection refused"),
        _row("spark", ServiceState.NOT_CONFIGURED),
        _row("dremio", ServiceState.DISABLED),
        _row("jupyter", UP),
    ])
    out = {r.name: r for r in rows}
    assert out["spark"].state is ServiceState.NOT_CONFIGURED and out["spark"].blocked_by is None
    assert out["dremio"].state is ServiceState.DISABLED and out["dremio"].blocked_by is None
    assert out["jupyter"].state is UP  # its dependency spark is not part of this stack
    assert [r.name for r in rows if r.state.counts_as_down] == ["nessie"]


def test_graph_is_acyclic_and_ordered() -> None:
    order = topological_order(DEPENDENCIES)
    assert sorted(order) == sorted(DEPENDENCIES)
    for name, deps in DEPENDENCIES.items():
        for dep in deps:
            assert order.index(dep) < order.index(name)
    with pytest.raises(ValueError, match="dependency cycle: a -> b -> a"):
        topological_order({"a": ("b",), "b": ("a",)})


def test_minio_down_blocks_nessie_then_transitively() -> None:
    states = {name: UP for name in DEPENDENCIES}
    states["minio"] = DOWN
    blocked = compute_blocked_by(states)
    assert blocked == {
        "postgres": None, "minio": None, "nessie": "minio", "spark": "nessie", "dremio": "nessie",
        "airflow": None, "prometheus": None, "exporter": None, "grafana": None, "jupyter": "spark",
    }


def test_degraded_and_unprobed_dependencies_do_not_block() -> None:
    blocked = compute_blocked_by({"nessie": UP, "minio": DEGRADED, "grafana": DOWN})
    assert blocked == {"nessie": None, "minio": None, "grafana": None}


def test_apply_blocking_keeps_own_probe_outcome() -> None:
    rows = [
        _row("postgres", UP),
        _row("minio", DOWN, "connection refused"),
        _row("nessie", UP, "HTTP 200"),
        _row("spark", DOWN, "timed out (ReadTimeout)"),
        _row("prometheus", UP),
        _row("grafana", UP),
    ]
    out = {r.name: r for r in apply_blocking(rows)}
    assert out["minio"].state is DOWN and out["minio"].blocked_by is None
    assert out["minio"].detail == "connection refused"
    assert out["nessie"].state is BLOCKED
    assert out["nessie"].blocked_by == "minio"
    assert out["nessie"].detail == "blocked by minio; own probe: up"
    assert out["spark"].state is BLOCKED
    assert out["spark"].blocked_by == "nessie"
    assert out["spark"].detail == (
        "blocked by nessie (root cause: minio is down); own probe: down (timed out (ReadTimeout))"
    )
    assert out["grafana"].state is UP and out["grafana"].blocked_by is None
    assert [r.name for r in apply_blocking(rows)] == [r.name for r in rows]  # order kept
