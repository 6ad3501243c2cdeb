"""The phase panel shows a long task's rate and ETA (the message of its advance events)."""

from __future__ import annotations

from lakehouse_core.models import ProgressEvent
from tui.widgets.phase_panel import PhaseProgressPanel


def test_an_advance_with_a_note_shows_it_and_one_without_keeps_the_last() -> None:
    panel = PhaseProgressPanel()
    panel.reset(["ingest_to_bronze"])
    panel.apply(ProgressEvent(1, "ingest_to_bronze", "start", 0, 6, "running"))
    panel.apply(ProgressEvent(1, "ingest_to_bronze", "advance", 2, 6, "43% · 2.1M rows/s · ETA 1m05s"))
    assert panel.tasks[0].state == "43% · 2.1M rows/s · ETA 1m05s"
    panel.apply(ProgressEvent(1, "ingest_to_bronze", "advance", 3, 6))
    row = panel.tasks[0]
    assert (row.done, row.state) == (3, "43% · 2.1M rows/s · ETA 1m05s")
    panel.apply(ProgressEvent(1, "ingest_to_bronze", "finish", 6, 6, "12.0s"))
    assert panel.tasks[0].state == "12.0s"
