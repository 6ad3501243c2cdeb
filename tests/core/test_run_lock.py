"""One run at a time: the run lock in-process, and two real ``lakehouse`` processes on one data dir
(made slow deterministically by a test hook that holds the first run at a gate file)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lakehouse_core.errors import BusyError
from lakehouse_core.phases.lock import RunLock, held_fds, read_holder
from tests.conftest import deliver_orders
from tests.core.cli_helpers import HOOK, assert_counts, cli_env, one_line, run, start, wait_for

BUSY = 5
ORDERS = 400


# ---------------------------------------------------------------- in-process
def test_second_holder_fails_at_once_naming_the_first(tmp_path: Path) -> None:
    lock = RunLock.for_key(tmp_path, "data-dir")
    errors: list[BusyError] = []
    with lock.hold("phase 1"):
        holder = read_holder(lock.path)
        assert holder is not None and holder.pid == os.getpid() and holder.phase == "phase 1"

        def other_thread() -> None:
            try:
                RunLock.for_key(tmp_path, "data-dir").acquire("phase 2")
            except BusyError as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert len(errors) == 1
        assert re.fullmatch(
            rf"phase 1 is running since \d\d:\d\d:\d\d \(pid {os.getpid()}, `[^`]+`\); use --wait to queue",
            errors[0].message,
        )
        with lock.hold("phase 2"):  # reentrant for the holding thread; the record names the phase
            assert read_holder(lock.path).phase == "phase 2"  # type: ignore[union-attr]
        assert held_fds()
    assert read_holder(lock.path) is None and not held_fds()
    with RunLock.for_key(tmp_path, "data-dir").hold("phase 3"):  # free again
        pass


def test_waiting_gives_up_after_the_timeout(tmp_path: Path) -> None:
    lock = RunLock.for_key(tmp_path, "data-dir")
    with lock.hold("phase 1"):
        result: list[BaseException] = []

        def waiter() -> None:
            try:
                RunLock.for_key(tmp_path, "data-dir").acquire("phase 2", wait=True, timeout_s=0.5)
            except BusyError as exc:
                result.append(exc)

        thread = threading.Thread(target=waiter)
        thread.start()
        thread.join(timeout=30)
        assert result and "gave up waiting after 0.5 s: phase 1 is running" in str(result[0])


def test_the_runner_holds_the_lock_for_the_whole_phase(tmp_path: Path) -> None:
    from lakehouse_core.backends.embedded import build_embedded
    from tests.conftest import embedded_settings

    settings = embedded_settings(tmp_path / "data", orders=300, phase_isolation="thread")
    backend = build_embedded(settings)
    with RunLock.for_key(settings.data_path, "data-dir").hold("generate"):
        seen: list[BusyError] = []
        thread = threading.Thread(target=lambda: _capture(seen, lambda: backend.phases.run(1)))
        thread.start()
        thread.join(timeout=60)
        assert seen and seen[0].message.startswith("generate is running since")
    assert not (settings.data_path / "raw" / "orders.csv").exists()  # the refused run did nothing


def _capture(into: list[BusyError], fn: object) -> None:
    try:
        fn()  # type: ignore[operator]
    except BusyError as exc:
        into.append(exc)


# ---------------------------------------------------------------- two processes
@pytest.fixture()
def gated(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """(environment with the gate hook, data dir, gate file)."""
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    gate = tmp_path / "gate"
    env = cli_env(tmp_path, LAKEHOUSE_TEST_HOOK=str(hook), TEST_GATE=str(gate))
    return env, tmp_path / "data", gate


def _reached(gate: Path) -> Path:
    return gate.with_name(gate.name + ".reached")


def _busy_line(err: str, phase: str, pid: int) -> None:
    line = one_line(err)
    assert re.fullmatch(
        rf"busy: {phase} is running since \d\d:\d\d:\d\d \(pid {pid}, `lakehouse [^`]*`\)"
        r"; use --wait to queue",
        line,
    ), line


@pytest.mark.slow
def test_phase1_twice_second_fails_at_once_or_waits(gated: tuple[dict[str, str], Path, Path]) -> None:
    env, data, gate = gated
    plain = {k: v for k, v in env.items() if k != "TEST_GATE"}
    first = start(env, "-q", "--data-dir", str(data), "phase", "1", "--orders", str(ORDERS))
    try:
        wait_for(_reached(gate), first)
        # arriving second without --wait: fails at once, one line naming the holder, exit 5
        code, _, err = run(plain, "-q", "--data-dir", str(data), "phase", "1", "--orders", "999", timeout=120)
        assert code == BUSY, err
        _busy_line(err, "phase 1", first.pid)
        holder = json.loads((data / "locks" / "data-dir.lock.json").read_text())
        assert holder["pid"] == first.pid and holder["child_pid"]  # the phase child runs under it
        # arriving second with --wait: queued behind the first, then runs
        _queue_phase1_behind(first, "phase 1", plain, data, gate)
    finally:
        gate.write_text("go")
        if first.poll() is None:
            first.kill()
    _assert_last_run_whole(data, rerun=True)  # the queued run found no new raw file
    assert not (data / "locks" / "data-dir.lock.json").exists()


@pytest.mark.slow
def test_phase2_holding_phase1_queues(gated: tuple[dict[str, str], Path, Path]) -> None:
    env, data, gate = gated
    plain = {k: v for k, v in env.items() if k != "TEST_GATE"}
    code, _, err = run(plain, "-q", "--data-dir", str(data), "phase", "1", "--orders", str(ORDERS))
    assert code == 0, err
    env = {**env, "TEST_GATE_AT": "step:2"}
    first = start(env, "-q", "--data-dir", str(data), "phase", "2")
    try:
        wait_for(_reached(gate), first)
        code, _, err = run(plain, "-q", "--data-dir", str(data), "generate", "--orders", "50", timeout=120)
        assert code == BUSY
        _busy_line(err, "phase 2", first.pid)
        _queue_phase1_behind(first, "phase 2", plain, data, gate)
    finally:
        gate.write_text("go")
        if first.poll() is None:
            first.kill()
    _assert_last_run_whole(data, rerun=True)  # the queued phase 1 found no new raw file
    code, out, _ = run(plain, "--json", "--data-dir", str(data), "sql", "SELECT COUNT(*) FROM bronze.orders")
    assert code == 0 and json.loads(out)["rows"] == [[ORDERS]]  # phase 2 promoted the first run whole
    # new raw data: the next run publishes the increment
    new = deliver_orders(data)
    for phase in ("1", "2"):
        code, _, err = run(plain, "-q", "--data-dir", str(data), "phase", phase)
        assert code == 0, err
    _assert_last_run_whole(data, ORDERS + len(new))
    code, out, _ = run(plain, "--json", "--data-dir", str(data), "sql", "SELECT COUNT(*) FROM bronze.orders")
    assert code == 0 and json.loads(out)["rows"] == [[ORDERS + len(new)]]


@pytest.mark.slow
def test_wait_timeout_gives_up_with_one_line(gated: tuple[dict[str, str], Path, Path]) -> None:
    env, data, gate = gated
    plain = {k: v for k, v in env.items() if k != "TEST_GATE"}
    first = start(env, "-q", "--data-dir", str(data), "phase", "1", "--orders", str(ORDERS))
    try:
        wait_for(_reached(gate), first)
        code, _, err = run(plain, "-q", "--data-dir", str(data), "run", "--wait", "--wait-timeout", "1")
        assert code == BUSY
        lines = err.strip().splitlines()
        assert lines[0].startswith("waiting for the run lock: phase 1 is running since")
        assert re.fullmatch(r"busy: gave up waiting after 1 s: phase 1 is running since .*", lines[-1])
        assert len(lines) == 2
    finally:
        gate.write_text("go")
        first.communicate(timeout=300)
    assert first.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_a_killed_holder_is_taken_over(gated: tuple[dict[str, str], Path, Path], isolation: str) -> None:
    env, data, gate = gated
    env = {**env, "LAKEHOUSE_PHASE_ISOLATION": isolation}
    plain = {k: v for k, v in env.items() if k != "TEST_GATE"}
    first = start(env, "-q", "--data-dir", str(data), "phase", "1", "--orders", str(ORDERS))
    wait_for(_reached(gate), first)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=60)
    if isolation == "process":
        # the phase child inherited the lock: it stays held until the child is gone too
        code, _, err = run(plain, "-q", "--data-dir", str(data), "phase", "1", timeout=120)
        assert code == BUSY
        assert f"pid {first.pid} is gone, its phase process" in one_line(err)
        gate.write_text("go")  # the orphan child goes on, sees its parent gone and stops
        _wait_lock_free(data / "locks" / "data-dir.lock")
    code, _, err = run(plain, "-q", "--data-dir", str(data), "phase", "1")
    assert code == 0, err
    assert re.search(
        r"taking over the run lock \S+ left by a run that died: "
        rf"phase 1 started \d\d:\d\d:\d\d \(pid {first.pid}",
        err,
    ), err
    _assert_last_run_whole(data)


def _queue_phase1_behind(
    first: subprocess.Popen[str], holding: str, env: dict[str, str], data: Path, gate: Path
) -> None:
    """``phase 1 --wait`` arrives while ``first`` holds the lock: it waits, then both complete."""
    waiter = start(env, "-q", "--data-dir", str(data), "phase", "1", "--wait")
    assert _first_line(waiter).startswith(f"waiting for the run lock: {holding} is running since")
    gate.write_text("go")
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    _, err = waiter.communicate(timeout=300)
    assert waiter.returncode == 0, err


def _first_line(proc: subprocess.Popen[str]) -> str:
    """The first line ``proc`` writes on stderr (it is waiting once it said so)."""
    assert proc.stderr is not None
    return proc.stderr.readline()


def _assert_last_run_whole(data: Path, orders: int = ORDERS, *, rerun: bool = False) -> None:
    """The counts check, and bronze's quality report is the last phase-1 run's, which completed;
    ``rerun``: the last run found no new raw file, published nothing and said so (the report is then
    the run before it's)."""
    report = assert_counts(data, orders)
    last = json.loads((data / "runs" / "phase-1.json").read_text())
    assert last["ok"]
    if not rerun:
        assert report["run_id"] == last["run_id"]
        return
    assert report["run_id"] != last["run_id"]
    publish = next(t for t in last["tasks"] if t["name"] == "publish_outputs")
    assert publish["detail"] == f"nothing new: data/current stays at runs/{report['run_id']}"


def _wait_lock_free(path: Path, timeout: float = 120) -> None:
    """Wait until nobody holds the flock on ``path`` (a zombie's descriptors are closed already)."""
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            assert time.monotonic() < deadline, "the orphan phase child never released the lock"
        finally:
            os.close(fd)  # releases our probe lock too
        time.sleep(0.05)
