"""Incremental runs in stack mode: a re-delivered, changed order updates bronze.orders in Iceberg via
Nessie (merge-on-read position deletes), never duplicates it; new orders are added; a rerun with no
new raw file commits nothing."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.phases import StackPhaseRunner
from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline.parts import table_rows
from tests.conftest import deliver_orders
from tests.stack.conftest import StackEndpoints, make_stack_settings

HEADER = "order_id,customer_id,product_id,order_date,quantity,total_amount,status,payment_method".split(",")


def _changed(data: Path, count: int) -> dict[int, dict[str, str]]:
    """raw/orders-3.csv: ``count`` clean orders re-delivered with quantity + 2; returns them by id."""
    with open(data / "raw" / "orders.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["order_id"].isdigit() and r["quantity"].isdigit()
                and r["status"] == "completed"][:count]
    changed = [{**r, "quantity": str(int(r["quantity"]) + 2)} for r in rows]
    with open(data / "raw" / "orders-3.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(changed)
    return {int(r["order_id"]): r for r in changed}


def test_a_redelivered_changed_order_updates_iceberg_via_nessie(
    stack: StackEndpoints, tmp_path: Path
) -> None:
    branch = f"test-upsert-{uuid.uuid4().hex[:10]}"
    data = tmp_path / "data"
    settings = make_stack_settings(stack, data, orders=2000, defect_rate=0.0,
                                   nessie={"url": stack.nessie_url, "ref": branch})
    assert settings.incremental  # the default
    client = NessieClient(settings)
    runner = StackPhaseRunner(settings, client, RestDuckDbSqlEngine(settings, client))
    assert runner.run(1).ok and runner.run(2).ok

    new = deliver_orders(data, 5)
    changed = _changed(data, 4)
    assert runner.run(1).ok
    upsert = runner.run(2)
    details = {t.name: t.detail for t in upsert.tasks}
    assert upsert.ok and "8 tables upserted" in details["promote_to_iceberg"], details
    merge = client.commit_log(branch, limit=1)[0]
    assert merge.properties["lakehouse.run-id"] == upsert.run_id

    orders = open_rest_catalog(settings, branch).load_table("bronze.orders")
    rows = orders.scan().to_arrow().to_pylist()
    assert len(rows) == table_rows(DataPaths(data).published().bronze_parquet("orders")) == 2000 + len(new)
    valid = [r["order_id"] for r in rows if r["data_quality_flag"] == "valid"]
    assert len(valid) == len(set(valid))  # updated, never duplicated
    by_id = {r["order_id"]: r for r in rows}
    for order_id, row in changed.items():
        assert by_id[order_id]["quantity"] == int(row["quantity"])
        assert by_id[order_id]["source_file"].endswith("orders-3.csv")
    assert set(new) <= set(by_id)
    summary = orders.current_snapshot().summary  # type: ignore[union-attr]
    assert int(summary.get("added-position-deletes") or 0) == len(changed)
    assert int(summary.get("deleted-data-files") or 0) == 0  # merge-on-read: no data file rewritten

    # the SQL engine (DuckDB over the REST catalog) applies the deletes too
    engine = RestDuckDbSqlEngine(settings, NessieClient(settings))  # close() closes its client
    try:
        (n, ids), = engine.execute("SELECT COUNT(*), COUNT(DISTINCT order_id) FROM bronze.orders").tuples()
    finally:
        engine.close()
    assert (n, ids) == (len(rows), len(set(by_id)))

    # nothing new: phase 1 publishes nothing, phase 2 commits nothing on the branch
    head = client.get_ref(branch).hash
    again = runner.run(1)
    assert again.ok and any(t.detail.startswith("nothing new") for t in again.tasks)
    assert runner.run(2).ok and client.get_ref(branch).hash == head
