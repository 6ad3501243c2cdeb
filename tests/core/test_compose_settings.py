"""Stack mode's endpoints and credentials from the Compose stack's .env (docker.stack_source=compose):
below LAKEHOUSE_* variables and init arguments, above the defaults; only in stack mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse_core.backends.stack.registry import service_specs
from lakehouse_core.compose.project import project_from_settings
from lakehouse_core.compose.settings_env import settings_from_compose_env
from lakehouse_core.settings import DockerSettings, LakehouseSettings, NessieSettings

ENV = """\
COMPOSE_PROJECT_NAME=lh
BIND_ADDRESS=127.0.0.7
POSTGRES_USER=pg
POSTGRES_PASSWORD=pg-secret
POSTGRES_DB=nessie
MINIO_ROOT_USER=root
MINIO_ROOT_PASSWORD=minio-secret
MINIO_BUCKET=wh
AIRFLOW_ADMIN_USER=af
AIRFLOW_ADMIN_PASSWORD=af-secret
DREMIO_USER=dr
DREMIO_PASSWORD=dr-secret
NESSIE_PORT=29120
"""


@pytest.fixture
def compose_file(tmp_path: Path) -> Path:
    (tmp_path / ".env").write_text(ENV)
    return tmp_path / "docker-compose.yml"


def load(monkeypatch: pytest.MonkeyPatch, compose_file: Path, **env: str) -> LakehouseSettings:
    for key in [k for k in __import__("os").environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LAKEHOUSE_DOCKER__COMPOSE_FILE", str(compose_file))
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(compose_file.parent / "none.toml"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return LakehouseSettings(_env_file=None)  # type: ignore[call-arg]


def test_mapping_of_every_key() -> None:
    values = settings_from_compose_env(dict(line.split("=", 1) for line in ENV.splitlines()))
    assert values["nessie"] == {"url": "http://127.0.0.7:29120"}
    assert values["minio"] == {
        "endpoint": "http://127.0.0.7:9000",
        "access_key": "root",
        "secret_key": "minio-secret",
        "warehouse_bucket": "wh",
    }
    assert values["postgres"] == {
        "host": "127.0.0.7",
        "port": 5432,
        "user": "pg",
        "password": "pg-secret",
        "database": "nessie",
    }
    assert values["airflow"] == {
        "url": "http://127.0.0.7:8081", "data_dir": "/opt/lakehouse/data", "user": "af",
        "password": "af-secret",
    }
    assert values["spark"] == {"master_url": "spark://127.0.0.7:7077", "ui_url": "http://127.0.0.7:8080"}
    assert values["dremio"] == {"url": "http://127.0.0.7:9047", "user": "dr", "password": "dr-secret"}
    assert values["prometheus"] == {"url": "http://127.0.0.7:9090", "exporter_url": "http://127.0.0.7:9108"}
    assert values["grafana"]["url"] == "http://127.0.0.7:3000"
    assert values["jupyter"]["url"] == "http://127.0.0.7:8888"
    assert values["docker"] == {"compose_project": "lh"}


def test_wildcard_bind_address_and_empty_secrets() -> None:
    values = settings_from_compose_env({"BIND_ADDRESS": "0.0.0.0", "MINIO_ROOT_PASSWORD": ""})
    assert values["minio"] == {"endpoint": "http://127.0.0.1:9000"}  # an empty secret is not a password
    assert values["postgres"] == {"host": "127.0.0.1", "port": 5432}


def test_stack_mode_with_compose_source_reads_the_env(
    monkeypatch: pytest.MonkeyPatch, compose_file: Path
) -> None:
    s = load(monkeypatch, compose_file, LAKEHOUSE_MODE="stack", LAKEHOUSE_DOCKER__STACK_SOURCE="compose")
    assert s.minio.endpoint == "http://127.0.0.7:9000"
    assert s.minio.secret_key.get_secret_value() == "minio-secret"
    assert s.postgres.password.get_secret_value() == "pg-secret" and s.postgres.host == "127.0.0.7"
    assert s.airflow.url == "http://127.0.0.7:8081" and s.airflow.password.get_secret_value() == "af-secret"
    assert s.dremio.user == "dr" and s.nessie.url == "http://127.0.0.7:29120"
    assert s.docker.compose_project == "lh" and s.nessie.ref == "main"  # untouched fields keep defaults


def test_lakehouse_variables_and_init_arguments_win(
    monkeypatch: pytest.MonkeyPatch, compose_file: Path
) -> None:
    s = load(
        monkeypatch,
        compose_file,
        LAKEHOUSE_MODE="stack",
        LAKEHOUSE_DOCKER__STACK_SOURCE="compose",
        LAKEHOUSE_MINIO__ENDPOINT="http://127.0.0.1:9999",
    )
    assert s.minio.endpoint == "http://127.0.0.1:9999" and s.minio.access_key == "root"
    monkeypatch.delenv("LAKEHOUSE_MINIO__ENDPOINT")
    s = LakehouseSettings(  # type: ignore[call-arg]
        _env_file=None,
        mode="stack",
        nessie=NessieSettings(url="http://x:1"),
        docker=DockerSettings(compose_file=compose_file, stack_source="compose"),
    )
    assert s.nessie.url == "http://x:1"  # a section given whole is left alone
    assert s.minio.endpoint == "http://127.0.0.7:9000"
    assert s.docker.compose_project == "lakehouse"  # the docker section was given whole too


@pytest.mark.parametrize(
    "env",
    [
        {"LAKEHOUSE_MODE": "embedded", "LAKEHOUSE_DOCKER__STACK_SOURCE": "compose"},
        {"LAKEHOUSE_MODE": "stack"},  # stack_source defaults to services
    ],
)
def test_other_modes_and_sources_ignore_the_env(
    monkeypatch: pytest.MonkeyPatch, compose_file: Path, env: dict[str, str]
) -> None:
    s = load(monkeypatch, compose_file, **env)
    assert (
        s.minio.endpoint == "http://127.0.0.1:9000" and s.postgres.password.get_secret_value() == "admin123"
    )


def test_missing_env_file_changes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = load(
        monkeypatch,
        tmp_path / "none" / "docker-compose.yml",
        LAKEHOUSE_MODE="stack",
        LAKEHOUSE_DOCKER__STACK_SOURCE="compose",
    )
    assert s.minio.endpoint == "http://127.0.0.1:9000"


def test_compose_files_from_a_comma_list_or_json(monkeypatch: pytest.MonkeyPatch, compose_file: Path) -> None:
    s = load(monkeypatch, compose_file, LAKEHOUSE_DOCKER__COMPOSE_FILES="compose/offline.yml, b.yml")
    assert s.docker.compose_files == [Path("compose/offline.yml"), Path("b.yml")]
    s = load(monkeypatch, compose_file, LAKEHOUSE_DOCKER__COMPOSE_FILES='["a.yml"]')
    assert s.docker.all_compose_files == [compose_file, Path("a.yml")]


def test_an_env_file_elsewhere_and_a_host_data_volume(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``docker.env_file`` is read instead of ``<compose dir>/.env``; a host directory as
    LAKEHOUSE_DATA_VOLUME is the data dir (unless one is given), and the exporter row probes the
    stack's published exporter."""
    env_file = tmp_path / "elsewhere" / "stack.env"
    env_file.parent.mkdir()
    env_file.write_text(ENV + f"LAKEHOUSE_DATA_VOLUME={tmp_path / 'shared'}\n")
    compose_file = tmp_path / "compose" / "docker-compose.yml"  # no .env next to it
    s = load(monkeypatch, compose_file, LAKEHOUSE_MODE="stack", LAKEHOUSE_DOCKER__STACK_SOURCE="compose",
             LAKEHOUSE_DOCKER__ENV_FILE=str(env_file))
    assert s.docker.compose_env_file == env_file
    assert s.minio.endpoint == "http://127.0.0.7:9000" and s.data_dir == tmp_path / "shared"
    assert s.airflow.data_dir == "/opt/lakehouse/data"
    assert s.prometheus.exporter_url == "http://127.0.0.7:9108"
    assert project_from_settings(s.docker).env_file == env_file
    exporter = next(spec for spec in service_specs(s) if spec.name == "exporter")
    assert exporter.url == "http://127.0.0.7:9108/metrics"
    given = load(monkeypatch, compose_file, LAKEHOUSE_MODE="stack", LAKEHOUSE_DOCKER__STACK_SOURCE="compose",
                 LAKEHOUSE_DOCKER__ENV_FILE=str(env_file), LAKEHOUSE_DATA_DIR=str(tmp_path / "mine"))
    assert given.data_dir == tmp_path / "mine"
    default = load(monkeypatch, compose_file, LAKEHOUSE_MODE="stack")
    assert default.docker.compose_env_file == compose_file.parent / ".env"
    assert default.airflow.data_dir is None and default.prometheus.exporter_url is None
