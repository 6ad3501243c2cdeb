"""``lakehouse branch|tag|merge|log`` in embedded mode: Iceberg refs of single tables, and the Nessie
features said to be Nessie's (stack mode) with exit 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lakehouse_core.cli import main
from tests.core.iceberg_fixtures import promoted


@pytest.fixture()
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LAKEHOUSE_LOG_FILE", str(tmp_path / "lakehouse.log"))
    root = tmp_path / "data"
    promoted(root)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_embedded_branch_and_tag_are_per_table(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = ("--data-dir", str(data))
    code, _, err = run(capsys, *d, "branch", "create", "audit")
    assert code == 2 and "branches belong to one Iceberg table: give --table T" in err
    code, out, _ = run(capsys, *d, "--json", "tag", "create", "v1", "--table", "bronze.orders")
    made = json.loads(out)
    assert code == 0 and (made["name"], made["kind"], made["table"]) == ("v1", "tag", "bronze.orders")
    code, _, err = run(capsys, *d, "tag", "create", "v0", "--table", "bronze.orders", "--snapshot", "123")
    assert code == 4 and "123" in err
    code, out, _ = run(capsys, *d, "--json", "tag", "list")
    assert [(r["name"], r["table"]) for r in json.loads(out)] == [("v1", "bronze.orders")]
    code, out, _ = run(capsys, *d, "tag")
    assert code == 0 and out.splitlines()[0] == "embedded mode: Iceberg tags of single tables"
    assert any(line.split()[:2] == ["v1", "bronze.orders"] for line in out.splitlines())
    code, out, _ = run(capsys, *d, "--json", "branch", "list")
    assert {r["table"] for r in json.loads(out)} >= {"bronze.orders", "gold.daily_sales"}  # each main
    assert {r["name"] for r in json.loads(out)} == {"main"}


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (("merge", "dev"), "merge"),
        (("log", "main"), "log"),
        (("branch", "delete", "x"), "branch delete"),
        (("tag", "delete", "v1"), "tag delete"),
    ],
)
def test_embedded_says_nessie_features_are_stack_mode(
    data: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], command: str
) -> None:
    code, out, err = run(capsys, "--data-dir", str(data), *argv)
    assert code == 2 and out == ""
    assert err.startswith(
        f"error: `lakehouse {command}` is a Nessie feature: run it in stack mode (--mode stack)"
    )


def test_log_limit_must_be_positive(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--data-dir", str(data), "log", "main", "--limit", "0")
    assert code == 2 and "--limit must be a positive number" in err
