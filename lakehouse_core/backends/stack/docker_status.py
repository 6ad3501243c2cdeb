"""Containers of the Compose project through the Docker SDK (state, health, control, logs).

The SDK has no Compose API: containers are found by the label ``com.docker.compose.project``.
Nothing connects at construction: the engine is first asked when ``available``, ``reason`` or a query
is read. When no engine answers, ``available`` is False and ``reason`` says why; nothing raises.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from lakehouse_core.errors import LakehouseError, NotFoundError, ServiceUnavailableError

logger = logging.getLogger(__name__)

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"

T = TypeVar("T")
Action = Literal["start", "stop", "restart"]


@dataclass(frozen=True)
class ContainerInfo:
    """One container of the project."""

    id: str
    name: str
    service: str
    """Compose service label (falls back to the container name)."""
    state: str
    """running | exited | created | paused | restarting | dead ..."""
    health: str | None
    """healthy | unhealthy | starting, or None without a healthcheck."""
    status: str
    """Docker's human status line, e.g. ``Up 3 minutes (healthy)``."""
    image: str = ""
    exit_code: int | None = None
    restart_policy: str = ""
    """Docker's restart policy name: "" or "no" for a one-shot (Compose ``restart: "no"``)."""

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def completed(self) -> bool:
        """A one-shot container (never restarted) that exited 0: it did its job, nothing is down."""
        return self.state == "exited" and self.exit_code == 0 and self.restart_policy in ("", "no")


def _describe_docker_error(exc: BaseException) -> str:
    """A short cause (``no engine socket at ...``, ``connection refused``, ``timed out``)."""
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if "no such file" in low or "filenotfounderror" in low:
        return f"no Docker engine socket at {where}"
    if "connection refused" in low or "connectionrefused" in low:
        return f"connection refused at {where}"
    if "timed out" in low or "timeout" in low:
        return f"timed out talking to {where}"
    return " ".join(text.split())[:200]


class DockerStatus:
    """Containers of one Compose project (``com.docker.compose.project=<project>``)."""

    def __init__(self, project: str, *, timeout_s: float = 5.0, base_url: str | None = None) -> None:
        self.project = project
        self.timeout_s = timeout_s
        self._base_url = base_url
        self._client: Any = None
        self._lock = threading.Lock()
        self._available = False
        self._reason = "not connected"
        self._tried = False

    @property
    def available(self) -> bool:
        """An engine answered the last time it was asked (asked now if it never was)."""
        if not self._tried:
            self.connect()
        return self._available

    @property
    def reason(self) -> str:
        """Why the engine is not available ('' when it is)."""
        if not self._tried:
            self.connect()
        return self._reason

    # ------------------------------------------------------------ connection
    def connect(self) -> bool:
        """(Re)connect to the engine from the environment (DOCKER_HOST...); sets available/reason."""
        self._tried = True
        try:
            import docker
        except ImportError as exc:  # pragma: no cover - depends on installed extras
            self._set_unavailable(f"docker SDK not installed ({exc})")
            return False
        timeout = max(1, round(self.timeout_s))
        try:
            if self._base_url:
                client = docker.DockerClient(base_url=self._base_url, timeout=timeout)
            else:
                client = docker.from_env(timeout=timeout)
            client.ping()
        except Exception as exc:  # noqa: BLE001 - every engine failure means "not available"
            self._set_unavailable(_describe_docker_error(exc))
            return False
        with self._lock:
            self._client = client
            self._available = True
            self._reason = ""
        return True

    def ensure_connected(self) -> bool:
        """True when an engine answers: the current client, else one (re)connection attempt."""
        return self._available or self.connect()

    def _set_unavailable(self, reason: str) -> None:
        logger.info("docker not available: %s", reason)
        with self._lock:
            self._client = None
            self._available = False
            self._reason = reason

    def _call(self, what: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(client)``; the one place Docker errors become lakehouse errors."""
        import docker.errors
        import requests.exceptions

        if not self._tried:
            self.connect()
        client = self._client
        if client is None:
            raise ServiceUnavailableError("docker", self.reason or "not available")
        try:
            return fn(client)
        except docker.errors.NotFound as exc:
            raise NotFoundError(f"docker: {what}: {exc.explanation or exc}") from exc
        except docker.errors.APIError as exc:
            raise LakehouseError(f"docker: {what}: {exc.explanation or exc}", title="Docker error") from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            cause = _describe_docker_error(exc)
            self._set_unavailable(cause)
            raise ServiceUnavailableError("docker", cause) from exc
        except docker.errors.DockerException as exc:
            raise LakehouseError(f"docker: {what}: {exc}", title="Docker error") from exc

    # ------------------------------------------------------------ queries
    def containers(self) -> list[ContainerInfo]:
        """Every container of the project (running or not), sorted by name."""

        def run(client: Any) -> list[ContainerInfo]:
            found = client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={self.project}"})
            return sorted((_info(c) for c in found), key=lambda info: info.name)

        return self._call("list containers", run)

    def find(self, name: str) -> ContainerInfo | None:
        """The project container whose compose service or container name is ``name``."""
        for info in self.containers():
            if name in (info.service, info.name):
                return info
        return None

    def _require(self, name: str) -> ContainerInfo:
        info = self.find(name)
        if info is None:
            raise NotFoundError(f"no container {name!r} in Compose project {self.project!r}")
        return info

    def inspect(self, name: str) -> ContainerInfo:
        """Fresh state of one container.

        Raises:
            NotFoundError: no such container in the project.
        """
        return self._require(name)

    # ------------------------------------------------------------ control
    def control(self, name: str, action: Action) -> ContainerInfo:
        """start / stop / restart a container and return its new state."""
        if action not in ("start", "stop", "restart"):
            raise LakehouseError(f"unknown container action {action!r}")
        info = self._require(name)
        timeout = max(1, round(self.timeout_s))

        def run(client: Any) -> ContainerInfo:
            container = client.containers.get(info.id)
            if action == "start":
                container.start()
            elif action == "stop":
                container.stop(timeout=timeout)
            else:
                container.restart(timeout=timeout)
            container.reload()
            return _info(container)

        logger.info("docker %s %s", action, info.name)
        return self._call(f"{action} {info.name}", run)

    def start(self, name: str) -> ContainerInfo:
        return self.control(name, "start")

    def stop(self, name: str) -> ContainerInfo:
        return self.control(name, "stop")

    def restart(self, name: str) -> ContainerInfo:
        return self.control(name, "restart")

    def logs(self, name: str, lines: int = 100) -> list[str]:
        """Last ``lines`` log lines of a container (stdout and stderr)."""
        info = self._require(name)

        def run(client: Any) -> list[str]:
            raw = client.containers.get(info.id).logs(tail=max(0, lines), stdout=True, stderr=True)
            text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
            return text.splitlines()[-lines:] if lines > 0 else []

        return self._call(f"logs {info.name}", run)

    def close(self) -> None:
        client = self._client
        if client is not None:
            client.close()


def _info(container: Any) -> ContainerInfo:
    attrs: dict[str, Any] = container.attrs or {}
    state: dict[str, Any] = attrs.get("State") or {}
    labels: dict[str, str] = (attrs.get("Config") or {}).get("Labels") or {}
    health = (state.get("Health") or {}).get("Status")
    name = container.name or attrs.get("Name", "").lstrip("/")
    status_text = state.get("Status", "")
    image = (attrs.get("Config") or {}).get("Image", "")
    exit_code = state.get("ExitCode")
    restart = ((attrs.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or ""
    return ContainerInfo(
        id=container.id,
        name=name,
        service=labels.get(SERVICE_LABEL, name),
        state=status_text or getattr(container, "status", "unknown"),
        health=health,
        status=_status_line(state),
        image=image,
        exit_code=exit_code if isinstance(exit_code, int) else None,
        restart_policy=str(restart),
    )


def _status_line(state: dict[str, Any]) -> str:
    status = state.get("Status", "unknown")
    health = (state.get("Health") or {}).get("Status")
    text = status
    if status == "exited":
        text += f" (code {state.get('ExitCode', '?')})"
    if health:
        text += f" ({health})"
    return text
