"""Stack-mode crash safety of phase 2: a run written on a Nessie branch ``run-<id>`` and merged into
the target in one commit. SIGKILL (``LAKEHOUSE_CRASH_AT``) while staging, before and after the
merge: readers of the target see every table from the old run or every table from the new one, and
a rerun (or ``lakehouse publish``) completes with exact counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.phases import StackPhaseRunner
from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
from lakehouse_core.iceberg.staging import published_rows, published_run
from lakehouse_core.settings import LakehouseSettings
from tests.stack.conftest import StackEndpoints, make_stack_settings

ROOT = str(Path(__file__).resolve().parents[2])


def _env(settings: LakehouseSettings, crash_at: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
        "LAKEHOUSE_MODE": "stack",
        "LAKEHOUSE_PHASE_ISOLATION": "thread",
        "LAKEHOUSE_ORDERS": str(settings.orders),
        "LAKEHOUSE_GENERATE": "always",  # the new run generates its own raw data (raw/ is not empty)
        "LAKEHOUSE_NESSIE__URL": settings.nessie.url,
        "LAKEHOUSE_NESSIE__REF": settings.nessie.ref,
        "LAKEHOUSE_MINIO__ENDPOINT": settings.minio.endpoint,
        "LAKEHOUSE_MINIO__ACCESS_KEY": settings.minio.access_key,
        "LAKEHOUSE_MINIO__SECRET_KEY": settings.minio.secret_key.get_secret_value(),
        "LAKEHOUSE_DREMIO__ENABLED": "false",
        "LAKEHOUSE_CRASH_AT": crash_at,
    }


def _lakehouse(
    settings: LakehouseSettings, *args: str, crash_at: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse_core.cli", "--data-dir", str(settings.data_dir), "-q", *args],
        env=_env(settings, crash_at),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    "point",
    [
        "phase2.staged.bronze.orders",
        "phase2.after_audit_tables",
        "stack.publish.before_merge",
        "stack.publish.after_merge",
    ],
)
def test_kill_during_stack_phase2(stack: StackEndpoints, tmp_path: Path, point: str) -> None:
    branch = f"test-wap-{uuid.uuid4().hex[:10]}"
    old = make_stack_settings(
        stack, tmp_path / "data", orders=800, nessie={"url": stack.nessie_url, "ref": branch}
    )
    client = NessieClient(old)
    runner = StackPhaseRunner(old, client, RestDuckDbSqlEngine(old, client))
    runner.run(1)
    first = runner.run(2)
    target = open_rest_catalog(old, branch)
    old_rows = published_rows(target)
    new = old.model_copy(update={"orders": 1200})
    assert _lakehouse(new, "phase", "1").returncode == 0

    proc = _lakehouse(new, "phase", "2", crash_at=point)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    seen_run = published_run(open_rest_catalog(old, branch))
    rows = published_rows(open_rest_catalog(old, branch))
    runs = {
        t: open_rest_catalog(old, branch).load_table(t).current_snapshot().summary.get("lakehouse.run-id")
        for t in rows
    }
    assert len(set(runs.values())) == 1  # every table from one run
    if seen_run == first.run_id:
        assert rows == old_rows
    else:
        assert rows["bronze.orders"] == 1200

    if point == "stack.publish.before_merge":  # the audited run waits on its branch: publish it
        waiting = next(r for r in runner.runs.list_runs() if r.phase == 2 and r.state == "audited")  # type: ignore[union-attr]
        assert _lakehouse(new, "publish", waiting.run_id).returncode == 0
    else:
        assert _lakehouse(new, "phase", "2").returncode == 0
    final = published_rows(open_rest_catalog(old, branch))
    assert final["bronze.orders"] == 1200 and final != old_rows
    client.delete_ref(branch)
    client.close()
