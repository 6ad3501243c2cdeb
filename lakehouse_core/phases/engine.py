"""The step engine every phase runs on: steps in order, with progress, cancellation, timing and
failure with the partial result. Steps do not time themselves: the engine stamps each TaskResult's
``seconds`` and the PhaseResult's."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakehouse_core.errors import (
    CancelledError,
    LakehouseError,
    PhaseFailed,
    disk_full_error,
    unavailable_error,
)
from lakehouse_core.faults import crash_point
from lakehouse_core.models import PhaseResult, ProgressEvent, SnapshotRef, TaskResult, TaskSpec
from lakehouse_core.phases.hooks import hook_point
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepOutput:
    """What one step produced; the engine names it after the step and times it."""

    rows: Mapping[str, int] = field(default_factory=dict)  # e.g. {"bronze.orders": 5000}
    detail: str = ""
    outputs: Mapping[str, Any] = field(default_factory=dict)


StepFn = Callable[..., StepOutput | TaskResult | None]
"""Called with the keyword arguments it accepts among the run's (run_id, progress, cancel, ...).

Returns a StepOutput, a TaskResult (the phase-1 pipeline functions, which also run on their own;
the engine replaces its ``seconds``) or None (nothing to report)."""


@dataclass(frozen=True)
class Step:
    """One task of a phase: a name, a description and the callable that does it."""

    name: str
    description: str
    fn: StepFn

    @property
    def spec(self) -> TaskSpec:
        """The task as a plan lists it."""
        return TaskSpec(self.name, self.description)


def call_with(fn: Callable[..., Any], *args: Any, **available: Any) -> Any:
    """Call ``fn`` passing only the keyword arguments its signature accepts."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return fn(*args, **available)
    return fn(*args, **{k: v for k, v in available.items() if k in params})


def _task_result(step: Step, value: StepOutput | TaskResult | None, seconds: float) -> TaskResult:
    if isinstance(value, TaskResult):
        return dataclasses.replace(value, seconds=seconds)
    if isinstance(value, StepOutput):
        return TaskResult(step.name, seconds, rows=value.rows, detail=value.detail, outputs=value.outputs)
    return TaskResult(step.name, seconds)


def run_steps(
    phase: int,
    steps: Sequence[Step],
    *,
    run_id: str,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    kwargs: Mapping[str, Any] | None = None,
) -> PhaseResult:
    """Run ``steps`` in order; returns an ok PhaseResult or raises PhaseFailed/CancelledError.

    Each step is called with the keyword arguments of ``kwargs`` it accepts (plus run_id, progress,
    cancel); cancellation is honoured before every step.
    """
    started, t0 = datetime.now(UTC), time.perf_counter()
    done: list[TaskResult] = []
    available = {**(kwargs or {}), "progress": progress, "cancel": cancel, "run_id": run_id}
    for step in steps:
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress.emit(ProgressEvent(phase, step.name, "start", message=step.description))
        s0 = time.perf_counter()
        try:
            hook_point("step", phase=phase, step=step.name)
            value = call_with(step.fn, **available)
        except CancelledError:
            progress.emit(ProgressEvent(phase, step.name, "log", message="cancelled"))
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes PhaseFailed with partial results
            logger.warning("phase %s task %s failed: %s", phase, step.name, exc)
            progress.emit(ProgressEvent(phase, step.name, "log", message=f"FAILED: {exc}"))
            partial = summarize(phase, done, run_id=run_id, started=started, t0=t0, error=str(exc))
            # a transport failure is the service's outage whatever raised it (pyarrow, DuckDB, a client)
            cause = unavailable_error(exc) or (
                exc if isinstance(exc, LakehouseError) else disk_full_error(exc) or repr(exc)
            )
            raise PhaseFailed(phase, cause, partial) from exc
        result = _task_result(step, value, time.perf_counter() - s0)
        done.append(result)
        crash_point(f"phase{phase}.after_{step.name}")
        progress.emit(
            ProgressEvent(phase, step.name, "finish", done=1, total=1, message=f"{result.seconds:.2f}s")
        )
    return summarize(phase, done, run_id=run_id, started=started, t0=t0)


def summarize(
    phase: int,
    tasks: Sequence[TaskResult],
    *,
    run_id: str,
    started: datetime,
    t0: float,
    error: str | None = None,
) -> PhaseResult:
    """Fold task results into a PhaseResult (rows per layer, quality failures, snapshots, outputs).

    ``t0`` is the ``time.perf_counter()`` at the phase's start.
    """
    rows: dict[str, int] = {}
    outputs: dict[str, Any] = {}
    snapshots: list[SnapshotRef] = []
    quality_failures = 0
    for task in tasks:
        for key, value in task.rows.items():
            rows[key] = int(value)
            if key.startswith("quarantine"):
                quality_failures += int(value)
        for key, value in task.outputs.items():
            if key == "snapshots":
                snapshots.extend(v for v in value if isinstance(v, SnapshotRef))
            else:
                outputs[f"{task.name}.{key}" if key in outputs else key] = value
    return PhaseResult(
        phase=phase,
        ok=error is None,
        run_id=run_id,
        started_at=started,
        seconds=time.perf_counter() - t0,
        tasks=tuple(tasks),
        rows_per_layer=rows,
        quality_failures=quality_failures,
        snapshots=tuple(snapshots),
        outputs=outputs,
        error=error,
    )
