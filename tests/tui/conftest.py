"""Fixtures of the TUI tests: deterministic settings (timers off) and the fake backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse_core.settings import LakehouseSettings, TuiSettings
from tests.tui.fakes import FakeBackend, make_fake_backend

SIZE = (130, 40)


def make_settings(data_dir: Path, **tui: object) -> LakehouseSettings:
    """Settings for tests: no timers, small caps, data under ``data_dir``."""
    values: dict[str, object] = {
        "refresh_seconds": 0,
        "metrics_refresh_seconds": 0,
        "theme": "textual-dark",
        "display_cap": 50,
        "fetch_limit": 120,
    }
    values.update(tui)
    return LakehouseSettings(mode="embedded", data_dir=data_dir, tui=TuiSettings(**values))  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> LakehouseSettings:
    return make_settings(tmp_path)


@pytest.fixture
def fake_backend() -> Iterator[FakeBackend]:
    backend = make_fake_backend()
    yield backend
    backend.gate.release()
