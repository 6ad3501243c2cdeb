"""compose/.env: random secrets on first use, never rewritten, never a default password."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from lakehouse_core.compose.env import ensure_env, is_secret, read_env
from lakehouse_core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "compose" / ".env.example"


@pytest.fixture
def compose_dir(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLE, tmp_path / ".env.example")
    return tmp_path


def test_the_committed_example_holds_no_secret() -> None:
    values = read_env(EXAMPLE)
    secrets = {key: value for key, value in values.items() if is_secret(key)}
    assert {"POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "AIRFLOW_ADMIN_PASSWORD"} <= set(secrets)
    assert all(value == "" for value in secrets.values()), secrets


def test_first_use_fills_every_secret_with_a_distinct_random_value(compose_dir: Path) -> None:
    env = read_env(ensure_env(compose_dir))
    secrets = [value for key, value in env.items() if is_secret(key)]
    assert all(len(value) >= 24 for value in secrets)
    assert len(set(secrets)) == len(secrets)
    assert env["MINIO_ROOT_USER"] == "minioadmin"
    assert stat.S_IMODE((compose_dir / ".env").stat().st_mode) == 0o600
    other = compose_dir / "other"
    other.mkdir()
    shutil.copy(EXAMPLE, other / ".env.example")
    assert read_env(ensure_env(other))["POSTGRES_PASSWORD"] != env["POSTGRES_PASSWORD"]


def test_existing_values_are_kept_and_new_keys_added(compose_dir: Path) -> None:
    target = ensure_env(compose_dir)
    first = read_env(target)
    target.write_text(target.read_text().replace(f"POSTGRES_PASSWORD={first['POSTGRES_PASSWORD']}",
                                                 "POSTGRES_PASSWORD=mine") + "MY_OWN=1\n")
    (compose_dir / ".env.example").write_text(EXAMPLE.read_text() + "NEW_SERVICE_TOKEN=\n")
    again = read_env(ensure_env(compose_dir))
    assert again["POSTGRES_PASSWORD"] == "mine"
    assert again["MINIO_ROOT_PASSWORD"] == first["MINIO_ROOT_PASSWORD"]
    assert again["MY_OWN"] == "1"
    assert len(again["NEW_SERVICE_TOKEN"]) >= 24


def test_a_second_call_changes_nothing(compose_dir: Path) -> None:
    target = ensure_env(compose_dir)
    before = target.read_bytes(), target.stat().st_mtime_ns
    ensure_env(compose_dir)
    assert (target.read_bytes(), target.stat().st_mtime_ns) == before


def test_missing_example_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="env.example is missing"):
        ensure_env(tmp_path)
