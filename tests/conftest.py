"""Shared fixtures: a real embedded lakehouse (5,000 orders after phases 1-2) built once per session."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse_core.ports import Backend
from lakehouse_core.settings import LakehouseSettings, TuiSettings


def embedded_settings(data_dir: Path, **overrides: object) -> LakehouseSettings:
    """Settings for tests: no timers, a temp data dir, 5,000 orders with a few defects."""
    values: dict[str, object] = {
        "mode": "embedded",
        "data_dir": data_dir,
        "orders": 5000,
        "seed": 42,
        "defect_rate": 0.01,
        "tui": TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0),
    }
    values.update(overrides)
    return LakehouseSettings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def deliver_orders(data_dir: Path, count: int = 3, name: str = "orders-2.csv") -> list[int]:
    """Write ``raw/<name>``: ``count`` new orders (copies of generated orders with fresh ids above every
    id in ``raw/orders.csv``), so the next phase-1 run has an increment to publish. Returns their ids."""
    raw = data_dir / "raw"
    with open(raw / "orders.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = list(reader.fieldnames or []), list(reader)
    top = max(int(r["order_id"]) for r in rows if r["order_id"].isdigit())
    clean = [r for r in rows if r["order_id"].isdigit() and r["quantity"].isdigit()][:count]
    new = [{**r, "order_id": str(top + 1 + i)} for i, r in enumerate(clean)]
    with open(raw / name, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(new)
    return [int(r["order_id"]) for r in new]


@pytest.fixture(scope="session")
def embedded_lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """A real embedded backend on a temp dir with phases 1 and 2 done (5,000 orders)."""
    from lakehouse_core.backends.embedded import build_embedded

    settings = embedded_settings(tmp_path_factory.mktemp("lakehouse") / "data")
    backend = build_embedded(settings)
    backend.phases.run(1)
    backend.phases.run(2)
    yield backend


@pytest.fixture(scope="session")
def stack_lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """A real stack backend (Nessie + MinIO + Postgres + Prometheus) with phases 1-2 done on a fresh
    Nessie branch (5,000 orders). The services are started by scripts/services.sh when not running."""
    import uuid

    from lakehouse_core.backends.stack import build_stack
    from lakehouse_core.settings import NessieSettings
    from tests.stack.conftest import ensure_stack_up, make_stack_settings, stack_endpoints

    ensure_stack_up()
    endpoints = stack_endpoints()
    branch = f"contract-{uuid.uuid4().hex[:8]}"
    settings = make_stack_settings(
        endpoints,
        tmp_path_factory.mktemp("stack") / "data",
        orders=5000,
        defect_rate=0.01,
        nessie=NessieSettings(
            url=endpoints.nessie_url, ref=branch
        ),
    )
    backend = build_stack(settings)
    backend.phases.run(1)
    backend.phases.run(2)
    yield backend
    from lakehouse_core.backends.stack.nessie import NessieClient

    client = NessieClient(settings)
    client.delete_ref(branch)  # keep the shared Nessie store free of test branches
    client.close()
