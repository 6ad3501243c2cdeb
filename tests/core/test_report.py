"""Phase 3's business report: parsed from the persisted result, printed by ``lakehouse phase 3``."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from lakehouse_core.cli import main
from lakehouse_core.models import PhaseResult
from lakehouse_core.report import CustomerValue, TimeTravelCount, business_report, compact

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def phase3(outputs: dict[str, object], ok: bool = True, error: str | None = None) -> PhaseResult:
    return PhaseResult(3, ok, "run-3", T0, 1.0, outputs=outputs, error=error)


def test_report_from_the_stored_payloads() -> None:
    result = phase3(
        {
            "daily_revenue_trend": {
                "engine": "duckdb",
                "columns": ["date", "num_orders", "total_revenue", "avg_order_value"],
                "rows": [["2026-01-02", 3, 300.5, 100.17], ["2026-01-01", 2, 1_200_000.0, 600000.0]],
            },
            "top_customers": {
                "engine": "duckdb",
                "columns": ["CUSTOMER_ID", "TOTAL_ORDERS", "LIFETIME_VALUE"],  # engines may shout
                "rows": [["C1", 4, 99.5]],
            },
            "revenue_by_category": {"columns": ["category", "revenue", "units"], "rows": [["[b]x", 1.0, 2]]},
            "time_travel": {
                "snapshot_id": 7,
                "committed_at": "2026-01-01T11:00:00+00:00",
                "count_then": 10,
                "count_now": 12,
            },
        }
    )
    report = business_report(result)
    assert [d.day for d in report.trend] == [date(2026, 1, 1), date(2026, 1, 2)]  # oldest first
    assert report.top_customers == (CustomerValue("C1", 4, 99.5),)
    assert report.categories[0].category == "[b]x"
    assert report.time_travel == TimeTravelCount(7, datetime(2026, 1, 1, 11, tzinfo=UTC), 10, 12)
    assert report.engine == "duckdb"
    assert report.summary() == "2 days 1.2M · top 1 · 1 categories · orders 10 → 12"


def test_a_failed_run_keeps_what_ran_and_its_error() -> None:
    report = business_report(phase3({}, ok=False, error="time_travel: no snapshot"))
    assert report.trend == () and report.time_travel is None
    assert report.summary() == "time_travel: no snapshot"
    with pytest.raises(ValueError, match="phase 3"):
        business_report(PhaseResult(2, True, "r", T0, 1.0))


def test_compact_amounts() -> None:
    assert [compact(v) for v in (0, 999, 45_600, 1_230_000, 2e9)] == ["0", "999", "45.6k", "1.23M", "2G"]


@pytest.mark.slow
def test_phase_3_prints_tables_and_json_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(key)
    assert main(["-q", "phase", "1", "--orders", "800"]) == 0
    assert main(["-q", "phase", "2"]) == 0
    capsys.readouterr()
    assert main(["-q", "phase", "3"]) == 0
    out = capsys.readouterr().out
    for title in ("Daily revenue (last 14 days)", "Top 10 customers", "Revenue by category", "Time travel"):
        assert title in out
    assert "lifetime value" in out and "rows then" in out
    assert main(["-q", "--json", "phase", "3"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["phase"] == 3 and len(payload["outputs"]["top_customers"]["rows"]) == 10
