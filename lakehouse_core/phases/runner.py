"""The part every PhaseRunner shares: one phase at a time, results persisted and recorded as metrics."""

from __future__ import annotations

import threading

from lakehouse_core.errors import LakehouseError, PhaseFailed
from lakehouse_core.models import PhasePlan, PhaseResult
from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.paths import DataPaths
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.runs import RunStore
from lakehouse_core.settings import LakehouseSettings


class PersistentPhaseRunner:
    """Base of the embedded and stack runners; subclasses implement ``plan`` and ``_run``."""

    def __init__(self, settings: LakehouseSettings, metrics: PipelineMetrics | None = None) -> None:
        self.settings = settings
        self.paths = DataPaths(settings.data_path)
        self._metrics = metrics or PipelineMetrics()
        self._store = RunStore(self.paths.runs)
        self._lock = threading.Lock()

    def plan(self, phase: int) -> PhasePlan:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self, phase: int, progress: ProgressSink, cancel: CancelToken | None) -> PhaseResult:
        raise NotImplementedError  # pragma: no cover - abstract

    def run(
        self, phase: int, progress: ProgressSink = NULL_PROGRESS, cancel: CancelToken | None = None
    ) -> PhaseResult:
        """Run one phase; PhaseFailed carries (and persists) the partial result."""
        self.plan(phase)  # validates the number
        if not self._lock.acquire(blocking=False):
            raise LakehouseError("another phase is already running", title="Busy")
        try:
            result = self._run(phase, progress, cancel)
        except PhaseFailed as exc:
            if isinstance(exc.partial, PhaseResult):
                self._store.save(exc.partial)
                self._metrics.record_phase(exc.partial)
            raise
        finally:
            self._lock.release()
        self._store.save(result)
        self._metrics.record_phase(result)
        return result

    def last_results(self) -> dict[int, PhaseResult]:
        """The most recent result per phase, read from ``data/runs``."""
        return self._store.load_all()
