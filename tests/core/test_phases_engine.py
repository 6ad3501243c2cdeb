"""Run persistence and the step engine (timing, progress, failure with partial results, cancel)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakehouse_core.errors import CancelledError, PhaseFailed
from lakehouse_core.models import PhaseResult, ProgressEvent, SnapshotRef, TaskResult
from lakehouse_core.phases import Step, StepOutput, call_with, run_steps
from lakehouse_core.ports import CancelToken
from lakehouse_core.runs import RunStore, new_run_id, result_from_dict, result_to_dict


class Events:
    def __init__(self) -> None:
        self.items: list[ProgressEvent] = []

    def emit(self, event: ProgressEvent) -> None:
        self.items.append(event)


def test_result_roundtrip_and_store(tmp_path: Path) -> None:
    r = PhaseResult(
        2,
        True,
        new_run_id(),
        datetime(2026, 1, 1, tzinfo=UTC),
        1.5,
        (TaskResult("t", 0.1, {"bronze.orders": 3}),),
        {"bronze.orders": 3},
        0,
        (SnapshotRef("bronze.orders", 42, "overwrite"),),
        {"k": [1, 2]},
    )
    assert result_from_dict(result_to_dict(r)) == r
    store = RunStore(tmp_path / "runs")
    store.save(r)
    (tmp_path / "runs" / "phase-3.json").write_text("{broken")
    assert store.load_all() == {2: r}


def test_run_id_is_unique_and_sortable() -> None:
    a, b = new_run_id(), new_run_id()
    assert a != b and len(a) == len(b) == 25


def test_call_with_passes_only_accepted_kwargs() -> None:
    def f(paths: str, *, run_id: str) -> str:
        return paths + run_id

    assert call_with(f, paths="p", run_id="r", orders=5) == "pr"


def test_run_steps_folds_results_and_emits_progress() -> None:
    ev = Events()
    steps = [
        Step("a", "first", lambda: TaskResult("a", 0.1, {"bronze.orders": 10, "quarantine.orders": 2})),
        Step(
            "b",
            "second",
            lambda run_id: TaskResult(
                "b", 0.2, {"gold.x": 1}, outputs={"snapshots": [SnapshotRef("t", 1)], "kpi": run_id}
            ),
        ),
    ]
    result = run_steps(1, steps, run_id="R", progress=ev)
    assert result.ok and result.run_id == "R"
    assert result.rows_per_layer == {"bronze.orders": 10, "quarantine.orders": 2, "gold.x": 1}
    assert result.quality_failures == 2
    assert result.snapshots == (SnapshotRef("t", 1),)
    assert result.outputs == {"kpi": "R"}
    assert [(e.task, e.kind) for e in ev.items] == [
        ("a", "start"),
        ("a", "finish"),
        ("b", "start"),
        ("b", "finish"),
    ]


def test_failure_keeps_partial_results() -> None:
    def boom() -> TaskResult:
        raise ValueError("bad data")

    steps = [
        Step("a", "", lambda: TaskResult("a", 0.1, {"bronze.orders": 5})),
        Step("b", "", boom),
        Step("c", "", lambda: TaskResult("c", 0.1)),
    ]
    with pytest.raises(PhaseFailed) as info:
        run_steps(1, steps, run_id="R")
    partial = info.value.partial
    assert isinstance(partial, PhaseResult) and not partial.ok
    assert [t.name for t in partial.tasks] == ["a"] and "bad data" in (partial.error or "")


def test_cancel_stops_before_next_step() -> None:
    token = CancelToken()
    ran: list[str] = []

    def first() -> TaskResult:
        ran.append("a")
        token.cancel()
        return TaskResult("a", 0.0)

    with pytest.raises(CancelledError):
        run_steps(1, [Step("a", "", first), Step("b", "", lambda: ran.append("b"))], run_id="R", cancel=token)
    assert ran == ["a"]


def test_the_engine_times_every_step() -> None:
    def slow() -> StepOutput:
        time.sleep(0.2)
        return StepOutput(rows={"gold.x": 1}, detail="slept")

    def claims_an_hour() -> TaskResult:  # a pipeline function's own timing is replaced
        return TaskResult("claims", 3600.0, {"raw.orders": 2})

    ev = Events()
    result = run_steps(
        1, [Step("slow", "", slow), Step("claims", "", claims_an_hour)], run_id="R", progress=ev
    )
    slow_task, claims = result.tasks
    assert (slow_task.name, slow_task.detail, dict(slow_task.rows)) == ("slow", "slept", {"gold.x": 1})
    assert 0.2 <= slow_task.seconds < 2.0
    assert claims.seconds < 1.0 and dict(claims.rows) == {"raw.orders": 2}
    assert result.seconds >= slow_task.seconds + claims.seconds
    finish = [e.message for e in ev.items if e.kind == "finish"]
    assert finish == [f"{slow_task.seconds:.2f}s", f"{claims.seconds:.2f}s"]


def test_a_step_returning_nothing_still_gets_a_timed_result() -> None:
    result = run_steps(4, [Step("quiet", "", lambda: None)], run_id="R")
    assert [(t.name, t.rows, t.detail) for t in result.tasks] == [("quiet", {}, "")]
    assert result.tasks[0].seconds >= 0.0
