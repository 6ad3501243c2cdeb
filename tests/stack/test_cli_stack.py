"""Every CLI command in stack mode against the real services (Nessie, MinIO, Postgres, Prometheus)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse_core.cli import main
from lakehouse_core.ports import Backend


@pytest.fixture()
def stack_env(stack_lakehouse: Backend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    settings = stack_lakehouse.phases.settings  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    env = {
        "LAKEHOUSE_MODE": "stack",
        "LAKEHOUSE_DATA_DIR": str(settings.data_path),
        "LAKEHOUSE_NESSIE__URL": settings.nessie.url,
        "LAKEHOUSE_NESSIE__REF": settings.nessie.ref,
        "LAKEHOUSE_MINIO__ENDPOINT": settings.minio.endpoint,
        "LAKEHOUSE_MINIO__ACCESS_KEY": settings.minio.access_key,
        "LAKEHOUSE_MINIO__SECRET_KEY": settings.minio.secret_key.get_secret_value(),
        "LAKEHOUSE_PROMETHEUS__URL": settings.prometheus.url,
        "LAKEHOUSE_DREMIO__ENABLED": "false",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Path(settings.data_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_json_in_stack_mode(stack_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json", "status")
    assert code == 0
    payload = json.loads(out)
    states = {s["name"]: s for s in payload["services"]}
    assert payload["mode"] == "stack"
    assert states["nessie"]["state"] == states["minio"]["state"] == states["postgres"]["state"] == "up"
    assert states["dremio"]["state"] == "down" and "refused" in states["dremio"]["last_error"]
    code, _, _ = run(capsys, "status", "--strict")
    assert code == 3  # dremio, spark, airflow... are not running here


def test_tables_snapshots_sql_in_stack_mode(stack_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json", "tables")
    assert code == 0
    tables = {t["table"]: t for t in json.loads(out)}
    assert len(tables) == 8 and tables["bronze.orders"]["rows"] == 5000
    assert tables["bronze.orders"]["partitioning"] == "day(order_date)"

    code, out, _ = run(capsys, "--json", "snapshots", "bronze.orders")
    snaps = json.loads(out)
    assert code == 0 and snaps[-1]["summary"]["total-records"] == "5000"

    code, out, _ = run(capsys, "--json", "sql", "SELECT COUNT(*) AS n FROM bronze.orders")
    result = json.loads(out)
    assert code == 0 and result["rows"] == [[5000]] and "fallback" in result["engine"]

    code, _, err = run(capsys, "sql", "SELECT nope FROM bronze.orders")
    assert code == 1 and "nope" in err


def test_phases_3_and_4_in_stack_mode(stack_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json", "-q", "phase", "3")
    assert code == 0
    p3 = json.loads(out)
    assert p3["ok"] and len(p3["outputs"]["top_customers"]["rows"]) == 10
    code, out, _ = run(capsys, "--json", "-q", "phase", "4")
    assert code == 0
    assert json.loads(out)["outputs"]["alerts"][0]["name"] == "HighMemoryUsage"


def test_dead_nessie_is_a_clear_unavailable_error(
    stack_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAKEHOUSE_NESSIE__URL", "http://127.0.0.1:9")
    code, _, err = run(capsys, "tables")
    assert code == 3
    assert "nessie" in err.lower() and "refused" in err
