"""Service table of the stack: concurrent health probes joined with Docker container state."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from lakehouse_core.backends.stack._http import HttpClient
from lakehouse_core.backends.stack.compose_status import ComposeStack
from lakehouse_core.backends.stack.docker_status import ContainerInfo, DockerStatus
from lakehouse_core.backends.stack.registry import INACTIVE, ServiceSpec, apply_blocking, service_specs
from lakehouse_core.backends.stack.script_services import SCRIPT, ScriptServices
from lakehouse_core.backends.stack.spark_status import spark_master_outcome
from lakehouse_core.compose.project import ComposeProject
from lakehouse_core.errors import LakehouseError, NotFoundError, ServiceUnavailableError
from lakehouse_core.models import ServiceState, ServiceStatus
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

DOCKER = "docker"
"""Name of the Docker engine's row."""

ProbeOutcome = tuple[ServiceState, str, str | None]  # state, detail, last_error


def _describe_pg_error(exc: BaseException) -> str:
    text = str(exc).strip()
    low = text.lower()
    if "refused" in low:
        return "connection refused"
    if "timeout expired" in low or "timed out" in low:
        return "timed out"
    return text.splitlines()[0] if text else type(exc).__name__


def probe_postgres(settings: LakehouseSettings) -> ProbeOutcome:
    """Connect to PostgreSQL with ``connect_timeout`` and run ``SELECT version()``."""
    import psycopg2

    pg = settings.postgres
    _mark_start()
    try:
        conn = psycopg2.connect(
            host=pg.host,
            port=pg.port,
            user=pg.user,
            password=pg.password.get_secret_value(),
            dbname=pg.database,
            connect_timeout=max(1, math.ceil(settings.http_timeout_s)),
        )
    except psycopg2.Error as exc:
        cause = _describe_pg_error(exc)
        return ServiceState.DOWN, cause, cause
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version()")
            row = cur.fetchone()
        version = str(row[0]).split(" on ")[0] if row else ""
        return ServiceState.UP, version, None
    except psycopg2.Error as exc:
        cause = _describe_pg_error(exc)
        return ServiceState.DEGRADED, f"connected but query failed: {cause}", cause
    finally:
        conn.close()


def _check_body(spec: ServiceSpec, response: httpx.Response) -> ProbeOutcome:
    if spec.check == "airflow_health":
        body: Any = response.json()
        bad = [
            f"{part}={(body.get(part) or {}).get('status')}"
            for part in ("metadatabase", "scheduler")
            if (body.get(part) or {}).get("status") != "healthy"
        ]
        if bad:
            return ServiceState.DEGRADED, "unhealthy: " + ", ".join(bad), ", ".join(bad)
        return ServiceState.UP, "metadatabase, scheduler healthy", None
    if spec.check == "spark_master":
        return spark_master_outcome(response.json())
    return ServiceState.UP, f"HTTP {response.status_code}", None


def _split_url(url: str) -> tuple[str, str]:
    """``scheme://host:port`` and ``/path?query`` (the path is sent as is, no trailing slash added)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{parts.scheme}://{parts.netloc}", path + (f"?{parts.query}" if parts.query else "")


def _short(text: str, limit: int = 120) -> str:
    """First line of an error, cut to ``limit`` characters (the full text stays in last_error)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def probe_http(spec: ServiceSpec, timeout_s: float, client: HttpClient | None = None) -> ProbeOutcome:
    """GET the spec's health URL through HttpClient; a failure becomes a DOWN outcome with its cause."""
    base, path = _split_url(spec.url)
    own = client is None
    client = client or HttpClient(spec.name, base, timeout_s=timeout_s)
    _mark_start()
    try:
        try:
            response = client.request("GET", path)
        except NotFoundError:
            if not spec.fallback_url:
                raise
            response = client.request("GET", _split_url(spec.fallback_url)[1])
        try:
            return _check_body(spec, response)
        except (ValueError, AttributeError, TypeError) as exc:
            return ServiceState.DEGRADED, f"unexpected health answer: {exc}", str(exc)
    except ServiceUnavailableError as exc:
        return ServiceState.DOWN, exc.cause, exc.cause
    except LakehouseError as exc:
        text = exc.message.removeprefix(f"{spec.name}: ")
        return ServiceState.DOWN, _short(text), text
    finally:
        if own:
            client.close()


_probe_clock = threading.local()


def _mark_start() -> None:
    """Latency is measured from here (after client set-up) to the end of the probe."""
    _probe_clock.started = time.perf_counter()


class StackServiceStatusProvider(ComposeStack):
    """ports.ServiceStatusProvider for the stack: HTTP/TCP probes run concurrently, Docker joined in."""

    def __init__(
        self,
        settings: LakehouseSettings,
        docker: DockerStatus | None = None,
        *,
        specs: list[ServiceSpec] | None = None,
        setup_checks: Mapping[str, Callable[[], list[str]]] | None = None,
        compose: ComposeProject | None = None,
    ) -> None:
        """``setup_checks``: per service, what it lacks of its set-up (asked while its probe is UP).
        ``compose``: the Compose stack (its services' rows, up, control and logs go through it)."""
        self.settings = settings
        self.compose = compose
        self._setup_checks = dict(setup_checks or {})
        self._set_up: set[str] = set()  # services found set up once (a set-up is not undone)
        self.docker = docker
        self.specs = specs if specs is not None else service_specs(settings)
        self._with_engine_row = specs is None  # the whole table: the Docker engine has a row too
        self._timeout = settings.http_timeout_s
        self._clients: dict[str, HttpClient] = {}
        self._clients_lock = threading.Lock()
        self.scripts = ScriptServices(settings.services_state_path)
        self.supports_control: bool = False
        """True while a Docker engine answers (start/stop/restart possible); set by statuses() (building
        the provider asks nothing of the engine)."""
        self._engine_latency_ms = 0.0  # how long the last listing of the containers took

    def _client(self, spec: ServiceSpec) -> HttpClient:
        """One reusable HttpClient per service (keep-alive; set-up cost not counted as latency)."""
        with self._clients_lock:
            client = self._clients.get(spec.name)
            if client is None:
                client = HttpClient(spec.name, _split_url(spec.url)[0], timeout_s=self._timeout)
                self._clients[spec.name] = client
            return client

    def close(self) -> None:
        """Close the probe clients and the Docker client."""
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
        if self.docker is not None:
            self.docker.close()

    def _refresh_control(self) -> None:
        self.supports_control = self.docker is not None and self.docker.available
        self._engine_latency_ms = 0.0  # how long the last listing of the containers took

    # ------------------------------------------------------------ probes
    def _probe(self, spec: ServiceSpec) -> ServiceStatus:
        _mark_start()
        try:
            if spec.probe == "postgres":
                state, detail, error = probe_postgres(self.settings)
            else:
                state, detail, error = probe_http(spec, self._timeout, self._client(spec))
        except Exception as exc:  # noqa: BLE001 - a probe never raises out of statuses()
            logger.exception("probe %s crashed", spec.name)
            state, detail, error = ServiceState.DOWN, f"probe error: {exc}", str(exc)
        latency = (time.perf_counter() - _probe_clock.started) * 1000.0
        missing = self._missing_setup(spec.name) if state is ServiceState.UP else []
        if missing:
            state, error = ServiceState.DEGRADED, f"not set up: {', '.join(missing)} missing"
            detail = f"up, not set up: run `lakehouse setup` ({', '.join(missing)} missing)"
        return ServiceStatus(
            name=spec.name,
            state=state,
            endpoint=spec.endpoint,
            latency_ms=round(latency, 2),
            detail=detail,
            last_error=error,
            depends_on=spec.depends_on,
            kind="process" if spec.probe == "postgres" else "http",
            checked_at=datetime.now(UTC),
            needs_setup=bool(missing),
        )

    def _missing_setup(self, service: str) -> list[str]:
        check = self._setup_checks.get(service)
        if check is None or service in self._set_up:
            return []
        try:
            missing = check()
        except LakehouseError as exc:
            logger.info("set-up check of %s: %s", service, exc)
            return []
        if not missing:
            self._set_up.add(service)
        return missing

    def _timed_out(self, spec: ServiceSpec, budget: float) -> ServiceStatus:
        cause = f"timed out (no answer within {budget:.1f}s)"
        return ServiceStatus(
            name=spec.name,
            state=ServiceState.DOWN,
            endpoint=spec.endpoint,
            detail=cause,
            last_error=cause,
            depends_on=spec.depends_on,
            kind="process" if spec.probe == "postgres" else "http",
            checked_at=datetime.now(UTC),
        )

    def probe_all(self) -> list[ServiceStatus]:
        """Raw probe rows (no blocking, no Docker), all probes in parallel within one time budget;
        services not configured or disabled get their row without a probe."""
        active = [spec for spec in self.specs if spec.inactive is None]
        # connect + read phases each get the timeout; add slack for thread start-up.
        budget = 2 * self._timeout + 1.0
        pool = ThreadPoolExecutor(max_workers=max(1, len(active)), thread_name_prefix="probe")
        futures: dict[ServiceSpec, Future[ServiceStatus]] = {
            spec: pool.submit(self._probe, spec) for spec in active
        }
        wait(list(futures.values()), timeout=budget)
        pool.shutdown(wait=False, cancel_futures=True)
        rows: list[ServiceStatus] = []
        for spec in self.specs:
            future = futures.get(spec)
            if future is None:
                rows.append(_inactive_row(spec))
            else:
                rows.append(future.result() if future.done() else self._timed_out(spec, budget))
        return rows

    # ------------------------------------------------------------ docker join
    def _containers(self) -> tuple[list[ContainerInfo] | None, str]:
        if self.docker is None:
            return None, ""
        started = time.perf_counter()
        try:
            if not self.docker.ensure_connected():
                return None, f"docker: unavailable ({self.docker.reason}); HTTP probe only"
            try:
                containers = self.docker.containers()
                self._engine_latency_ms = (time.perf_counter() - started) * 1000.0
                return containers, ""
            except LakehouseError as exc:
                return None, f"docker: unavailable ({exc}); HTTP probe only"
        finally:
            self._refresh_control()

    def statuses(self) -> list[ServiceStatus]:
        """Every service's row; DOWN rows carry their cause, dependants of a down service are BLOCKED."""
        # Docker is asked in parallel with the probes, so a slow engine never adds to the wait.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docker-status")
        docker_future = pool.submit(self._containers)
        rows = self.probe_all()
        try:
            containers, docker_note = docker_future.result(timeout=self._timeout + 1.0)
        except FutureTimeout:
            containers = None
            docker_note = f"docker: no answer within {self._timeout + 1.0:.1f}s; HTTP probe only"
        finally:
            pool.shutdown(wait=False)
        if containers is not None:
            rows = self._join(rows, containers)
        engine = [self._engine_row(containers, docker_note)] if self._with_engine_row else []
        rows = [
            replace(r, managed_by=SCRIPT) if r.container is None and self.scripts.manages(r.name) else r
            for r in [*rows, *engine]
        ]
        rows = apply_blocking(rows)
        if docker_note:  # on the rows of probed services, whose container state is not known
            rows = [replace(r, detail=f"{r.detail}; {docker_note}" if r.detail else docker_note)
                    if r.name != DOCKER and r.state not in INACTIVE else r for r in rows]
        return rows

    def _engine_row(self, containers: list[ContainerInfo] | None, note: str) -> ServiceStatus:
        """The Docker engine's own row (its containers' rows are the services')."""
        endpoint = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        common: dict[str, Any] = {"endpoint": endpoint, "kind": "engine", "checked_at": datetime.now(UTC)}
        if self.docker is None:
            if not self.settings.docker.enabled:
                detail = "docker.enabled is false in the settings"
                return ServiceStatus(DOCKER, ServiceState.DISABLED, detail=detail, **common)
            return ServiceStatus(DOCKER, ServiceState.NOT_CONFIGURED, detail="no Docker client", **common)
        if containers is None:
            cause = note.removeprefix("docker: ").removesuffix("; HTTP probe only") or self.docker.reason
            return ServiceStatus(DOCKER, ServiceState.DOWN, detail=cause, last_error=cause, **common)
        running = sum(info.running for info in containers)
        project = self.docker.project
        detail = f"engine answers; project {project!r}: {running}/{len(containers)} containers running"
        latency = self._engine_latency_ms
        return ServiceStatus(DOCKER, ServiceState.UP, detail=detail, latency_ms=latency, **common)

    def _container_for(self, spec: ServiceSpec, containers: list[ContainerInfo]) -> ContainerInfo | None:
        for candidate in spec.containers:
            for info in containers:
                if candidate in (info.service, info.name):
                    return info
        return None

    def _join(self, rows: list[ServiceStatus], containers: list[ContainerInfo]) -> list[ServiceStatus]:
        by_name = {spec.name: spec for spec in self.specs}
        used: set[str] = set()
        out: list[ServiceStatus] = []
        for row in rows:
            spec = by_name.get(row.name)
            info = self._container_for(spec, containers) if spec and spec.inactive is None else None
            if info is None:
                out.append(row)
                continue
            used.add(info.id)
            state = row.state
            if state is ServiceState.UP and info.health == "unhealthy":
                state = ServiceState.DEGRADED
            detail = f"{row.detail}; container {info.status}" if row.detail else f"container {info.status}"
            out.append(replace(row, state=state, container=info.name, kind="container", detail=detail))
        for info in containers:
            if info.id not in used:
                out.append(_container_row(info))
        return out

    # ------------------------------------------------------------ control + logs
    def _container_name(self, service: str) -> str:
        if self.docker is None:
            raise LakehouseError("Docker control is disabled (settings.docker.enabled = false)")
        connected = self.docker.ensure_connected()
        self._refresh_control()
        if not connected:
            raise ServiceUnavailableError("docker", self.docker.reason)
        spec = next((s for s in self.specs if s.name == service), None)
        containers = self.docker.containers()
        if spec is not None:
            info = self._container_for(spec, containers)
            if info is not None:
                return info.name
        for info in containers:
            if service in (info.service, info.name):
                return info.name
        project = self.docker.project
        raise NotFoundError(f"no container for service {service!r} in Compose project {project!r}")

    def control(self, service: str, action: Literal["start", "stop", "restart"]) -> None:
        """Start/stop/restart a Compose service (``docker compose start|stop|restart``), else the
        service's container (Docker; a service scripts/services.sh started raises an error saying so)."""
        if self._compose_service(service):
            assert self.compose is not None
            self.compose.control(service, action)
            return
        try:
            name = self._container_name(service)
        except LakehouseError:
            if self.scripts.manages(service):
                raise self.scripts.not_in_container(service, action) from None
            raise
        assert self.docker is not None
        self.docker.control(name, action)

    def logs(self, service: str, lines: int = 100) -> list[str]:
        """Last log lines of the service's container, else of its scripts/services.sh log file;
        empty when there is neither."""
        try:
            name = self._container_name(service)
            assert self.docker is not None
            return self.docker.logs(name, lines)
        except LakehouseError as exc:
            if self.scripts.manages(service):
                return self.scripts.logs(service, lines)
            logger.info("no logs for %s: %s", service, exc)
            return []


def _inactive_row(spec: ServiceSpec) -> ServiceStatus:
    """The row of a service that is not configured or disabled (no probe, never down)."""
    assert spec.inactive is not None
    return ServiceStatus(
        name=spec.name,
        state=spec.inactive,
        endpoint=spec.endpoint,
        detail=spec.hint,
        depends_on=spec.depends_on,
        kind="http",
        checked_at=datetime.now(UTC),
    )


def _container_row(info: ContainerInfo) -> ServiceStatus:
    """A row for a project container that no registry service claims."""
    detail = f"container {info.status}"
    if info.running:
        state = ServiceState.DEGRADED if info.health in ("unhealthy", "starting") else ServiceState.UP
    elif info.completed:  # a one-shot (bucket creation, database migration) that did its job
        state, detail = ServiceState.UP, f"one-shot, completed: container {info.status}"
    else:
        state = ServiceState.DOWN
    return ServiceStatus(
        name=info.service,
        state=state,
        detail=detail,
        last_error=None if state is ServiceState.UP else f"container {info.status}",
        kind="container",
        container=info.name,
        checked_at=datetime.now(UTC),
    )
