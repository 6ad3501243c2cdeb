"""Write, audit, publish on the real embedded backend (small data, phase 1 in a thread)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lakehouse_core import cli
from lakehouse_core.backends.embedded import build_embedded
from lakehouse_core.errors import ConflictError, PhaseFailed
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases import wap
from lakehouse_core.ports import Backend
from lakehouse_core.publish import current_run
from lakehouse_core.runlog import RunManifests
from tests.conftest import deliver_orders, embedded_settings


def _backend(data: Path, **overrides: object) -> Backend:
    values: dict[str, object] = {"orders": 300, "phase_isolation": "thread", **overrides}
    return build_embedded(embedded_settings(data, **values))


def test_a_failed_audit_publishes_nothing_and_keeps_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    backend = _backend(data)
    first = backend.phases.run(1).run_id
    assert current_run(DataPaths(data)) == first
    real_audit = wap.audit_phase1

    def tampered(paths: DataPaths, run_id: str) -> object:
        daily = pq.read_table(paths.gold_parquet("daily_sales"))
        revenue = daily.column("total_revenue")
        bumped = pc.add(revenue, pa.scalar(1, revenue.type)).cast(revenue.type)
        pq.write_table(daily.set_column(2, "total_revenue", bumped), paths.gold_parquet("daily_sales"))
        return real_audit(paths, run_id)

    monkeypatch.setattr(wap, "audit_phase1", tampered)
    deliver_orders(data)  # new raw data: the rerun has an increment to audit
    with pytest.raises(PhaseFailed, match="silver revenue = gold revenue"):
        backend.phases.run(1)
    assert current_run(DataPaths(data)) == first  # readers still see the first run
    failed = backend.runs.list_runs()[0]  # type: ignore[union-attr]
    assert failed.state == "audit_failed" and not failed.published
    assert [a.name for a in failed.audits if not a.ok] == ["silver revenue = gold revenue"]
    assert (data / "runs" / failed.run_id / "gold" / "daily_sales.parquet").is_file()  # inspectable

    code = cli.main(["--data-dir", str(data), "publish", failed.run_id])
    err = capsys.readouterr().err
    assert code == cli.EXIT_FAILED and "only an audited run can be published" in " ".join(err.split())
    assert "Traceback" not in err
    assert cli.main(["--data-dir", str(data), "--json", "runs"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["run_id"], r["state"]) for r in listed][:2] == [
        (failed.run_id, "audit_failed"),
        (first, "published"),
    ]
    monkeypatch.setenv("COLUMNS", "80")
    assert cli.main(["--data-dir", str(data), "runs"]) == 0
    table = capsys.readouterr().out
    assert max(map(len, table.splitlines())) <= 80
    assert failed.run_id in table and "3/4 ok" in table and "4/4 ok" in table  # audits not squeezed away


def test_phase2_refuses_a_phase1_run_that_is_not_published(tmp_path: Path) -> None:
    backend = _backend(tmp_path / "data", auto_publish=False)
    run = backend.phases.run(1)
    assert backend.runs is not None and backend.runs.run(run.run_id).state == "audited"
    with pytest.raises(PhaseFailed, match="no published phase-1 run"):
        backend.phases.run(2)
    assert backend.catalog.list_namespaces() == []  # nothing staged became visible
    backend.runs.publish(run.run_id)
    assert backend.phases.run(2).ok


def test_a_stale_phase2_run_cannot_be_published_over_a_newer_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _backend(data).phases.run(1)
    waiting = _backend(data, auto_publish=False)
    stale = waiting.phases.run(2).run_id
    assert waiting.runs is not None and waiting.runs.run(stale).state == "audited"
    assert waiting.catalog.list_namespaces() == [("bronze",), ("gold",), ("silver",)]
    assert waiting.catalog.list_tables(("bronze",)) == []  # staged tables are not visible
    newer = _backend(data).phases.run(2).run_id
    with pytest.raises(ConflictError, match="since this run was staged"):
        waiting.runs.publish(stale)
    assert waiting.runs.run(newer).published and not waiting.runs.run(stale).published
    preview = waiting.runs.preview(newer)
    assert not preview.publishable and preview.reason == "already published"


def test_discard_drops_an_unpublished_run_and_refuses_the_published_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    published = _backend(data).phases.run(1).run_id
    backend = _backend(data, auto_publish=False)
    runs = backend.runs
    assert runs is not None

    # a rerun with no new raw file publishes nothing and says so; the run is not left to publish
    same = backend.phases.run(1)
    assert same.ok and current_run(DataPaths(data)) == published
    details = {t.name: t.detail for t in same.tasks}
    assert details["ingest_to_bronze"].startswith(f"nothing new: nothing new since run {published}")
    assert details["publish_outputs"] == f"nothing new: data/current stays at runs/{published}"
    assert runs.run(same.run_id).state == "discarded" and not runs.preview(same.run_id).publishable

    new_ids = deliver_orders(data)  # new raw data: the rerun builds the increment and waits to publish
    waiting = backend.phases.run(1).run_id
    preview = runs.preview(waiting)
    assert preview.publishable and {t.table for t in preview.tables} >= {"bronze.orders", "gold.daily_sales"}
    deltas = {t.table: t.delta for t in preview.tables}
    assert deltas["bronze.orders"] == len(new_ids) and deltas["bronze.customers"] == 0
    assert runs.discard(waiting).state == "discarded"
    assert not (data / "runs" / waiting / "bronze").exists()
    assert RunManifests(DataPaths(data)).load(waiting)["state"] == "discarded"
    with pytest.raises(ConflictError, match="what readers see"):
        runs.discard(published)
    with pytest.raises(ConflictError, match="only an audited run"):
        runs.publish(waiting)


def test_a_phase2_rerun_on_the_published_data_commits_nothing_and_says_so(tmp_path: Path) -> None:
    from lakehouse_core.iceberg.catalog import open_embedded_catalog
    from lakehouse_core.iceberg.tables import TABLES

    data = tmp_path / "data"
    backend = _backend(data, run_source="airflow")
    backend.phases.run(1)
    first = backend.phases.run(2)
    settings = embedded_settings(data, orders=300)

    def current() -> dict[str, tuple[int, dict[str, str]]]:
        catalog = open_embedded_catalog(settings)
        out = {}
        for t in TABLES:
            snap = catalog.load_table(t.identifier).current_snapshot()
            assert snap is not None and snap.summary is not None
            out[t.identifier] = (snap.snapshot_id, dict(snap.summary.additional_properties))
        return out

    before = current()
    summary = before["bronze.orders"][1]
    assert summary["lakehouse.run-id"] == first.run_id
    assert (summary["lakehouse.phase"], summary["lakehouse.run-source"]) == ("2", "airflow")
    assert len({props["lakehouse.source-fingerprint"] for _, props in before.values()}) == 1

    again = backend.phases.run(2)
    details = {t.name: t.detail for t in again.tasks}
    assert details["promote_to_iceberg"] == (
        f"nothing changed: the published tables already hold this data (run {first.run_id}); no commit"
    )
    assert details["audit_tables"] == "skipped: nothing was written"
    assert details["publish_tables"] == "skipped: nothing to publish"
    assert again.ok and again.snapshots == () and again.outputs["same_as"] == first.run_id
    assert current() == before  # not one new snapshot
    assert backend.runs is not None
    assert backend.runs.run(again.run_id).state == "unchanged"
    assert backend.runs.run(first.run_id).published

    # new phase-1 data: phase 2 writes again
    deliver_orders(data)
    assert backend.phases.run(1).ok
    third = backend.phases.run(2)
    assert len(third.snapshots) == len(TABLES)
    assert current()["bronze.orders"][1]["lakehouse.run-id"] == third.run_id


def test_the_cli_records_who_started_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lakehouse_core.iceberg.catalog import open_embedded_catalog

    data = tmp_path / "data"
    base = ["--data-dir", str(data), "-q"]
    assert cli.main([*base, "phase", "1", "--orders", "200"]) == 0
    assert cli.main([*base, "phase", "2", "--source", "spark"]) == 0
    table = open_embedded_catalog(embedded_settings(data)).load_table("gold.daily_sales")
    snap = table.current_snapshot()
    assert snap is not None and snap.summary is not None
    assert (snap.summary["lakehouse.run-source"], snap.summary["lakehouse.phase"]) == ("spark", "2")
    capsys.readouterr()
    assert cli.main([*base, "phase", "2"]) == 0  # the same data again: says so, commits nothing
    out = " ".join(capsys.readouterr().out.split())
    assert "nothing changed: the published tables already hold this data" in out and "no commit" in out
    again = open_embedded_catalog(embedded_settings(data)).load_table("gold.daily_sales")
    assert again.current_snapshot() == snap
