"""The CLI as a new user types it (the real ``lakehouse`` in subprocesses): global options after the
command, usage errors (exit 2), read-only commands on a directory that is not a lakehouse (exit 4, nothing
created), ``sql --as-of`` with ISO times and before the first snapshot (exit 1, the query failed).
One line each, no traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.core.cli_helpers import cli_env, one_line, run

pytestmark = pytest.mark.slow
READERS = (["status"], ["tables"], ["snapshots", "bronze.orders"], ["sql", "SELECT 1"], ["runs"],
           ["maintain", "--dry-run"])


def _clean(err: str) -> str:
    assert "Traceback" not in err and 'File "' not in err, err
    return one_line(err)


@pytest.fixture(scope="module")
def lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """Phases 1 and 2 on 300 orders, every global option given AFTER the command."""
    tmp = tmp_path_factory.mktemp("cli-ergonomics")
    env, data = cli_env(tmp), tmp / "data"
    for phase in ("1", "2"):
        code, out, err = run(env, "phase", phase, "--data-dir", str(data), "--orders", "300", "-q", "--json")
        assert code == 0, err
        assert json.loads(out)["phase"] == int(phase)
    yield env, data


def test_global_options_after_the_command(lakehouse: tuple[dict[str, str], Path]) -> None:
    env, data = lakehouse
    before = run(env, "--json", "--data-dir", str(data), "tables")
    after = run(env, "tables", "--json", "--data-dir", str(data))
    assert before[0] == after[0] == 0, (before, after)
    assert before[1] == after[1]
    assert {t["table"] for t in json.loads(after[1])} >= {"bronze.orders", "gold.daily_sales"}
    code, out, err = run(env, "sql", "SELECT count(*) AS n FROM bronze.orders", "--json", "--data-dir",
                         str(data), "--mode", "embedded", "-q")
    assert code == 0, err
    assert json.loads(out)["rows"] == [[300]]


def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    for argv, expected in (
        (["sql", "SELECT 1", "--limit", "-1"],
         "error: argument --limit: must be 0 or more, got -1 (see `lakehouse sql --help`)"),
        (["sql", "SELECT 1", "--limit", "ten"],
         "error: argument --limit: not a whole number: 'ten' (see `lakehouse sql --help`)"),
        (["tables", "--mode", "cloud"],
         "error: argument --mode: invalid choice: 'cloud' (choose from 'embedded', 'stack') "
         "(see `lakehouse tables --help`)"),
        (["sql"], "error: the following arguments are required: query (see `lakehouse sql --help`)"),
        (["sql", "SELECT 1", "--as-of", "2020-13-01"],
         "error: argument --as-of: as-of '2020-13-01' is not a valid date or time (month must be in "
         "1..12); a ref of that name is ref:2020-13-01 (see `lakehouse sql --help`)"),
    ):
        code, out, err = run(env, "--data-dir", str(tmp_path / "never"), *argv)
        assert (code, out) == (2, ""), (argv, err)
        assert _clean(err) == expected
    assert not (tmp_path / "never").exists()


def test_read_only_commands_on_a_directory_that_is_not_a_lakehouse(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    typo, empty = tmp_path / "dta", tmp_path / "empty"
    empty.mkdir()
    for argv in READERS:
        code, out, err = run(env, *argv, "--data-dir", str(typo))
        assert (code, out) == (4, ""), (argv, err)
        assert _clean(err) == (
            f"error: data dir {typo} does not exist: check --data-dir, or create one with `lakehouse phase 1`"
        )
        code, _, err = run(env, "--data-dir", str(empty), *argv)
        assert code == 4, (argv, err)
        assert _clean(err) == (
            f"error: data dir {empty} is not a lakehouse (no raw/, runs/ or catalog.db): check --data-dir, "
            "or create one with `lakehouse phase 1`"
        )
    assert not typo.exists() and list(empty.iterdir()) == []  # nothing created by reading
    code, _, err = run(env, "generate", "--orders", "100", "--data-dir", str(typo), "-q")  # writers create
    assert code == 0, err
    code, out, err = run(env, "tables", "--json", "--data-dir", str(typo))
    assert (code, json.loads(out)) == (0, []), err
    assert not (typo / "catalog.db").exists()  # reading an empty lakehouse creates no catalog either


def test_sql_as_of_iso_times(lakehouse: tuple[dict[str, str], Path]) -> None:
    env, data = lakehouse
    code, out, err = run(env, "snapshots", "bronze.orders", "--json", "--data-dir", str(data))
    assert code == 0, err
    first = datetime.fromisoformat(json.loads(out)[0]["committed_at"])
    query = "SELECT count(*) AS n FROM bronze.orders"
    before = (first - timedelta(days=2)).astimezone(UTC).date().isoformat()
    code, out, err = run(env, "sql", query, "--as-of", before, "--data-dir", str(data))
    assert (code, out) == (1, ""), err  # the query failed: it reads a table that did not exist then
    assert _clean(err) == (
        f"error: no snapshot at or before {before}T00:00:00 in bronze.orders: "
        f"its first snapshot is from {first.isoformat(timespec='seconds')}"
    )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for as_of in (now, now.replace("+00:00", "")):  # aware or naive (= UTC)
        code, out, err = run(env, "sql", query, "--as-of", as_of, "--json", "--data-dir", str(data))
        assert code == 0, err
        assert json.loads(out)["rows"] == [[300]]
