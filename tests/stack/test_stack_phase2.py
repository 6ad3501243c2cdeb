"""Phase 2 in stack mode: 5,000 orders into Iceberg on MinIO through Nessie, on a new branch, then
diff, dry-run merge, real merge into main, read back through pyiceberg, and branch isolation."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.phases import StackPhaseRunner
from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
from lakehouse_core.errors import PhaseFailed
from lakehouse_core.runs import RunStore
from lakehouse_core.settings import LakehouseSettings
from tests.stack.conftest import StackEndpoints, make_stack_settings

TABLES = (
    "bronze.customers", "bronze.orders", "bronze.products", "gold.customer_metrics",
    "gold.daily_sales", "gold.product_performance", "gold.regional_sales", "silver.orders_enriched",
)
NAMESPACES = ("bronze", "gold", "silver")


def _settings(stack: StackEndpoints, data_dir: Path, branch: str) -> LakehouseSettings:
    return make_stack_settings(
        stack, data_dir, orders=5000, defect_rate=0.0,
        nessie={"url": stack.nessie_url, "ref": branch},
    )


def test_phase2_on_new_branch_then_merge_into_main(stack: StackEndpoints, tmp_path: Path) -> None:
    branch = f"test-etl-{uuid.uuid4().hex[:10]}"
    settings = _settings(stack, tmp_path / "data", branch)
    client = NessieClient(settings)
    runner = StackPhaseRunner(settings, client, RestDuckDbSqlEngine(settings, client))

    plan = runner.plan(2)
    assert f"nessie branch: {branch}" in plan.details
    assert f"written on the run branch run-<run id>, merged into {branch} in one commit" in plan.details
    assert f"catalog: Iceberg REST {stack.nessie_url}/iceberg/{branch}" in plan.details
    assert f"warehouse: s3://{stack.minio_buckets[0]} on {stack.minio_endpoint}" in plan.details
    assert [t.name for t in plan.tasks] == [
        "ensure_branch", "check_source", "promote_to_iceberg", "audit_tables", "publish_tables",
    ]

    # phase 1 through the pipeline functions, in the temp data dir
    p1 = runner.run(1)
    assert p1.ok and p1.rows_per_layer["raw.orders"] == 5000
    main_before = client.get_ref("main")
    on_main = {e.key: e for e in client.entries("main")}

    p2 = runner.run(2)
    assert p2.ok and p2.outputs["branch"] == branch and p2.outputs["branch_created"] is True
    assert sorted(s.table for s in p2.snapshots) == sorted(TABLES)
    assert client.get_ref("main").hash == main_before.hash  # nothing written to main yet
    # written on run-<id>, merged into the target branch in one commit, the run branch deleted
    assert not any(r.name == f"run-{p2.run_id}" for r in client.list_refs())
    merge = client.commit_log(branch, limit=1)[0]
    assert merge.message == f"phase 2 run {p2.run_id} from cli: publish run-{p2.run_id} into {branch}"
    assert merge.properties["lakehouse.run-id"] == p2.run_id and merge.properties["lakehouse.phase"] == "2"

    # the branch holds the 8 tables; diff against main lists them
    changes = {c.key: c.kind for c in client.diff("main", branch)}
    for table in TABLES:
        assert changes[table] == ("modified" if table in on_main else "added"), table
    on_branch = {e.key: e for e in client.entries(branch)}
    assert set(TABLES) <= set(on_branch)
    assert all(on_branch[t].metadata_location.startswith("s3://") for t in TABLES)
    snap_ids = {s.table: s.snapshot_id for s in p2.snapshots}
    assert {t: on_branch[t].snapshot_id for t in TABLES} == snap_ids

    # dry run first: shows the changed tables, writes nothing
    preview = client.merge(branch, "main", dry_run=True)
    assert preview.dry_run and not preview.applied and preview.successful and not preview.conflicts
    assert set(TABLES) <= set(preview.changed_keys)
    assert client.get_ref("main").hash == main_before.hash

    merged = client.merge(branch, "main", message=f"merge {branch}")
    assert merged.applied and merged.successful and set(TABLES) <= set(merged.changed_keys)
    main_after = client.get_ref("main")
    assert main_after.hash == merged.resultant_hash != main_before.hash
    on_main_after = {e.key: e for e in client.entries("main")}
    assert {t: on_main_after[t].snapshot_id for t in TABLES} == snap_ids

    # pyiceberg RestCatalog on main reads the same counts back
    main_catalog = open_rest_catalog(settings, "main")
    counts = {t: main_catalog.load_table(t).scan().to_arrow().num_rows for t in TABLES}
    expected = {
        "bronze.customers": p1.rows_per_layer["bronze.customers"],
        "bronze.products": p1.rows_per_layer["bronze.products"],
        "bronze.orders": 5000,
        "silver.orders_enriched": p1.rows_per_layer["silver.orders_enriched"],
    }
    assert {t: counts[t] for t in expected} == expected
    assert counts["bronze.customers"] == 1000 and counts["bronze.products"] == 200
    for gold in ("gold.daily_sales", "gold.customer_metrics", "gold.product_performance",
                 "gold.regional_sales"):
        assert counts[gold] == p1.rows_per_layer[gold] > 0

    # phase 3: the business queries through the DuckDB fallback, on the ETL branch
    p3 = runner.run(3)
    assert p3.ok and p3.outputs["time_travel"]["count_now"] == 5000
    assert all(t.detail.endswith("via duckdb (Nessie REST fallback)") for t in p3.tasks[:-1])
    by_category = p3.outputs["revenue_by_category"]
    assert by_category["row_count"] == 5 and by_category["engine"] == "duckdb (Nessie REST fallback)"

    # phase 4: metrics + Prometheus scrape-target health
    p4 = runner.run(4)
    targets = p4.outputs["prometheus"]
    jobs = {t["job"]: t["health"] for t in targets["targets"]}
    assert p4.ok and jobs["nessie"] == "up" and jobs["minio"] == "up" and jobs["prometheus"] == "up"
    assert targets["up"] + targets["down"] == len(targets["targets"])
    assert set(TABLES) <= set(p4.outputs["freshness_s"])

    # results persisted as JSON, one file per phase
    stored = RunStore(settings.data_path / "runs").load_all()
    assert sorted(stored) == [1, 2, 3, 4] and stored[2].snapshots == p2.snapshots
    assert runner.last_results()[2].run_id == p2.run_id
    client.close()


def test_second_branch_sees_only_its_own_commits(stack: StackEndpoints, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:10]
    first, second = f"test-iso-a-{suffix}", f"test-iso-b-{suffix}"
    settings = _settings(stack, tmp_path / "data", first)
    client = NessieClient(settings)
    client.create_branch(first, "main")
    client.create_branch(second, "main")
    ns_a, ns_b = f"iso_a_{suffix}", f"iso_b_{suffix}"
    schema = pa.schema([pa.field("id", pa.int64())])
    for branch, ns, rows in ((first, ns_a, [1, 2, 3]), (second, ns_b, [7])):
        catalog = open_rest_catalog(settings, branch)
        catalog.create_namespace(ns)
        catalog.create_table(f"{ns}.t", schema=schema).append(pa.table({"id": rows}, schema=schema))

    keys_a = {e.key for e in client.entries(first)}
    keys_b = {e.key for e in client.entries(second)}
    assert f"{ns_a}.t" in keys_a and f"{ns_b}.t" not in keys_a
    assert f"{ns_b}.t" in keys_b and f"{ns_a}.t" not in keys_b
    log_a = {c.hash for c in client.commit_log(first, limit=20)}
    log_b = client.commit_log(second, limit=20)
    base = client.get_ref("main").hash
    own_b = []
    for c in log_b:
        if c.hash == base:
            break
        own_b.append(c)
    assert own_b and not {c.hash for c in own_b} & log_a
    assert all(ns_b in c.message for c in own_b), [c.message for c in own_b]
    assert [c.kind for c in client.diff(first, second) if c.key == f"{ns_b}.t"] == ["added"]
    assert open_rest_catalog(settings, second).load_table(f"{ns_b}.t").scan().to_arrow().num_rows == 1
    for branch in (first, second):
        client.delete_ref(branch)
    assert {first, second}.isdisjoint(r.name for r in client.list_refs())
    client.close()


def test_phase2_without_phase1_fails_cleanly(stack: StackEndpoints, tmp_path: Path) -> None:
    branch = f"test-empty-{uuid.uuid4().hex[:10]}"
    settings = _settings(stack, tmp_path / "data", branch)
    client = NessieClient(settings)
    runner = StackPhaseRunner(settings, client, RestDuckDbSqlEngine(settings, client))
    with pytest.raises(PhaseFailed, match="run phase 1 first") as info:
        runner.run(2)
    assert info.value.partial is not None and info.value.partial.ok is False
    assert [t.name for t in info.value.partial.tasks] == ["ensure_branch"]
    created_at = info.value.partial.tasks[0].outputs["branch_hash"]
    assert client.get_ref(branch).hash == created_at  # nothing was committed to the branch
    assert runner.last_results()[2].ok is False
    client.delete_ref(branch)
    client.close()
