"""The Overview's Spark row from the master's /json/: each worker (alive/dead, cores, memory) and the
running application; a dead worker degrades the row."""

from __future__ import annotations

from typing import Any

from lakehouse_core.backends.stack.spark_status import spark_master_outcome
from lakehouse_core.models import ServiceState


def _worker(port: int, state: str = "ALIVE") -> dict[str, Any]:
    return {"id": f"worker-{port}", "host": "127.0.0.1", "webuiaddress": f"http://127.0.0.1:{port}",
            "cores": 1, "memory": 1024, "state": state}


def test_both_workers_and_the_running_application() -> None:
    body = {"status": "ALIVE", "aliveworkers": 2, "workers": [_worker(8091), _worker(8092)],
            "activeapps": [{"id": "app-1", "name": "lakehouse phase 2 r1", "state": "RUNNING"}]}
    assert spark_master_outcome(body) == (
        ServiceState.UP,
        "2/2 workers alive: :8091 alive 1 core(s) 1024 MB, :8092 alive 1 core(s) 1024 MB; "
        "running: lakehouse phase 2 r1 (app-1)",
        None,
    )


def test_a_dead_worker_degrades_the_row() -> None:
    body = {"status": "ALIVE", "aliveworkers": 1, "workers": [_worker(8091), _worker(8092, "DEAD")]}
    state, detail, error = spark_master_outcome(body)
    assert state is ServiceState.DEGRADED
    assert detail == "1/2 workers alive: :8091 alive 1 core(s) 1024 MB, :8092 dead 1 core(s) 1024 MB"
    assert error == "dead worker(s): :8092 dead 1 core(s) 1024 MB"


def test_master_not_alive_or_without_workers() -> None:
    assert spark_master_outcome({"status": "STANDBY"})[0] is ServiceState.DEGRADED
    assert spark_master_outcome({"status": "ALIVE", "aliveworkers": 0})[1] == "no alive worker"
