"""The project's own exporter (`lakehouse exporter`, the ``exporter`` service of scripts/services.sh)
is scraped by the real Prometheus (job ``lakehouse``) and its pipeline series are read back through
PrometheusMetricsSource."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse_core.backends.stack.prometheus import PrometheusMetricsSource
from lakehouse_core.ports import Backend
from tests.stack.conftest import down_services, run_services


@contextlib.contextmanager
def exporter_serving(data_dir: Path) -> Iterator[None]:
    """The exporter service restarted on ``data_dir``; afterwards on its default data dir again
    (or stopped, when it was not running before)."""
    was_up = not down_services("exporter")
    run_services("down", "exporter", timeout=60)
    up = run_services("up", "exporter", timeout=120, env={"LAKEHOUSE_DATA_DIR": str(data_dir)})
    if up.returncode != 0:
        pytest.fail(f"services.sh up exporter failed: {up.stderr[-3000:]}", pytrace=False)
    try:
        yield
    finally:
        run_services("down", "exporter", timeout=60)
        if was_up:
            run_services("up", "exporter", timeout=120)


def test_lakehouse_exporter_is_scraped_by_prometheus(stack_lakehouse: Backend) -> None:
    settings = stack_lakehouse.phases.settings  # type: ignore[attr-defined]
    source = PrometheusMetricsSource(settings)
    try:
        with exporter_serving(settings.data_path):
            query = 'lakehouse_layer_rows{job="lakehouse",layer="bronze",table="orders"}'
            found = []
            for _ in range(60):  # scrape interval is 2 s in the test config
                found = source.instant(query)
                if [s.last for s in found] == [5000.0]:  # not a sample of the data dir served before
                    break
                time.sleep(1)
            assert [s.last for s in found] == [5000.0]
            memory = source.instant('process_resident_memory_bytes{job="lakehouse"}')
            assert memory and memory[0].last is not None and memory[0].last > 0
    finally:
        source.close()
