"""Run the real ``lakehouse`` CLI in subprocesses (``python -m lakehouse_core.cli``) for tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

HOOK = '''
import os, pathlib, time

def hook(point, **info):
    """Hold the run at the gate: touch <gate>.reached, wait until <gate> exists (no sleep timing)."""
    gate = os.environ.get("TEST_GATE")
    where = os.environ.get("TEST_GATE_AT", "step:1:ingest_to_bronze").split(":")
    if not gate or point != where[0]:
        return
    if where[1:] and str(info.get("phase")) != where[1] or where[2:] and info.get("step") != where[2]:
        return
    pathlib.Path(gate + ".reached").write_text(str(os.getpid()))
    while not pathlib.Path(gate).exists():
        time.sleep(0.02)
'''


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no LAKEHOUSE_* from the caller, a log file under ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["LAKEHOUSE_LOG_FILE"] = str(tmp_path / "lakehouse.log")
    env["LAKEHOUSE_CONFIG_FILE"] = str(tmp_path / "absent.toml")
    env.update(extra)
    return env


# A child of a background shell inherits SIGINT ignored: the child restores Python's handler. Not with
# ``preexec_fn``: it forces a plain fork(), and a forked copy of a test process holding a gRPC channel
# (the Spark Connect tests) can write gRPC's poller errors into the child's stderr before exec.
LAUNCH = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('lakehouse_core.cli', run_name='__main__', alter_sys=True)"
)


def start(env: dict[str, str], *argv: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    """Start ``lakehouse *argv``."""
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *argv],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(
    env: dict[str, str], *argv: str, timeout: float = 300, cwd: Path | None = None
) -> tuple[int, str, str]:
    """Run ``lakehouse *argv``; (exit code, stdout, stderr)."""
    proc = start(env, *argv, cwd=cwd)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def wait_for(path: Path, proc: subprocess.Popen[str] | None = None, timeout: float = 240) -> None:
    """Wait until ``path`` exists (the gate was reached); fail if ``proc`` ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended ({proc.returncode}) first: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def assert_counts(data: Path, orders: int) -> dict[str, Any]:
    """raw = bronze = valid + quarantined for every table (quality report), raw files and bronze
    Parquet agree with it, and orders has exactly ``orders`` rows (no interleaved writers)."""
    from lakehouse_core.paths import DataPaths
    from lakehouse_core.pipeline.parts import table_rows

    published = data / "current"  # the published phase-1 run: what readers see
    report = json.loads((published / "bronze" / "quality_report.json").read_text())
    for table, t in report["tables"].items():
        assert t["raw_rows"] == t["bronze_rows"] == t["valid_rows"] + t["quarantined_rows"], (table, t)
        lines = sum(sum(1 for _ in f.open("rb")) - 1 for f in DataPaths(data).raw_files(table))
        assert lines == t["raw_rows"], (table, lines, t)
        assert table_rows(published / "bronze" / f"{table}.parquet") == t["bronze_rows"]
    assert report["tables"]["orders"]["raw_rows"] == orders
    return report


def one_line(err: str) -> str:
    """The single line of ``err`` (asserting there is exactly one)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]
