"""Stack tier: real services on 127.0.0.1 started by ``scripts/services.sh``.

Everything under tests/stack/ is marked ``stack`` automatically. The session fixture ``stack``
checks that every service answers and, if one does not, runs ``bash scripts/services.sh up`` once
(serialised by its lock file). A service that still does not answer FAILS the tests with the
script's output: a missing service is never a skip.

Reusable from other test folders (fixtures here are only visible under tests/stack/)::

    from tests.stack.conftest import ensure_stack_up, make_stack_settings, stop_service, start_service
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.models import CommitInfo
from lakehouse_core.settings import (
    LakehouseSettings,
    MinioSettings,
    NessieSettings,
    PostgresSettings,
    PrometheusSettings,
    TuiSettings,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES_SH = REPO_ROOT / "scripts" / "services.sh"
SERVICES_ENV = REPO_ROOT / "scripts" / "services.env"
SERVICES = ("postgres", "postgres_exporter", "minio", "nessie", "prometheus", "exporter", "docker")
STACK_DIR = Path(__file__).resolve().parent
UP_TIMEOUT_S = 1800.0
"""Bound for a cold ``services.sh up`` (MinIO build, Nessie jar, debootstrap)."""


@dataclass(frozen=True)
class StackEndpoints:
    """Where the stack services listen and how to log in (values of scripts/services.env)."""

    postgres_host: str
    postgres_port: int
    postgres_user: str
    postgres_password: str
    postgres_databases: tuple[str, ...]
    minio_endpoint: str
    minio_console_url: str
    minio_access_key: str
    minio_secret_key: str
    minio_region: str
    minio_buckets: tuple[str, ...]
    nessie_url: str
    nessie_management_url: str
    nessie_warehouse: str
    prometheus_url: str
    exporter_port: int
    docker_project: str
    docker_probe_image: str
    state_dir: Path

    @property
    def iceberg_rest_uri(self) -> str:
        """Nessie's Iceberg REST endpoint (default branch, default warehouse)."""
        return f"{self.nessie_url}/iceberg"

    def pyiceberg_properties(self) -> dict[str, str]:
        """RestCatalog properties verified against the live Nessie (request signing is off)."""
        return {
            "uri": self.iceberg_rest_uri,
            "s3.endpoint": self.minio_endpoint,
            "s3.access-key-id": self.minio_access_key,
            "s3.secret-access-key": self.minio_secret_key,
            "s3.region": self.minio_region,
        }


def _services_env() -> dict[str, str]:
    """Evaluate scripts/services.env (env overrides included) in bash: one source of truth."""
    out = subprocess.run(
        ["bash", "-c", f'set -a; source "{SERVICES_ENV}"; env -0'],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    pairs = (item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    return dict(pairs)


def stack_endpoints() -> StackEndpoints:
    """Endpoints and credentials of the stack services, from scripts/services.env."""
    env = _services_env()
    minio_host, pg_host = env["MINIO_HOST"], env["POSTGRES_HOST"]
    nessie = f"http://{env['NESSIE_HOST']}"
    return StackEndpoints(
        postgres_host=pg_host,
        postgres_port=int(env["POSTGRES_PORT"]),
        postgres_user=env["POSTGRES_USER"],
        postgres_password=env["POSTGRES_PASSWORD"],
        postgres_databases=tuple(env["POSTGRES_DBS"].split()),
        minio_endpoint=f"http://{minio_host}:{env['MINIO_PORT']}",
        minio_console_url=f"http://{minio_host}:{env['MINIO_CONSOLE_PORT']}",
        minio_access_key=env["MINIO_ROOT_USER"],
        minio_secret_key=env["MINIO_ROOT_PASSWORD"],
        minio_region=env["MINIO_REGION"],
        minio_buckets=tuple(env["MINIO_BUCKETS"].split()),
        nessie_url=f"{nessie}:{env['NESSIE_PORT']}",
        nessie_management_url=f"{nessie}:{env['NESSIE_MGMT_PORT']}",
        nessie_warehouse=env["NESSIE_WAREHOUSE"],
        prometheus_url=f"http://{env['PROMETHEUS_HOST']}:{env['PROMETHEUS_PORT']}",
        exporter_port=int(env["EXPORTER_PORT"]),
        docker_project=env["DOCKER_TEST_PROJECT"],
        docker_probe_image=env["DOCKER_PROBE_IMAGE"],
        state_dir=Path(env["LAKEHOUSE_STATE_DIR"]),
    )


def run_services(
    *args: str, timeout: float = UP_TIMEOUT_S, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``bash scripts/services.sh ARGS`` (``env`` added to the environment) and return the
    completed process (output captured). The exporter service runs on this interpreter unless
    ``LAKEHOUSE_PYTHON`` says otherwise."""
    return subprocess.run(
        ["bash", str(SERVICES_SH), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env={"LAKEHOUSE_PYTHON": sys.executable, **os.environ, **(env or {})},
    )


def _describe(proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr (tail) ---\n{proc.stderr[-6000:]}"
    )


def down_services(*services: str) -> list[str]:
    """Names of the given services (all when empty) that ``services.sh status`` reports DOWN."""
    proc = run_services("status", *services, timeout=120)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.split()[1:2] == ["DOWN"]]


def ensure_stack_up(*services: str) -> None:
    """Start the services (all when empty) unless they already answer; pytest.fail otherwise."""
    if not down_services(*services):
        return
    proc = run_services("up", *services)
    if proc.returncode != 0:
        pytest.fail(f"scripts/services.sh up {' '.join(services)} failed: {_describe(proc)}", pytrace=False)
    still_down = down_services(*services)
    if still_down:
        pytest.fail(f"services still down after services.sh up: {still_down}", pytrace=False)


def stop_service(name: str, *, kill: bool = False) -> None:
    """Stop one service started by services.sh (SIGKILL when ``kill``) and check it is DOWN.

    Fails the test when the service was not started by services.sh (no pid file): an outage
    test must not silently run against a service it could not stop.
    """
    assert name in SERVICES, name
    if kill:
        pid_file = stack_endpoints().state_dir / "run" / f"{name}.pid"
        if not pid_file.exists():
            pytest.fail(f"{name} was not started by services.sh ({pid_file} missing): cannot kill it")
        pid = int(pid_file.read_text().split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
    else:
        proc = run_services("down", name, timeout=180)
        if proc.returncode != 0:
            pytest.fail(f"services.sh down {name} failed: {_describe(proc)}", pytrace=False)
    if name not in down_services(name):
        pytest.fail(f"{name} still answers after stopping it (not started by services.sh?)", pytrace=False)


def start_service(name: str) -> None:
    """Start one service again (``services.sh up NAME``) and wait until it answers."""
    assert name in SERVICES, name
    proc = run_services("up", name)
    if proc.returncode != 0 or down_services(name):
        pytest.fail(f"services.sh up {name} failed: {_describe(proc)}", pytrace=False)


@contextlib.contextmanager
def service_outage(name: str, *, kill: bool = False) -> Iterator[None]:
    """Context manager: the service is down inside the block and started again afterwards."""
    stop_service(name, kill=kill)
    try:
        yield
    finally:
        start_service(name)


def commits_since(client: NessieClient, ref: str, before: str) -> list[CommitInfo]:
    """The commits of ``ref`` newer than the commit ``before`` (newest first, at most 50)."""
    new_commits = []
    for commit in client.commit_log(ref, limit=50):
        if commit.hash == before:
            break
        new_commits.append(commit)
    return new_commits


def make_stack_settings(endpoints: StackEndpoints, data_dir: Path, **overrides: Any) -> LakehouseSettings:
    """LakehouseSettings(mode="stack") pointing at the running services, data under ``data_dir``."""
    values: dict[str, Any] = {
        "mode": "stack",
        "data_dir": data_dir,
        "orders": 1000,
        "seed": 42,
        "nessie": NessieSettings(url=endpoints.nessie_url),
        "minio": MinioSettings(
            endpoint=endpoints.minio_endpoint,
            access_key=endpoints.minio_access_key,
            secret_key=endpoints.minio_secret_key,  # type: ignore[arg-type]
            region=endpoints.minio_region,
        ),
        "postgres": PostgresSettings(
            host=endpoints.postgres_host,
            port=endpoints.postgres_port,
            user=endpoints.postgres_user,
            password=endpoints.postgres_password,  # type: ignore[arg-type]
        ),
        "prometheus": PrometheusSettings(url=endpoints.prometheus_url, exporter_port=endpoints.exporter_port),
        "tui": TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0),
    }
    values.update(overrides)
    return LakehouseSettings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.contextmanager
def run_probe_container(service: str = "probe", **run_kwargs: Any) -> Iterator[Any]:
    """Run the probe image as a container of compose project ``lakehouse-test``; remove it after.

    The container is labelled ``com.docker.compose.project=lakehouse-test`` and
    ``com.docker.compose.service=<service>``, publishes 8080 on a free 127.0.0.1 port and is
    removed (force) on exit. Yields the docker SDK ``Container``.
    """
    import docker

    endpoints = stack_endpoints()
    client = docker.from_env(timeout=30)
    labels = {
        "com.docker.compose.project": endpoints.docker_project,
        "com.docker.compose.service": service,
    }
    kwargs: dict[str, Any] = {"detach": True, "labels": labels, "ports": {"8080/tcp": ("127.0.0.1", None)}}
    kwargs.update(run_kwargs)
    container = client.containers.run(endpoints.docker_probe_image, **kwargs)
    try:
        yield container
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
        client.close()


def wait_container_health(container: Any, expected: str = "healthy", timeout: float = 60.0) -> str:
    """Poll the container's health status until it equals ``expected`` (bounded); return it."""
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        container.reload()
        status = container.attrs.get("State", {}).get("Health", {}).get("Status", "")
        if status == expected:
            return status
        time.sleep(0.5)
    return status


# ------------------------------------------------------------------------------------------ fixtures
from tests.stack.compose_platform import compose_stack  # noqa: E402, F401 - the offline Compose stack, one per session


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test collected under tests/stack/ with ``stack``."""
    for item in items:
        if STACK_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session", autouse=True)
def stack() -> StackEndpoints:
    """All services up (started once if needed); their endpoints and credentials."""
    ensure_stack_up()
    return stack_endpoints()


@pytest.fixture()
def stack_settings(stack: StackEndpoints, tmp_path: Path) -> LakehouseSettings:
    """Stack-mode settings for the running services, with a fresh temp data dir."""
    return make_stack_settings(stack, tmp_path / "data")


@pytest.fixture()
def probe_container(stack: StackEndpoints) -> Iterator[Any]:
    """A running, healthy probe container of project ``lakehouse-test`` (removed afterwards)."""
    with run_probe_container() as container:
        status = wait_container_health(container)
        assert status == "healthy", f"probe container never became healthy (last status {status!r})"
        yield container


SPARK_MASTER_UI = "http://127.0.0.1:8090"  # scripts/services/spark.sh


@pytest.fixture(scope="session")
def spark_cluster(stack: StackEndpoints) -> None:
    """The standalone Spark cluster (master, two workers, Connect server) is up."""
    ensure_stack_up("spark")


@pytest.fixture
def branch(stack: StackEndpoints, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh Nessie branch name for the test (``test-<module>-<hex>``), deleted afterwards."""
    import uuid

    from lakehouse_core.backends.stack.nessie import NessieClient
    from lakehouse_core.errors import NotFoundError

    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    name = f"test-{module}-{uuid.uuid4().hex[:10]}"
    yield name
    client = NessieClient(make_stack_settings(stack, Path("/nonexistent")))
    with contextlib.suppress(NotFoundError):
        client.delete_ref(name)
