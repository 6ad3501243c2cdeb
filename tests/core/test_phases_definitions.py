"""What the phases are: plans derived from the steps, the Iceberg layout from iceberg/tables.py and the
phase-1 sizes from the generator."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lakehouse_core import schemas
from lakehouse_core.backends.embedded.phases import EmbeddedPhaseRunner
from lakehouse_core.errors import LakehouseError
from lakehouse_core.iceberg import tables
from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.phases import PHASE4_TASKS, iceberg_layout
from lakehouse_core.pipeline.generate import sizes_for
from lakehouse_core.pipeline.tasks import PHASE1_TASKS
from lakehouse_core.queries import BUSINESS_QUERIES
from lakehouse_core.settings import load_settings


def _runner(tmp_path: Path, orders: int = 5000) -> EmbeddedPhaseRunner:
    settings = load_settings(mode="embedded", data_dir=tmp_path / "data", orders=orders)
    return EmbeddedPhaseRunner(
        settings,
        open_catalog=lambda: pytest.fail("a plan opens no catalog"),
        catalog=SimpleNamespace(),  # type: ignore[arg-type]
        sql=SimpleNamespace(name="duckdb (test)"),  # type: ignore[arg-type]
        metrics=PipelineMetrics(process_metrics=False),
    )


def test_the_phase2_plan_lists_the_partitioning_tables_py_defines(tmp_path: Path) -> None:
    details = _runner(tmp_path).plan(2).details
    layout = dict(line.split(": ", 1) for line in details if line.split(": ", 1)[0] in tables.TABLES_BY_ID)
    assert list(layout) == [t.identifier for t in tables.TABLES]
    for table in tables.TABLES:
        declared = ", ".join(f"{kind}({column})" for column, kind in table.partition) or "unpartitioned"
        assert layout[table.identifier] == declared
    assert layout["bronze.orders"] == "day(order_date)"
    assert layout["silver.orders_enriched"] == "identity(order_year), identity(order_month)"
    assert layout["gold.daily_sales"] == "unpartitioned"


def test_the_layout_follows_tables_py(monkeypatch: pytest.MonkeyPatch) -> None:
    orders = tables.TableDef(
        "bronze", "orders", schemas.BRONZE["orders"], (("customer_id", "identity"),), lambda p: p.root
    )
    monkeypatch.setattr(tables, "TABLES", (orders,))
    assert iceberg_layout() == ("bronze.orders: identity(customer_id)",)


@pytest.mark.parametrize("orders", [3, 7, 4_999, 1_000_000])
def test_the_phase1_plan_counts_are_the_generators(tmp_path: Path, orders: int) -> None:
    customers, products = sizes_for(orders)
    details = _runner(tmp_path, orders).plan(1).details
    assert details[0].startswith(
        f"raw: will generate {orders:,} orders (customers {customers:,}, products {products:,}),")


def test_three_orders_plan_one_customer(tmp_path: Path) -> None:
    assert "(customers 1, products 200)" in _runner(tmp_path, 3).plan(1).details[0]


def test_each_plan_lists_the_steps_its_run_executes(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    for phase in (1, 2, 3, 4):
        plan = runner.plan(phase)
        assert [(t.name, t.description) for t in plan.tasks] == [
            (s.name, s.description) for s in runner.steps(phase)
        ]
        assert plan.phase == phase and plan.title.startswith(f"Phase {phase} - ")
    assert [t.name for t in runner.plan(1).tasks] == [
        *(name for name, _, _ in PHASE1_TASKS), "audit_outputs", "publish_outputs",
    ]
    assert [t.name for t in runner.plan(2).tasks] == [
        "check_source", "promote_to_iceberg", "audit_tables", "publish_tables",
    ]
    assert [t.name for t in runner.plan(3).tasks] == [*(q.key for q in BUSINESS_QUERIES), "time_travel"]
    assert runner.plan(3).details == ("engine: duckdb (test)",)
    assert runner.plan(4).tasks == PHASE4_TASKS


@pytest.mark.parametrize("phase", [0, 5])
def test_an_unknown_phase_is_refused(tmp_path: Path, phase: int) -> None:
    runner = _runner(tmp_path)
    for call in (runner.plan, runner.run):
        with pytest.raises(LakehouseError, match=f"no phase {phase}: phases are 1, 2, 3 and 4"):
            call(phase)
