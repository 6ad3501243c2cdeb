"""Progress at scale: long tasks report rows per second and an ETA (DuckDB statements, generation)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from lakehouse_core.models import ProgressEvent
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline import _duck
from lakehouse_core.pipeline._duck import task_context
from lakehouse_core.pipeline.tasks import generate_sample_data
from lakehouse_core.units import progress_note


@pytest.mark.parametrize(("fraction", "elapsed", "rows", "text"), [
    (0.43, 50.0, 105e6, "43% · 2.1M rows/s · ETA 1m06s"),
    (0.5, 10.0, None, "50% · ETA 10.0 s"),
    (1.0, 10.0, 1e7, "100% · 1M rows/s"),  # done: no ETA
    (0.005, 3.0, 1000.0, "0% · 330 rows/s"),  # too early for an ETA
    (1.7, 3.0, None, "100%"),
])
def test_the_note_reads_percent_rate_and_eta(
    fraction: float, elapsed: float, rows: float | None, text: str
) -> None:
    assert progress_note(fraction, elapsed, rows) == text


class Sink:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)


def test_a_long_statement_reports_its_rate_and_eta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_duck, "PROGRESS_EVERY_S", 0.05)
    source = tmp_path / "numbers.parquet"
    duckdb.execute(f"COPY (SELECT i, i % 1000 AS g FROM range(8000000) t(i)) TO '{source}'")
    sink = Sink()
    with task_context("slow", DataPaths(tmp_path), sink, total_steps=2) as ctx:
        ctx.parquet_view("numbers", source)
        assert ctx.input_rows == 8_000_000
        ctx.step("first step")
        ctx.execute("SELECT g, COUNT(DISTINCT i), SUM(i * i) FROM numbers GROUP BY g ORDER BY 1")
    notes = [e.message for e in sink.events if e.kind == "advance" and "rows/s" in e.message]
    assert notes, [e.message for e in sink.events]
    percent = int(notes[-1].split("%")[0])
    assert 50 <= percent <= 100  # one step of two done, then part of the second
    assert all(e.done == 1 and e.total == 2 for e in sink.events if e.message in notes)


def test_generation_reports_orders_per_second(tmp_path: Path) -> None:
    sink = Sink()
    generate_sample_data(DataPaths(tmp_path).ensure(), orders=1500, progress=sink, generate="always")
    notes = [e.message for e in sink.events if e.kind == "advance"]
    assert notes and notes[-1].startswith("1,500/1,500 orders · 100% · ") and notes[-1].endswith("orders/s")


def test_a_csv_scan_reports_the_bytes_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading raw CSVs, progress is the share of their bytes this process has read (DuckDB's estimate
    stays near 100% during such a scan), and rows/s comes from the rows per byte."""
    monkeypatch.setattr(_duck, "PROGRESS_EVERY_S", 0.0)
    size = 16 << 20
    data = tmp_path / "raw.csv"
    data.write_bytes(b"x" * size)
    sink = Sink()
    with task_context("ingest", DataPaths(tmp_path), sink, total_steps=2) as ctx:
        ctx.csv_bytes = (0, 4 * size)
        ctx.rows_per_byte = 0.01
        ctx.running_since = 0.0  # a statement has run long enough
        with ctx.reading_csv(2 * size):
            with open(data, "rb") as fh:
                fh.read()  # half of this scan, a quarter of the task
            ctx.report_progress()
            with open(data, "rb") as fh:  # the whole scan, and more reads are not counted twice
                fh.read()
                fh.seek(0)
                fh.read()
            ctx.report_progress()
        assert ctx.csv_bytes == (2 * size, 4 * size)
        ctx.report_progress()
    notes = [e.message for e in sink.events if e.kind == "advance"]
    assert [n.split(" · ")[0] for n in notes] == ["25%", "50%", "50%"], notes
    assert all("rows/s" in n and "ETA" in n for n in notes), notes
