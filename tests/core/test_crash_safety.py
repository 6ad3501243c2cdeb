"""Crash safety: SIGKILL at named points (``LAKEHOUSE_CRASH_AT``) of phases 1-2 and of ``publish``.

After each kill every reader (the published Parquet of phase 1, the Iceberg tables through the
embedded engine) sees exactly the old or the new state of the whole lakehouse, and a rerun completes
with the exact counts of the new state.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from lakehouse_core.backends.embedded import build_embedded
from lakehouse_core.paths import DataPaths
from lakehouse_core.runlog import RunManifests
from tests.core.crash_lab import NEW_ORDERS, CrashLab, Seen, lakehouse, seen, settings_for

pytestmark = pytest.mark.slow

PHASE1_POINTS = [
    "phase1.after_generate_sample_data",
    "phase1.after_ingest_to_bronze",
    "phase1.after_transform_to_silver",
    "phase1.after_generate_report",
    "phase1.after_audit_outputs",
    "phase1.publish.before_switch",
    "phase1.publish.symlink_made",
    "phase1.publish.after_switch",
    "phase1.publish.after_manifest",
]
PHASE2_POINTS = [
    "phase2.after_check_source",
    "phase2.staged.bronze.customers",
    "phase2.staged.silver.orders_enriched",
    "phase2.staged.gold.regional_sales",
    "phase2.after_staging",
    "phase2.after_audit_tables",
    "phase2.publish.in_transaction",
    "phase2.publish.before_manifest",
]
PUBLISH2_POINTS = ["phase2.publish.in_transaction", "phase2.publish.before_manifest"]
PUBLISH1_POINTS = ["phase1.publish.symlink_made", "phase1.publish.after_switch"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashLab]:
    lab = CrashLab(tmp_path_factory.mktemp("crash"))
    lab.build()
    assert lab.old is not None and lab.new is not None
    assert lab.old.parquet != lab.new.parquet and lab.old.iceberg != lab.new.iceberg
    yield lab


def _killed(lab: CrashLab, *args: str, crash_at: str, **env: str) -> None:
    proc = lakehouse(lab.data, *args, crash_at=crash_at, **env)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr[-2000:])


def _whole(lab: CrashLab, now: Seen) -> None:
    """Parquet and Iceberg are each all-old or all-new, and every Iceberg table comes from one run."""
    assert lab.old is not None and lab.new is not None
    assert now.parquet in (lab.old.parquet, lab.new.parquet)
    assert now.iceberg in (lab.old.iceberg, lab.new.iceberg)
    assert len(now.iceberg_runs) == 1 and len(now.iceberg_sources) == 1


def _rerun(lab: CrashLab, phase: int) -> None:
    backend = build_embedded(settings_for(lab.data, NEW_ORDERS))
    result = backend.phases.run(phase)
    assert result.ok


@pytest.mark.parametrize("point", PHASE1_POINTS)
def test_kill_during_phase1(lab: CrashLab, point: str) -> None:
    lab.restore("old")
    _killed(lab, "phase", "1", crash_at=point)
    now = seen(lab.data)
    _whole(lab, now)
    assert now.iceberg == lab.old.iceberg  # type: ignore[union-attr]
    _rerun(lab, 1)
    assert seen(lab.data).parquet == lab.new.parquet  # type: ignore[union-attr]
    states = {m["run_id"]: m["state"] for m in RunManifests(DataPaths(lab.data)).all()}
    assert "running" not in states.values()


def test_kill_of_the_phase1_child_process(lab: CrashLab) -> None:
    lab.restore("old")
    proc = lakehouse(
        lab.data, "phase", "1", crash_at="phase1.after_ingest_to_bronze", LAKEHOUSE_PHASE_ISOLATION="process"
    )
    assert proc.returncode == 1 and "SIGKILL" in proc.stderr
    now = seen(lab.data)
    assert now.parquet == lab.old.parquet  # type: ignore[union-attr]
    states = [m["state"] for m in RunManifests(DataPaths(lab.data)).all() if m["phase"] == 1]
    assert states[0] == "interrupted"


@pytest.mark.parametrize("point", PHASE2_POINTS)
def test_kill_during_phase2(lab: CrashLab, point: str) -> None:
    lab.restore("mid")
    _killed(lab, "phase", "2", crash_at=point)
    now = seen(lab.data)
    _whole(lab, now)
    assert now.parquet == lab.new.parquet  # type: ignore[union-attr]
    _rerun(lab, 2)
    assert seen(lab.data).iceberg == lab.new.iceberg  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("phase", "point"), [(2, p) for p in PUBLISH2_POINTS] + [(1, p) for p in PUBLISH1_POINTS]
)
def test_kill_during_publish_command(lab: CrashLab, phase: int, point: str) -> None:
    lab.restore("p2_waiting" if phase == 2 else "p1_waiting")
    run_id = lab.waiting_run()
    _killed(lab, "publish", run_id, crash_at=point)
    _whole(lab, seen(lab.data))
    again = lakehouse(lab.data, "publish", run_id)
    assert again.returncode == 0, again.stderr
    now = seen(lab.data)
    assert (now.iceberg if phase == 2 else now.parquet) == (
        lab.new.iceberg if phase == 2 else lab.new.parquet  # type: ignore[union-attr]
    )
    assert run_id in now.iceberg_runs or phase == 1
