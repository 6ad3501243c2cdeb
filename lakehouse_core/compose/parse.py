"""What ``docker compose`` prints, read into dataclasses: ``config --format json`` (services, their
depends_on, ports and healthchecks), ``ps --format json --all`` (state and health per container),
``--progress json`` lines of ``up`` (build steps, containers created/started/healthy), and the
"blocked by" rule that joins them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import ComposeServiceState, ProgressEvent

NOT_CREATED = "not created"
STACK_PHASE = 0
"""``ProgressEvent.phase`` of the Compose stack's events (phases are 1-4)."""


@dataclass(frozen=True)
class Dependency:
    service: str
    condition: str
    """service_started | service_healthy | service_completed_successfully."""
    required: bool = True


@dataclass(frozen=True)
class ComposeService:
    """One service of the Compose file (after interpolation, profiles applied)."""

    name: str
    depends_on: tuple[Dependency, ...] = ()
    ports: tuple[str, ...] = ()
    has_healthcheck: bool = False
    profiles: tuple[str, ...] = ()
    image: str = ""
    builds: bool = False


@dataclass(frozen=True)
class ComposeContainer:
    """One container of the project, as ``docker compose ps --format json --all`` lists it."""

    name: str
    service: str
    state: str
    health: str | None
    exit_code: int
    status: str
    ports: tuple[str, ...] = ()


def _port(host_ip: str, published: Any, target: Any, protocol: str) -> str:
    host = f"{host_ip}:" if host_ip else ""
    return f"{host}{published}->{target}/{protocol or 'tcp'}"


def parse_config(text: str) -> dict[str, ComposeService]:
    """Services of ``config --format json``, by name in file order.

    Raises:
        LakehouseError: the text is not Compose's JSON.
    """
    try:
        data = json.loads(text)
        services: Mapping[str, Any] = data["services"]
    except (ValueError, KeyError, TypeError) as exc:
        raise LakehouseError(f"docker compose config: unexpected output ({exc})") from exc
    out: dict[str, ComposeService] = {}
    for name, raw in services.items():
        deps = tuple(
            Dependency(
                dep,
                str((spec or {}).get("condition", "service_started")),
                bool((spec or {}).get("required", True)),
            )
            for dep, spec in (raw.get("depends_on") or {}).items()
        )
        ports = tuple(
            _port(
                str(p.get("host_ip") or ""),
                p.get("published", ""),
                p.get("target", ""),
                str(p.get("protocol", "")),
            )
            for p in raw.get("ports") or ()
            if p.get("published")
        )
        health = raw.get("healthcheck") or {}
        out[name] = ComposeService(
            name=name,
            depends_on=deps,
            ports=ports,
            has_healthcheck=bool(health) and not health.get("disable", False),
            profiles=tuple(raw.get("profiles") or ()),
            image=str(raw.get("image") or ""),
            builds="build" in raw,
        )
    return out


def _json_records(text: str) -> list[dict[str, Any]]:
    """Compose v2 prints one JSON object per line (2.21+) or one JSON array (older)."""
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        records = json.loads(stripped)
        return [r for r in records if isinstance(r, dict)]
    return [json.loads(line) for line in stripped.splitlines() if line.strip()]


def parse_ps(text: str) -> list[ComposeContainer]:
    """Containers of ``ps --format json --all``, sorted by name.

    Raises:
        LakehouseError: the text is not Compose's JSON.
    """
    try:
        records = _json_records(text)
    except ValueError as exc:
        raise LakehouseError(f"docker compose ps: unexpected output ({exc})") from exc
    out = []
    for rec in records:
        ports = tuple(
            _port(
                str(p.get("URL") or ""),
                p.get("PublishedPort"),
                p.get("TargetPort"),
                str(p.get("Protocol", "")),
            )
            for p in rec.get("Publishers") or ()
            if p.get("PublishedPort")
        )
        out.append(
            ComposeContainer(
                name=str(rec.get("Name", "")),
                service=str(rec.get("Service", "")),
                state=str(rec.get("State", "")),
                health=str(rec.get("Health") or "") or None,
                exit_code=int(rec.get("ExitCode") or 0),
                status=str(rec.get("Status", "")),
                ports=ports,
            )
        )
    return sorted(out, key=lambda c: c.name)


def _satisfied(condition: str, row: ComposeServiceState) -> bool:
    """Whether ``row`` meets a dependant's ``depends_on`` condition now."""
    if condition == "service_completed_successfully":
        return row.state == "exited" and row.exit_code == 0
    if condition == "service_healthy":
        return row.state == "running" and row.health == "healthy"
    return row.state == "running"


def service_states(
    services: Mapping[str, ComposeService], containers: Sequence[ComposeContainer]
) -> list[ComposeServiceState]:
    """One row per service of the file (plus containers of services no longer in it), with
    ``blocked_by`` set to the first dependency whose condition does not hold, or that is blocked itself."""
    by_service: dict[str, ComposeContainer] = {}
    for container in containers:
        by_service.setdefault(container.service, container)
    rows: dict[str, ComposeServiceState] = {}
    for name, service in services.items():
        found = by_service.get(name)
        deps = tuple(d.service for d in service.depends_on)
        if found is None:
            rows[name] = ComposeServiceState(
                name, NOT_CREATED, ports=service.ports, depends_on=deps, status=NOT_CREATED
            )
        else:
            rows[name] = _row(found, deps, service.ports)
    for name, found in by_service.items():
        if name not in rows:
            rows[name] = _row(found, (), ())
    return [_with_blocking(rows, services, name, set()) for name in rows]


def _row(found: ComposeContainer, deps: tuple[str, ...], declared: tuple[str, ...]) -> ComposeServiceState:
    return ComposeServiceState(
        name=found.service,
        state=found.state,
        health=found.health if found.state == "running" else None,
        ports=found.ports or declared,
        depends_on=deps,
        status=found.status,
        exit_code=found.exit_code if found.state == "exited" else None,
        container=found.name,
    )


def _with_blocking(
    rows: dict[str, ComposeServiceState],
    services: Mapping[str, ComposeService],
    name: str,
    seen: set[str],
) -> ComposeServiceState:
    from dataclasses import replace

    row = rows[name]
    if name in seen or name not in services:  # a cycle (compose refuses those) or an orphan
        return row
    seen = seen | {name}
    for dep in services[name].depends_on:
        target = rows.get(dep.service)
        if target is None:
            continue
        target = _with_blocking(rows, services, dep.service, seen)
        if target.blocked_by or not _satisfied(dep.condition, target):
            return replace(row, blocked_by=dep.service)
    return row


# ---------------------------------------------------------------- progress of `up`
class UpProgress:
    """Turns the ``--progress json`` lines of ``docker compose up`` into ProgressEvents.

    Build steps (BuildKit vertexes) become start/finish events of the task ``build: <step>``; a
    container's status (Created, Started, Waiting, Healthy, Exited...) a log event of its service;
    Compose's warnings and plain lines a log event of the task ``compose``.
    """

    def __init__(self, project: str) -> None:
        self.project = project
        self._started: set[str] = set()
        self._finished: set[str] = set()
        self.errors: list[str] = []

    def service_of(self, container: str) -> str:
        """``<project>-<service>-<n>`` -> ``<service>``."""
        prefix = f"{self.project}-"
        if container.startswith(prefix):
            service, _, number = container[len(prefix) :].rpartition("-")
            if number.isdigit() and service:
                return service
        return container

    def feed(self, line: str) -> list[ProgressEvent]:
        text = line.strip()
        if not text:
            return []
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            if text.lower().startswith(("error", "dependency failed", "service ")):
                self.errors.append(text)
            return [ProgressEvent(STACK_PHASE, "compose", "log", message=text)]
        if "vertexes" in record or "statuses" in record:
            return self._vertexes(record.get("vertexes") or ())
        if "msg" in record:
            message = str(record["msg"])
            if record.get("level") in ("error", "fatal"):
                self.errors.append(message)
            return [ProgressEvent(STACK_PHASE, "compose", "log", message=message)]
        if "id" in record and "status" in record:
            return self._status(str(record["id"]), str(record["status"]), str(record.get("text") or ""))
        return []

    def _vertexes(self, vertexes: Iterable[Mapping[str, Any]]) -> list[ProgressEvent]:
        events = []
        for vertex in vertexes:
            digest, name = str(vertex.get("digest", "")), str(vertex.get("name", ""))
            task = f"build: {name}"
            if vertex.get("error"):
                self.errors.append(f"{name}: {vertex['error']}")
                events.append(ProgressEvent(STACK_PHASE, task, "log", message=f"FAILED: {vertex['error']}"))
            if vertex.get("started") and digest not in self._started:
                self._started.add(digest)
                events.append(ProgressEvent(STACK_PHASE, task, "start"))
            if vertex.get("completed") and digest not in self._finished:
                self._finished.add(digest)
                if digest not in self._started:
                    self._started.add(digest)
                    events.append(ProgressEvent(STACK_PHASE, task, "start"))
                events.append(ProgressEvent(STACK_PHASE, task, "finish", done=1, total=1))
        return events

    def _status(self, ident: str, status: str, text: str) -> list[ProgressEvent]:
        kind, _, name = ident.partition(" ")
        if kind in ("Network", "Volume", "Image"):
            task = f"{kind.lower()} {name}"
        elif kind == "Container":
            task = self.service_of(name)
        else:  # {"id": "api", "status": "Built"}
            task = ident
        message = status.lower() + (f": {text}" if text else "")
        if status == "Error":
            self.errors.append(f"{task}: {text or status}")
        return [ProgressEvent(STACK_PHASE, task, "log", message=message)]
