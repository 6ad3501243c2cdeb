"""The offline Compose stack on the real engine, shared by the tests/stack/test_compose_*.py modules
that need it running: ONE bring-up per session (scripts/services/compose.sh up: artifacts, build,
`up --wait`), removed with its volumes at the end.

The project runs beside the script-started services: its own project name, its own env file (random
secrets) and its ports on 127.0.0.2 (same port numbers; the script services bind 127.0.0.1). Its data
volume is a host directory (LAKEHOUSE_DATA_VOLUME), so stack mode on this host shares the data dir of
the Airflow, Spark, Jupyter and exporter containers.

Opt-in: LAKEHOUSE_TEST_COMPOSE_STACK=1 (`make test-compose`). To iterate on a stack brought up by
hand (`compose.sh up` with the same variables), set LAKEHOUSE_TEST_COMPOSE_ENV_FILE to its env file:
the fixture then neither starts nor removes it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lakehouse_core.compose.env import ensure_env, read_env

REPO = Path(__file__).resolve().parents[2]
COMPOSE_SH = REPO / "scripts" / "services" / "compose.sh"
PROJECT = "lakehouse-platform-test"
BIND = "127.0.0.2"
UP_TIMEOUT_S = 2400.0
REUSE_ENV = "LAKEHOUSE_TEST_COMPOSE_ENV_FILE"

# Not in `make test`: a cold build of the offline images takes about half an hour here, and Docker's
# images do not survive between CI machines. With the images built, the bring-up takes about 3 minutes.
compose_only = [
    pytest.mark.skipif(
        os.environ.get("LAKEHOUSE_TEST_COMPOSE_STACK") != "1",
        reason="the offline Compose stack runs with `make test-compose` (LAKEHOUSE_TEST_COMPOSE_STACK=1)",
    ),
    pytest.mark.timeout(UP_TIMEOUT_S + 900),  # the first test's setup builds and starts the stack
]


def free_port_or(port: int) -> int:
    """``port`` if it can be bound on BIND (a listener on every address blocks it), else a free one."""
    with socket.socket() as probe:
        try:
            probe.bind((BIND, port))
            return port
        except OSError:
            probe.bind((BIND, 0))
            return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ComposeStack:
    env: dict[str, str]
    values: dict[str, str]

    @property
    def env_file(self) -> Path:
        return Path(self.env["COMPOSE_ENV_FILE"])

    @property
    def data_dir(self) -> Path:
        """The host directory the containers mount at /opt/lakehouse/data."""
        return Path(self.values["LAKEHOUSE_DATA_VOLUME"])

    def compose(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        command = ["docker", "compose", "-p", PROJECT, "--env-file", str(self.env_file)]
        command += [
            "-f",
            str(REPO / "compose" / "docker-compose.yml"),
            "-f",
            str(REPO / "compose" / "offline.yml"),
        ]
        result = subprocess.run(
            [*command, *args], capture_output=True, text=True, env=self.env, timeout=timeout
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def ps(self) -> dict[str, dict[str, Any]]:
        out = self.compose("ps", "-a", "--format", "json").stdout
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {row["Service"]: row for row in rows}

    def container(self, service: str) -> str:
        container = self.compose("ps", "-q", service).stdout.strip()
        assert container, f"no container of {service}"
        return container

    def url(self, port: int, path: str = "") -> str:
        return f"http://{BIND}:{port}{path}"


def _stack_env(env_file: Path) -> dict[str, str]:
    # the script services' credentials (scripts/services.env) must not reach Compose (compose.sh
    # unsets them too): Compose lets the environment win over --env-file
    base = {k: v for k, v in os.environ.items()
            if k not in ("POSTGRES_USER", "POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD")}
    return {
        **base,
        "COMPOSE_PROJECT": PROJECT,
        "COMPOSE_ENV_FILE": str(env_file),
        "BIND_ADDRESS": BIND,
        "SPARK_WORKER_CORES": "1",
        "SPARK_WORKER_MEMORY": "1g",
        "SPARK_CONNECT_PORT": str(free_port_or(15002)),
        "LAKEHOUSE_PYTHON": sys.executable,
    }


@pytest.fixture(scope="session")
def compose_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        env_file = Path(reuse)
        env = _stack_env(env_file)
        env["SPARK_CONNECT_PORT"] = "15002"
        yield ComposeStack(env=env, values=read_env(env_file))
        return
    directory = tmp_path_factory.mktemp("compose-stack")
    shutil.copy(REPO / "compose" / ".env.example", directory / ".env.example")
    env_file = ensure_env(directory)
    data = directory / "data"
    data.mkdir()
    # what stack mode reads: the ports' address, and the containers' data volume (this host dir)
    text = env_file.read_text(encoding="utf-8").replace("BIND_ADDRESS=127.0.0.1", f"BIND_ADDRESS={BIND}")
    env_file.write_text(text + f"LAKEHOUSE_DATA_VOLUME={data}\n", encoding="utf-8")
    env = _stack_env(env_file)
    stack = ComposeStack(env=env, values=read_env(env_file))
    started = time.monotonic()
    up = subprocess.run(
        ["bash", str(COMPOSE_SH), "up"], capture_output=True, text=True, env=env, timeout=UP_TIMEOUT_S
    )
    sys.stderr.write(f"compose stack up in {time.monotonic() - started:.0f}s\n{up.stderr[-3000:]}\n")
    try:
        assert up.returncode == 0, f"compose.sh up failed:\n{up.stderr[-6000:]}"
        yield stack
    finally:
        subprocess.run(
            ["bash", str(COMPOSE_SH), "down"], capture_output=True, text=True, env=env, timeout=600
        )


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1.0)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def get_json(url: str) -> Any:
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="session", name="stack")
def no_script_services() -> None:
    """Imported by the test_compose_*.py modules: overrides tests/stack/conftest.py's autouse ``stack``,
    so the Compose tests never start the script services (scripts/services.sh up) they do not use."""
