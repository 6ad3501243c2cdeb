"""The headless CLI end to end on a temp data dir: exit codes, --json output, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse_core.cli import main


@pytest.fixture()
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in list(__import__("os").environ):
        if key.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(key)
    return tmp_path / "data"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_json(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json", "-q", "generate", "--orders", "500")
    assert code == 0
    payload = json.loads(out)
    assert payload["name"] == "generate_sample_data"
    assert sorted(p.name for p in (data / "raw").iterdir()) == ["customers.csv", "orders.csv", "products.csv"]
    assert sum(1 for _ in (data / "raw" / "orders.csv").open()) == 501


def test_bad_arguments_are_one_line_errors(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "generate", "--orders", "-5")
    assert code == 2 and err.strip().count("\n") == 0 and "--orders must be a positive number" in err
    code, _, err = run(capsys, "generate", "--defect-rate", "3")
    assert code == 2 and "between 0 and 1" in err
    with pytest.raises(SystemExit) as info:
        main(["phase", "9"])
    assert info.value.code == 2


def test_phase_without_raw_data_is_a_clear_failure(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data.mkdir(parents=True)
    code, _, err = run(capsys, "-q", "phase", "2")
    assert code == 1
    assert "phase 2 failed" in err


@pytest.mark.slow
def test_run_all_then_query_tables_snapshots_status(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json", "-q", "run", "--orders", "2000")
    assert code == 0
    phases = json.loads(out)
    assert [p["phase"] for p in phases] == [1, 2, 3, 4] and all(p["ok"] for p in phases)

    code, out, _ = run(capsys, "--json", "tables")
    tables = {t["table"]: t for t in json.loads(out)}
    assert tables["bronze.orders"]["rows"] == 2000
    assert tables["bronze.orders"]["partitioning"] == "day(order_date)"

    code, out, _ = run(capsys, "--json", "sql", "SELECT COUNT(*) AS n FROM bronze.orders")
    assert code == 0 and json.loads(out)["rows"] == [[2000]]

    code, out, _ = run(capsys, "--json", "snapshots", "bronze.orders")
    snaps = json.loads(out)
    assert snaps and snaps[-1]["summary"]["lakehouse.run-id"] == phases[1]["run_id"]

    code, out, _ = run(
        capsys, "--json", "sql", "SELECT COUNT(*) FROM bronze.orders", "--as-of", str(snaps[0]["snapshot_id"])
    )
    assert code == 0 and json.loads(out)["rows"] == [[2000]]

    code, _, err = run(capsys, "sql", "SELECT nope FROM bronze.orders")
    assert code == 1 and "nope" in err

    code, _, err = run(capsys, "snapshots", "bronze.missing")
    assert code == 4 and "missing" in err
    code, _, err = run(capsys, "snapshots", "nonamespace")
    assert code == 2

    code, out, _ = run(capsys, "--json", "status")
    status = json.loads(out)
    assert status["mode"] == "embedded"
    assert {s["name"]: s["state"] for s in status["services"]}["duckdb"] == "up"
