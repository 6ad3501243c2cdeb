"""The Spark master's ``/json/`` as the Overview's Spark row: master, each worker, the running apps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from lakehouse_core.models import ServiceState


def _worker(worker: Mapping[str, Any]) -> str:
    where = urlsplit(str(worker.get("webuiaddress") or "")).port or worker.get("host", "?")
    state = str(worker.get("state", "?"))
    return f":{where} {state.lower()} {worker.get('cores', '?')} core(s) {worker.get('memory', '?')} MB"


def spark_master_outcome(body: Mapping[str, Any]) -> tuple[ServiceState, str, str | None]:
    """(state, detail, error) of a master ``/json/`` answer.

    UP: master ALIVE and every listed worker ALIVE; DEGRADED: the master is not ALIVE, no worker is
    alive, or a listed worker is dead. The detail names each worker (UI port, state, cores, memory)
    and the running applications.
    """
    status = body.get("status")
    alive = int(body.get("aliveworkers") or 0)
    if status != "ALIVE":
        return ServiceState.DEGRADED, f"master status {status}", f"master status {status}"
    if alive < 1:
        return ServiceState.DEGRADED, "no alive worker", "no alive worker"
    workers = list(body.get("workers") or [])
    if not workers:
        return ServiceState.UP, f"{alive} alive worker(s)", None
    # the master lists a dead worker until it forgets it; a restarted worker registers anew
    dead = [w for w in workers if w.get("state") != "ALIVE"]
    detail = f"{alive}/{len(workers)} workers alive: " + ", ".join(_worker(w) for w in workers)
    apps = [f"{a.get('name')} ({a.get('id')})" for a in body.get("activeapps") or []]
    if apps:
        detail += "; running: " + ", ".join(apps)
    if dead:
        error = "dead worker(s): " + ", ".join(_worker(w) for w in dead)
        return ServiceState.DEGRADED, detail, error
    return ServiceState.UP, detail, None
