"""The phases of the lakehouse.

- ``engine``: steps run in order with progress, cancellation, timing and partial results;
- ``definitions``: what phases 1-4 are (titles, steps, plan details);
- ``runner``: the PhaseRunner base the backends extend with what differs;
- ``isolation`` (+ ``_child``, ``messages``): a phase in a child process.
"""

from lakehouse_core.phases.definitions import (
    PHASE4_TASKS,
    PHASE_TITLES,
    iceberg_layout,
    phase1_details,
    phase1_steps,
    phase3_steps,
    phase4_steps,
    promote_step,
    record_table_commits,
    record_table_stats,
    run_phase1,
)
from lakehouse_core.phases.engine import Step, StepOutput, call_with, run_steps, summarize
from lakehouse_core.phases.runner import PersistentPhaseRunner, check_phase, execute_phase1

__all__ = [
    "PHASE4_TASKS",
    "PHASE_TITLES",
    "PersistentPhaseRunner",
    "Step",
    "StepOutput",
    "call_with",
    "check_phase",
    "execute_phase1",
    "iceberg_layout",
    "phase1_details",
    "phase1_steps",
    "phase3_steps",
    "phase4_steps",
    "promote_step",
    "record_table_commits",
    "record_table_stats",
    "run_phase1",
    "run_steps",
    "summarize",
]
