"""Stack mode's endpoints and credentials from the Compose stack's ``.env``.

Used only when ``mode = stack`` and ``docker.stack_source = compose``: then every setting that no
other source gives (init arguments, ``LAKEHOUSE_*`` variables, the project's ``.env``,
``lakehouse.toml``) is taken from the stack's env file (``docker.env_file``, default
``<compose dir>/.env``): the services' URLs on ``BIND_ADDRESS`` and the platform's ports (each
overridable by an optional ``<SERVICE>_PORT`` key), the credentials the stack was created with, and
the data dir the containers share (``LAKEHOUSE_DATA_VOLUME`` when it is a host directory).
A missing ``.env`` changes nothing (``lakehouse stack env`` writes it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lakehouse_core.compose.env import ENV_NAME, read_env

logger = logging.getLogger(__name__)

DEFAULT_COMPOSE_FILE = Path("compose/docker-compose.yml")
PORTS: Mapping[str, int] = {
    "nessie": 19120,
    "minio": 9000,
    "postgres": 5432,
    "prometheus": 9090,
    "airflow": 8081,
    "spark_ui": 8080,
    "spark_master": 7077,
    "dremio": 9047,
    "grafana": 3000,
    "jupyter": 8888,
    "exporter": 9108,
}
"""The platform's published ports (the Compose file's defaults)."""
LOOPBACK = "127.0.0.1"
CONTAINER_DATA_DIR = "/opt/lakehouse/data"
"""Where the stack's containers (Airflow, Spark, the exporter, Jupyter) mount the data volume."""
DATA_VOLUME = "LAKEHOUSE_DATA_VOLUME"
"""The ``.env`` key naming that volume: a named volume (default), or a host directory (a bind mount):
then it is stack mode's ``data_dir`` too, so the Airflow containers' phase-1 runs land in it."""


def settings_from_compose_env(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Nested settings values (``{"minio": {"endpoint": ...}}``) from the keys of a Compose ``.env``;
    a credential whose key is missing or empty is left out."""
    host = (env.get("BIND_ADDRESS") or LOOPBACK).strip()
    if host in ("0.0.0.0", "::", ""):  # bound on every address: reach it on loopback
        host = LOOPBACK

    def port(name: str) -> int:
        return int(env.get(f"{name.upper()}_PORT") or PORTS[name])

    def url(name: str) -> str:
        return f"http://{host}:{port(name)}"

    def keys(**mapping: str) -> dict[str, str]:
        return {field: env[key] for field, key in mapping.items() if env.get(key)}

    return {
        "nessie": {"url": url("nessie")},
        "minio": {"endpoint": url("minio")}
        | keys(
            access_key="MINIO_ROOT_USER", secret_key="MINIO_ROOT_PASSWORD", warehouse_bucket="MINIO_BUCKET"
        ),
        "postgres": {"host": host, "port": port("postgres")}
        | keys(user="POSTGRES_USER", password="POSTGRES_PASSWORD", database="POSTGRES_DB"),
        "prometheus": {"url": url("prometheus"), "exporter_url": url("exporter")},
        "airflow": {"url": url("airflow"), "data_dir": CONTAINER_DATA_DIR}
        | keys(user="AIRFLOW_ADMIN_USER", password="AIRFLOW_ADMIN_PASSWORD"),
        "spark": {"master_url": f"spark://{host}:{port('spark_master')}", "ui_url": url("spark_ui")},
        "dremio": {"url": url("dremio")} | keys(user="DREMIO_USER", password="DREMIO_PASSWORD"),
        "grafana": {"url": url("grafana")},
        "jupyter": {"url": url("jupyter")},
        "docker": keys(compose_project="COMPOSE_PROJECT_NAME"),
    }


def _as_dict(value: Any) -> dict[str, Any] | None:
    """A section's raw value as a dict; None when it is a model instance (given whole: left alone)."""
    if value is None:
        return {}
    return dict(value) if isinstance(value, Mapping) else None


def fill_from_compose_env(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (the raw values of every settings source) with what it lacks taken from the Compose
    ``.env``, when ``mode`` is stack and ``docker.stack_source`` is compose; else ``data`` as is."""
    docker_raw: Any = data.get("docker")
    docker = _as_dict(docker_raw)
    if docker is None:  # a DockerSettings instance
        docker = dict(docker_raw.model_dump())
    if str(data.get("mode", "")) != "stack" or docker.get("stack_source") != "compose":
        return data
    env_file = docker.get("env_file")
    compose_file = Path(docker.get("compose_file") or DEFAULT_COMPOSE_FILE).expanduser()
    env_path = Path(env_file).expanduser() if env_file else compose_file.parent / ENV_NAME
    if not env_path.is_file():
        logger.info("stack_source is compose but %s does not exist: settings keep their defaults", env_path)
        return data
    env = read_env(env_path)
    out = dict(data)
    volume = env.get(DATA_VOLUME, "")
    if volume.startswith("/") and out.get("data_dir") in (None, ""):
        out["data_dir"] = volume
    for section, values in settings_from_compose_env(env).items():
        current = _as_dict(out.get(section))
        if current is None:
            continue
        out[section] = {**values, **current}
    return out
