"""load_backend(settings) has no side effects: building a backend (and reading through it) creates no
data dir, catalog or warehouse; the first writer does, and the readers of the same backend see it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.iceberg.catalog import open_embedded_catalog
from lakehouse_core.settings import LakehouseSettings
from tests.conftest import embedded_settings


def test_embedded_backend_creates_nothing_until_a_writer_does(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = embedded_settings(data)
    backend = load_backend(settings)
    assert backend.catalog.list_namespaces() == []
    assert backend.sql.execute("SELECT 42 AS n").tuples() == ((42,),)
    rows = {s.name: s for s in backend.status.statuses()}
    assert rows["warehouse"].detail == "not created yet (phase 2 creates it)"
    assert rows["data dir"].detail.endswith("(empty: run phase 1)")
    assert not tmp_path.joinpath("data").exists()  # reading created nothing

    writer = open_embedded_catalog(settings)  # what phase 2 opens
    writer.create_namespace("bronze")
    assert (data / "catalog.db").exists()
    assert backend.catalog.list_namespaces() == [("bronze",)]  # the same backend sees it


def test_data_dir_row_counts_the_published_runs_layers(tmp_path: Path) -> None:
    """Phase 1 publishes into runs/<id> behind ``current``: the row counts what readers see there."""
    settings = embedded_settings(tmp_path / "data", orders=300)
    backend = load_backend(settings)
    assert backend.phases.run(1).ok
    detail = next(s for s in backend.status.statuses() if s.name == "data dir").detail
    published = settings.data_path / "current"
    counts = {
        layer: len(list((published / layer).glob("*"))) for layer in ("bronze", "silver", "gold")
    }
    assert all(counts.values()), counts
    for layer, n in counts.items():
        assert f"{layer}:{n}" in detail, detail


def test_stack_backend_creates_nothing(tmp_path: Path) -> None:
    settings = LakehouseSettings(  # type: ignore[call-arg]
        _env_file=None, mode="stack", data_dir=tmp_path / "data", docker={"enabled": False}
    )
    backend = load_backend(settings)
    assert backend.mode == "stack"
    assert list(tmp_path.iterdir()) == []


def test_building_the_stack_backend_asks_nothing_of_docker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listening Docker socket that records connections: building the stack backend makes none;
    the first status listing asks the engine (it does not answer HTTP, so Docker shows as down)."""
    sock_path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen(8)
    server.settimeout(0.2)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{sock_path}")
    settings = LakehouseSettings(mode="stack", data_dir=tmp_path / "data", http_timeout_s=1.0)

    def accepted() -> int:
        count = 0
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                conn.close()
                count += 1
        return count

    try:
        backend = load_backend(settings)
        assert backend.status.supports_control is False
        assert accepted() == 0
        threading.Thread(target=lambda: backend.status.statuses(), daemon=True).start()
        deadline = time.monotonic() + 10
        seen = 0
        while not seen and time.monotonic() < deadline:
            seen = accepted()
        assert seen >= 1
    finally:
        server.close()
