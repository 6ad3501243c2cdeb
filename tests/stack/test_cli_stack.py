"""Every CLI command in stack mode against the real services (Nessie, MinIO, Postgres, Prometheus)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse_core.cli import main
from lakehouse_core.ports import Backend
from tests.core.test_stack_status import closed_port


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


def test_status_strict_counts_only_the_services_of_this_stack(
    stack_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The services scripts/services.sh runs are up, the others are not configured: --strict exits 0.
    A configured Dremio that does not answer is down (exit 3); disabling it takes it out of the count."""
    monkeypatch.delenv("LAKEHOUSE_DREMIO__ENABLED")
    code, out, err = run(capsys, "status", "--json", "--strict")
    assert code == 0, (out, err)
    payload = json.loads(out)
    states = {s["name"]: s["state"] for s in payload["services"]}
    assert payload["mode"] == "stack"
    assert states == {
        "postgres": "up", "minio": "up", "nessie": "up", "prometheus": "up", "docker": "up",
        "exporter": "up",
        "spark": "not configured", "dremio": "not configured", "airflow": "not configured",
        "grafana": "not configured", "jupyter": "not configured",
    }
    monkeypatch.setenv("LAKEHOUSE_DREMIO__URL", f"http://127.0.0.1:{closed_port()}")
    code, out, _ = run(capsys, "status", "--json", "--strict")
    dremio = next(s for s in json.loads(out)["services"] if s["name"] == "dremio")
    assert (code, dremio["state"]) == (3, "down") and "refused" in dremio["last_error"]
    monkeypatch.setenv("LAKEHOUSE_DREMIO__ENABLED", "false")
    code, out, _ = run(capsys, "status", "--strict")
    assert code == 0
    line = next(line for line in out.splitlines() if "dremio" in line)
    assert "disabled" in line and "down" not in line


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
