"""The project's own exporter (`lakehouse exporter`) is scraped by the real Prometheus (job ``lakehouse``)
and its pipeline series are read back through PrometheusMetricsSource."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from lakehouse_core.backends.stack.prometheus import PrometheusMetricsSource
from lakehouse_core.ports import Backend


def test_lakehouse_exporter_is_scraped_by_prometheus(stack_lakehouse: Backend) -> None:
    settings = stack_lakehouse.phases.settings  # type: ignore[attr-defined]
    env = {**os.environ, "LAKEHOUSE_DATA_DIR": str(settings.data_path), "LAKEHOUSE_MODE": "stack"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lakehouse_core.cli",
            "exporter",
            "--port",
            str(settings.prometheus.exporter_port),
            "--interval",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    source = PrometheusMetricsSource(settings)
    try:
        query = 'lakehouse_layer_rows{job="lakehouse",layer="bronze",table="orders"}'
        found = []
        for _ in range(60):  # scrape interval is 2 s in the test config
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            found = source.instant(query)
            if found:
                break
            time.sleep(1)
        assert [s.last for s in found] == [5000.0]
        memory = source.instant('process_resident_memory_bytes{job="lakehouse"}')
        assert memory and memory[0].last is not None and memory[0].last > 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        source.close()
