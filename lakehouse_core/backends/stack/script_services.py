"""Services started by ``scripts/services.sh``: native processes on 127.0.0.1, not containers.

The script keeps each service's output in ``<state dir>/logs/<service>.log`` (``dockerd.log`` for the
Docker engine) and is the only way to start, stop or restart them. Until the Compose stack exists,
the service table reads their logs from those files, and the control keys say how they are controlled.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from lakehouse_core.errors import LakehouseError

logger = logging.getLogger(__name__)

SCRIPT = "scripts/services.sh"
LOG_FILES: Mapping[str, str] = {"docker": "dockerd.log", "airflow": "airflow-scheduler.log"}
"""Log file names that differ from ``<service>.log``."""
SCRIPT_ACTIONS: Mapping[str, str] = {"start": "up", "stop": "down", "restart": "restart"}
_BLOCK = 64 * 1024


def tail_lines(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a text file, read backwards in blocks (never the whole file)."""
    if lines <= 0:
        return []
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        data = b""
        while end > 0 and data.count(b"\n") <= lines:
            start = max(0, end - _BLOCK)
            fh.seek(start)
            data = fh.read(end - start) + data
            end = start
    text = data.decode("utf-8", errors="replace").splitlines()
    return text[-lines:]


class ScriptServices:
    """The services ``scripts/services.sh`` runs with state dir ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def log_file(self, service: str) -> Path:
        return self.state_dir / "logs" / LOG_FILES.get(service, f"{service}.log")

    def manages(self, service: str) -> bool:
        """The script started ``service`` here (it has a log file in the state dir)."""
        return self.log_file(service).is_file()

    def logs(self, service: str, lines: int = 100) -> list[str]:
        """Last lines of the service's log file (empty when it has none or it cannot be read)."""
        path = self.log_file(service)
        try:
            return tail_lines(path, lines)
        except OSError as exc:
            logger.info("no log file for %s: %s", service, exc)
            return []

    def not_in_container(self, service: str, action: Literal["start", "stop", "restart"]) -> LakehouseError:
        """The error for a control key on a script-started service: how to do it instead."""
        command = f"bash {SCRIPT} {SCRIPT_ACTIONS[action]} {service}"
        return LakehouseError(
            f"{service} is not in a container: {SCRIPT} started it; to {action} it run `{command}`",
            title="Not in a container",
        )
