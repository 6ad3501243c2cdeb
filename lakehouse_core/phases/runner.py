"""The part every PhaseRunner shares: which steps each phase runs, its plan, one phase at a time,
results persisted and recorded as metrics. A backend's runner provides only what differs: phase 2's
steps and details, phase 4's extra steps and details (and the SQL engine and catalog it was given)."""

from __future__ import annotations

import logging

from lakehouse_core.budget import phase_budget, plan_line, use_budget
from lakehouse_core.errors import LakehouseError, PhaseFailed
from lakehouse_core.models import PhasePlan, PhaseResult
from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases.definitions import (
    PHASE_TITLES,
    phase1_details,
    phase1_steps,
    phase3_details,
    phase3_steps,
    phase4_steps,
    phase_plan,
    run_phase1,
)
from lakehouse_core.phases.engine import Step, run_steps
from lakehouse_core.phases.hooks import hook_point
from lakehouse_core.phases.lock import RunLock, hold_all
from lakehouse_core.phases.wap import RunPublisher, phase2_steps
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, CatalogBrowser, ProgressSink, SqlEngine
from lakehouse_core.redact import Redactor
from lakehouse_core.runcontrol import LocalRunControl
from lakehouse_core.runlog import RunManifests
from lakehouse_core.runs import RunStore, new_run_id
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)


def execute_phase1(
    settings: LakehouseSettings,
    *,
    run_id: str,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> PhaseResult:
    """Run phase 1 where ``settings.phase_isolation`` says: a child process (default) or this thread."""
    if settings.phase_isolation == "process":
        from lakehouse_core.phases.isolation import run_isolated

        return run_isolated(run_phase1, settings, 1, run_id=run_id, progress=progress, cancel=cancel)
    return run_phase1(settings, run_id=run_id, progress=progress, cancel=cancel)


def check_phase(phase: int) -> None:
    """Raise LakehouseError unless ``phase`` is one of the four phases."""
    if phase not in PHASE_TITLES:
        raise LakehouseError(f"no phase {phase}: phases are 1, 2, 3 and 4", title="Unknown phase")


class PersistentPhaseRunner:
    """Base of the backends' runners: phases 1-4 on ``sql`` and ``catalog``, results under data/runs.

    Subclasses implement ``phase2_steps``, ``phase2_details`` and ``phase4_details`` and may add
    ``phase4_extra_steps``.
    """

    def __init__(
        self,
        settings: LakehouseSettings,
        *,
        sql: SqlEngine,
        catalog: CatalogBrowser,
        metrics: PipelineMetrics | None = None,
        publisher: RunPublisher | None = None,
    ) -> None:
        self.settings = settings
        self.paths = DataPaths(settings.data_path)
        self._sql = sql
        self._catalog = catalog
        self._metrics = metrics or PipelineMetrics()
        self._store = RunStore(self.paths.runs, redact=Redactor.for_settings(settings))
        self.runs = (
            LocalRunControl(self.paths, publisher, keep=settings.runs_keep, locks=lambda: self.run_locks(2))
            if publisher is not None
            else None
        )

    # ------------------------------------------------------------ what differs per backend
    def phase2_steps(self) -> list[Step]:  # pragma: no cover - abstract
        raise NotImplementedError

    def phase2_details(self) -> tuple[str, ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    def phase4_extra_steps(self) -> list[Step]:
        """Steps a backend runs after the common phase-4 steps (none by default)."""
        return []

    def phase4_details(self) -> tuple[str, ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    def run_locks(self, phase: int) -> list[RunLock]:
        """The run locks ``run(phase)`` holds: the data dir's (a backend may add its own)."""
        return [RunLock.for_key(self.settings.data_path, "data-dir")]

    # ------------------------------------------------------------ shared
    def wap_phase2_steps(self) -> list[Step]:
        """Phase 2 as write (staged), audit, publish through this runner's RunControl."""
        assert self.runs is not None, "a runner with phase 2 needs a RunPublisher"
        return phase2_steps(
            self.paths,
            self.runs.publisher,
            self.runs.publish,
            auto_publish=self.settings.auto_publish,
            run_source=self.settings.run_source,
        )

    def steps(self, phase: int) -> list[Step]:
        """The steps ``run(phase)`` executes, in order."""
        check_phase(phase)
        if phase == 1:
            return phase1_steps()
        if phase == 2:
            return self.phase2_steps()
        if phase == 3:
            return phase3_steps(self._sql, self._catalog)
        return [
            *phase4_steps(self._metrics, self._catalog, self.last_results),
            *self.phase4_extra_steps(),
        ]

    def plan(self, phase: int) -> PhasePlan:
        """Exactly what ``run(phase)`` will do: its steps and the details of this backend."""
        steps = self.steps(phase)
        if phase == 1:
            details = phase1_details(self.settings)
        elif phase == 2:
            details = (*self.phase2_details(), plan_line(self.settings))
        elif phase == 3:
            details = phase3_details(self._sql)
        else:
            details = self.phase4_details()
        return phase_plan(phase, steps, details)

    def _run(self, phase: int, progress: ProgressSink, cancel: CancelToken | None) -> PhaseResult:
        run_id = new_run_id()
        if phase == 1:
            return execute_phase1(self.settings, run_id=run_id, progress=progress, cancel=cancel)
        if phase == 2:
            budget = phase_budget(self.settings)
            manifests = RunManifests(self.paths, Redactor.for_settings(self.settings))
            with use_budget(budget), manifests.tracking(run_id, 2, run_source=self.settings.run_source):
                return run_steps(phase, self.steps(phase), run_id=run_id, progress=progress, cancel=cancel)
        return run_steps(phase, self.steps(phase), run_id=run_id, progress=progress, cancel=cancel)

    def run(
        self, phase: int, progress: ProgressSink = NULL_PROGRESS, cancel: CancelToken | None = None
    ) -> PhaseResult:
        """Run one phase holding the run locks; PhaseFailed carries (and persists) the partial result.

        Raises BusyError at once when another run holds a lock, unless ``settings.run_wait``.
        """
        check_phase(phase)
        with hold_all(
            self.run_locks(phase),
            f"phase {phase}",
            wait=self.settings.run_wait,
            timeout_s=self.settings.run_wait_timeout_s,
            cancel=cancel,
        ):
            hook_point("locked", phase=phase)
            try:
                result = self._run(phase, progress, cancel)
            except PhaseFailed as exc:
                if isinstance(exc.partial, PhaseResult):
                    self._metrics.record_phase(exc.partial)
                    try:
                        self._store.save(exc.partial)
                    except OSError as save_error:  # e.g. the disk that failed the phase is full
                        logger.warning("cannot save the failed run's result: %s", save_error)
                raise
            self._store.save(result)
        self._metrics.record_phase(result)
        return result

    def last_results(self) -> dict[int, PhaseResult]:
        """The most recent result per phase, read from ``data/runs``."""
        return self._store.load_all()
