"""Phases in a child process (phases.isolation): results, errors, crashes, cancel, output hygiene."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from lakehouse_core.errors import (
    CancelledError,
    DataError,
    LakehouseError,
    PhaseFailed,
    ServiceUnavailableError,
)
from lakehouse_core.phases import execute_phase1, isolation
from lakehouse_core.ports import CancelToken
from lakehouse_core.settings import LakehouseSettings, load_settings
from tests.core import isolation_jobs as jobs
from tests.core.test_phases_engine import Events


@pytest.fixture
def settings(tmp_path: Path) -> LakehouseSettings:
    return load_settings(mode="embedded", data_dir=tmp_path / "data", orders=7)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_result_progress_and_logs_come_back_and_stray_output_goes_to_the_log_file(
    settings: LakehouseSettings, caplog: pytest.LogCaptureFixture
) -> None:
    events = Events()
    with caplog.at_level(logging.WARNING, logger="tests.isolation_jobs"):
        result = isolation.run_isolated(jobs.chatty, settings, 1, run_id="RUN-1", progress=events, nice=3)
    child_pid = result.outputs["pid"]
    assert child_pid != os.getpid()
    assert result.outputs["run_id"] == "RUN-1" and result.outputs["orders"] == 7
    assert result.outputs["nice"] == os.nice(0) + 3  # the child runs at a lower CPU priority
    assert [(e.kind, e.done, e.total) for e in events.items] == [("advance", i, 3) for i in (1, 2, 3)]
    assert [r.getMessage() for r in caplog.records] == [f"hello from pid {child_pid}"]
    log = isolation.child_log_path(settings, 1).read_text()
    assert (
        "a stray print on stdout" in log and "a stray print on stderr" in log and "raw bytes on fd 1" in log
    )
    assert not _pid_alive(child_pid)


def test_phase_failed_keeps_its_partial_result(settings: LakehouseSettings) -> None:
    with pytest.raises(PhaseFailed) as info:
        isolation.run_isolated(jobs.fails_with_partial, settings, 1, run_id="R")
    assert str(info.value) == "phase 1 failed: bronze exploded"
    assert info.value.partial.outputs == {"partial": True}


def test_our_errors_keep_type_message_and_title(settings: LakehouseSettings) -> None:
    with pytest.raises(DataError) as info:
        isolation.run_isolated(jobs.data_error, settings, 1, run_id="R")
    assert (str(info.value), info.value.title) == ("no raw CSVs under data/raw", "No input")


def test_a_bug_in_the_child_becomes_an_error_with_its_cause_and_a_traceback_in_the_log(
    settings: LakehouseSettings,
) -> None:
    with pytest.raises(LakehouseError, match=r"phase 1 failed: KeyError\('missing'\)"):
        isolation.run_isolated(jobs.bug, settings, 1, run_id="R")
    assert "Traceback" in isolation.child_log_path(settings, 1).read_text()


def test_a_killed_child_fails_the_phase_and_the_caller_survives(settings: LakehouseSettings) -> None:
    with pytest.raises(PhaseFailed) as info:
        isolation.run_isolated(jobs.crash, settings, 1, run_id="R")
    message = str(info.value)
    assert "killed by SIGKILL (out of memory?)" in message
    assert "its log ends: about to die" in message


def test_cancel_reaches_the_child(settings: LakehouseSettings) -> None:
    token, events = CancelToken(), Events()
    threading.Timer(1.0, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(CancelledError, match="cancelled by user"):
        isolation.run_isolated(jobs.until_cancelled, settings, 1, run_id="R", progress=events, cancel=token)
    assert time.monotonic() - started < 10
    assert [e.message for e in events.items] == ["waiting for cancel"]


def test_a_child_that_ignores_cancel_is_terminated(
    settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolation, "CANCEL_GRACE_S", 0.5)
    token = CancelToken()
    threading.Timer(1.0, token.cancel).start()
    with pytest.raises(CancelledError, match="did not stop within 0.5 s and was terminated"):
        isolation.run_isolated(jobs.ignores_cancel, settings, 1, run_id="R", cancel=token)


def test_phase1_is_the_same_in_a_child_process_and_in_a_thread(tmp_path: Path) -> None:
    results = {}
    for mode in ("process", "thread"):
        settings = load_settings(mode="embedded", data_dir=tmp_path / mode, orders=300, phase_isolation=mode)
        events = Events()
        results[mode] = execute_phase1(settings, run_id=f"R-{mode}", progress=events)
        finished = [e.task for e in events.items if e.kind == "finish"]
        assert finished[-3:] == ["generate_report", "audit_outputs", "publish_outputs"]
    assert results["process"].ok and results["process"].run_id == "R-process"
    assert results["process"].rows_per_layer == results["thread"].rows_per_layer
    assert results["process"].rows_per_layer["raw.orders"] == 300
    assert (tmp_path / "process" / "current" / "gold").is_dir()
    assert (tmp_path / "process" / "runs" / "R-process" / "gold").is_dir()


def test_the_child_log_holds_the_last_run_only(settings: LakehouseSettings) -> None:
    with pytest.raises(LakehouseError):
        isolation.run_isolated(jobs.bug, settings, 1, run_id="R")
    assert "Traceback" in isolation.child_log_path(settings, 1).read_text()
    isolation.run_isolated(jobs.chatty, settings, 1, run_id="R")
    log = isolation.child_log_path(settings, 1).read_text()
    assert "Traceback" not in log and "a stray print on stdout" in log


def test_an_error_crosses_as_the_object_with_its_own_fields(settings: LakehouseSettings) -> None:
    with pytest.raises(PhaseFailed) as info:
        isolation.run_isolated(jobs.service_down, settings, 1, run_id="R")
    cause = info.value.cause
    assert isinstance(cause, ServiceUnavailableError)
    assert (cause.service, cause.cause) == ("nessie", "connection refused")
    assert cause.title == "Service unavailable"
    assert info.value.partial.outputs == {"partial": True}


def test_an_error_that_cannot_be_pickled_fails_the_phase_with_its_text(settings: LakehouseSettings) -> None:
    with pytest.raises(PhaseFailed, match="phase 1 failed: Local: a local error type"):
        isolation.run_isolated(jobs.unpicklable_error, settings, 1, run_id="R")


def test_a_result_that_cannot_be_pickled_fails_the_phase(settings: LakehouseSettings) -> None:
    with pytest.raises(PhaseFailed, match="outcome cannot be sent"):
        isolation.run_isolated(jobs.unpicklable_result, settings, 1, run_id="R")
