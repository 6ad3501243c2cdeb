"""SVG snapshots of the Metrics screen at 80x24 and 160x48 with data, and of its empty state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import make_settings
from tests.tui.fakes import make_fake_backend
from tests.tui.test_snapshots import app_for, steps
from tui.app import LakehouseApp


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_metrics_with_data(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=steps("f4"))


def test_metrics_scrolled_to_the_alerts(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(app_for(tmp_path), terminal_size=(80, 24), run_before=steps("f4", "end"))


def test_metrics_empty(snap_compare: Any, tmp_path: Path) -> None:
    backend = make_fake_backend()
    backend.metrics.empty = True  # type: ignore[attr-defined]
    app = LakehouseApp(backend, make_settings(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps("f4"))
