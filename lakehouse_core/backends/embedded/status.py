"""EmbeddedServiceStatusProvider: health of the in-process components (no Docker, no network)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import ComposeServiceState, ServiceState, ServiceStatus
from lakehouse_core.paths import DataPaths
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink

logger = logging.getLogger(__name__)

Probe = Callable[[], str]
"""Returns a detail line when healthy; raises when not."""


class EmbeddedServiceStatusProvider:
    """Probes each in-process component; a failing probe is a DOWN row with its cause."""

    supports_control = False

    def __init__(self, paths: DataPaths, probes: dict[str, tuple[str, tuple[str, ...], Probe]]) -> None:
        """``probes``: name -> (endpoint shown, dependencies, probe)."""
        self.paths = paths
        self.probes = probes

    def statuses(self) -> list[ServiceStatus]:
        rows: dict[str, ServiceStatus] = {}
        for name, (endpoint, deps, probe) in self.probes.items():
            blocked = next((d for d in deps if rows.get(d) and rows[d].state in _BAD), None)
            if blocked:
                rows[name] = ServiceStatus(
                    name,
                    ServiceState.BLOCKED,
                    endpoint,
                    None,
                    f"blocked by {blocked}",
                    None,
                    deps,
                    blocked,
                    "in-process",
                    checked_at=datetime.now(UTC),
                )
                continue
            t0 = time.perf_counter()
            try:
                detail = probe()
                state, error = ServiceState.UP, None
            except Exception as exc:  # noqa: BLE001 - a broken component is a DOWN row, never a crash
                detail, state, error = "", ServiceState.DOWN, f"{type(exc).__name__}: {exc}"
            rows[name] = ServiceStatus(
                name,
                state,
                endpoint,
                (time.perf_counter() - t0) * 1000,
                detail,
                error,
                deps,
                None,
                "in-process",
                checked_at=datetime.now(UTC),
            )
        return list(rows.values())

    def control(self, service: str, action: Literal["start", "stop", "restart"]) -> None:
        raise LakehouseError(
            f"cannot {action} {service}: embedded components run inside this process", title="Not supported"
        )

    def logs(self, service: str, lines: int = 100) -> list[str]:
        return []

    def compose_services(self) -> list[ComposeServiceState]:
        raise NO_COMPOSE

    def stack_up(self, progress: ProgressSink = NULL_PROGRESS, cancel: CancelToken | None = None) -> None:
        raise NO_COMPOSE

    def follow_logs(self, service: str, cancel: CancelToken, lines: int = 100) -> Iterator[str]:
        raise NO_COMPOSE


NO_COMPOSE = LakehouseError("embedded mode has no Compose stack: run in stack mode (--mode stack)",
                            title="Not supported")


_BAD = (ServiceState.DOWN, ServiceState.BLOCKED)


def data_dir_probe(paths: DataPaths) -> Probe:
    """Entries per layer: raw, then the published phase-1 run's (``current``), or the data dir's own
    layers where nothing was published yet."""

    def probe() -> str:
        if not paths.root.exists():
            return f"{paths.root} (empty: run phase 1)"
        shown = paths.published() if paths.current.exists() else paths
        layers = []
        for name, path in (
            ("raw", paths.raw),
            ("bronze", shown.bronze),
            ("silver", shown.silver),
            ("gold", shown.gold),
            ("quarantine", shown.quarantine),
        ):
            n = len(list(path.glob("*"))) if path.exists() else 0
            layers.append(f"{name}:{n}")
        return " ".join(layers)

    return probe


def warehouse_probe(location: str) -> Probe:
    """The local warehouse directory exists and is writable."""

    def probe() -> str:
        if not location.startswith("file:"):
            return location
        path = Path(location.removeprefix("file://"))
        if not path.exists():  # a probe creates nothing: phase 2 makes the warehouse
            parent = next((p for p in path.parents if p.exists()), None)
            if parent is None or not os.access(parent, os.W_OK | os.X_OK):
                raise PermissionError(f"{path} does not exist and cannot be created")
            return "not created yet (phase 2 creates it)"
        marker = path / ".lakehouse-probe"
        marker.write_text("ok")
        marker.unlink()
        files = sum(1 for _ in path.rglob("*.parquet"))
        return f"writable, {files} data files"

    return probe
