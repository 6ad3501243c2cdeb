"""SVG snapshots of the screens not covered elsewhere at both sizes: the Catalog with a table's
snapshots, the Runs screen, help, each at 80×24 and 160×48 with data, and the Runs screen empty.

(The Overview, Report, SQL, compare view, Metrics and Nessie refs screens have theirs in
test_report_snapshots, test_sql_snapshots, test_metrics_snapshots and test_snapshots.)"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lakehouse_core.errors import NotFoundError
from lakehouse_core.models import AuditCheck, PublishPreview, RunInfo, RunTable, TableDelta
from tests.tui.conftest import make_settings
from tests.tui.fakes import make_fake_backend
from tests.tui.test_snapshots import steps
from tui.app import LakehouseApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
T0 = datetime(2026, 11, 30, 21, 4, 5, tzinfo=UTC)
AUDITS = (
    AuditCheck("counts reconcile", True, "raw = bronze = valid + quarantined: 5,000 = 4,990 + 10"),
    AuditCheck("keys", True, "order_id not null and unique"),
    AuditCheck("revenue", True, "silver revenue = gold revenue"),
    AuditCheck("same run", True, "every table from run 20261130-210405-a1"),
)
TABLES = (RunTable("bronze.orders", 4_990, 3003), RunTable("gold.daily_sales", 365, 3010))


class FakeRunControl:
    """Three runs: the published phase-1 run, an audited one waiting, and a failed phase 2."""

    def __init__(self, runs: list[RunInfo]) -> None:
        self.runs = runs

    def list_runs(self) -> list[RunInfo]:
        return list(self.runs)

    def run(self, run_id: str) -> RunInfo:
        for info in self.runs:
            if info.run_id == run_id:
                return info
        raise NotFoundError(f"no run {run_id!r}")

    def preview(self, run_id: str) -> PublishPreview:
        info = self.run(run_id)
        deltas = tuple(TableDelta(t.table, t.rows - 10, t.rows) for t in info.tables)
        return PublishPreview(run_id, info.phase, deltas, info.state == "audited")

    def publish(self, run_id: str) -> RunInfo:
        raise NotImplementedError

    def discard(self, run_id: str) -> RunInfo:
        raise NotImplementedError


def runs() -> list[RunInfo]:
    return [
        RunInfo("20261130-220000-c3", 2, "failed", T0.replace(hour=22), T0.replace(hour=22, minute=1),
                error="minio is unavailable: connection refused", source_run="20261130-213000-b2"),
        RunInfo("20261130-213000-b2", 1, "audited", T0.replace(minute=30), T0.replace(minute=31),
                AUDITS, TABLES),
        RunInfo("20261130-210405-a1", 1, "published", T0, T0.replace(minute=5), AUDITS, TABLES,
                published=True),
    ]


def app_for(tmp_path: Path, run_list: list[RunInfo]) -> LakehouseApp:
    backend = dataclasses.replace(make_fake_backend(orders=2_000, chunk=500), runs=FakeRunControl(run_list))
    return LakehouseApp(backend, make_settings(tmp_path))


@pytest.mark.parametrize("size", SIZES)
def test_catalog_with_a_tables_snapshots(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    keys = ("f2", "down", "enter", "down", "down", "enter")
    assert snap_compare(app_for(tmp_path, runs()), terminal_size=size, run_before=steps(*keys))


@pytest.mark.parametrize("size", SIZES)
def test_runs_with_an_audited_run_selected(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(app_for(tmp_path, runs()), terminal_size=size, run_before=steps("w", "down"))


def test_runs_empty(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(app_for(tmp_path, []), terminal_size=(80, 24), run_before=steps("w"))


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(app_for(tmp_path, runs()), terminal_size=size, run_before=steps("question_mark"))
