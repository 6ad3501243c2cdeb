"""No traceback, ever, from the CLI: each case is one line on stderr and its documented exit code
(the real ``lakehouse`` in subprocesses)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.cli_helpers import cli_env, one_line, run, start

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err and 'File "' not in err, err


def test_help_lists_the_exit_codes(env: dict[str, str]) -> None:
    code, out, _ = run(env, "--help")
    assert code == 0
    for line in ("5    busy", "70   internal error", "74   I/O error", "130  cancelled"):
        assert line in out
    readme = (ROOT / "README.md").read_text()
    for code_text in ("5 busy", "70 internal error", "74 I/O error"):
        assert code_text in readme


def test_data_dir_is_a_file(tmp_path: Path, env: dict[str, str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    for argv in (["tables"], ["phase", "1"], ["sql", "select 1"], ["status"]):
        code, _, err = run(env, "--data-dir", str(afile), *argv)
        assert code == 2
        assert one_line(err) == f"error: data dir {afile} is not a directory"
    code, _, err = run(env, "--data-dir", str(afile / "sub"), "generate")
    assert code == 2
    assert one_line(err) == f"error: data dir {afile / 'sub'} cannot be created: Not a directory"


@contextlib.contextmanager
def _mounted_tmpfs(where: Path, options: str) -> Iterator[None]:
    """A tmpfs at ``where`` (skips the test, with the reason, where mounting is impossible)."""
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_data_dir_not_writable(tmp_path: Path, env: dict[str, str]) -> None:
    target = tmp_path / "ro"
    if os.geteuid() != 0:
        target.mkdir()
        target.chmod(0o555)
        context: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    else:  # root writes through file modes: a read-only file system
        context = _mounted_tmpfs(target, "ro,size=1m")
    with context:
        code, _, err = run(env, "--data-dir", str(target), "generate")
        assert code == 2 and one_line(err) == f"error: data dir {target} is not writable"
        code, _, err = run(env, "--data-dir", str(target / "sub"), "phase", "1")
        assert code == 2
        assert one_line(err).startswith(f"error: data dir {target / 'sub'} cannot be created: ")


def test_exporter_port_out_of_range_and_taken(tmp_path: Path, env: dict[str, str]) -> None:
    code, _, err = run(env, "--data-dir", str(tmp_path / "d"), "exporter", "--port", "70000")
    assert code == 2 and one_line(err) == "error: port 70000 is not a TCP port (0-65535)"
    code, _, err = run({**env, "LAKEHOUSE_PROMETHEUS__EXPORTER_PORT": "70000"}, "exporter")
    assert code == 2 and "port 70000 is not a TCP port" in one_line(err)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(env, "--data-dir", str(tmp_path / "d"), "exporter", "--port", str(port))
    assert code == 1
    assert one_line(err) == f"error: cannot serve metrics on 127.0.0.1:{port}: Address already in use"


def test_ctrl_c_on_the_exporter(tmp_path: Path, env: dict[str, str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = start(env, "--data-dir", str(tmp_path / "d"), "exporter", "--port", str(port), "--interval", "0.1")
    assert proc.stderr is not None
    serving = proc.stderr.readline()  # said once the server listens
    assert serving.strip() == f"serving pipeline metrics on http://127.0.0.1:{port}/metrics"
    with socket.create_connection(("127.0.0.1", port), timeout=10):
        pass
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["cancelled"]


def test_stack_mode_without_the_stack_extra(tmp_path: Path, env: dict[str, str]) -> None:
    blocker = tmp_path / "sitecustomize.py"  # makes `import httpx` fail as if the extra were absent
    blocker.write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'httpx':\n"
        "            raise ModuleNotFoundError(f\"No module named '{name}'\", name=name)\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    blocked = {**env, "PYTHONPATH": f"{tmp_path}{os.pathsep}{env['PYTHONPATH']}"}
    for argv in (["status"], ["tables"], ["phase", "1"], ["sql", "select 1"]):
        code, _, err = run(blocked, "--mode", "stack", "--data-dir", str(tmp_path / "d"), *argv)
        assert code == 2, err
        assert one_line(err) == (
            "error: stack mode needs the [stack] extra: pip install 'lakehouse-tui[stack]' (no module httpx)"
        )


def test_sql_data_is_never_rich_markup(tmp_path: Path, env: dict[str, str]) -> None:
    query = "SELECT '[/x]' AS a, '[bold]hi[/]' AS \"[red]b\""
    (tmp_path / "d" / "raw").mkdir(parents=True)  # a lakehouse with raw data only
    code, out, err = run(env, "--data-dir", str(tmp_path / "d"), "sql", query)
    assert code == 0, err
    assert "[/x]" in out and "[bold]hi[/]" in out and "[red]b" in out
    code, out, _ = run(env, "--json", "--data-dir", str(tmp_path / "d"), "sql", query)
    assert json.loads(out)["rows"] == [["[/x]", "[bold]hi[/]"]]
    code, _, err = run(env, "--data-dir", str(tmp_path / "d"), "sql", "SELECT [/x] FROM [bold]")
    assert code == 1
    assert one_line(err).startswith("error: Parser Error: syntax error at or near") and "[/x]" in err


def test_settings_errors_name_the_field_and_the_reason(tmp_path: Path, env: dict[str, str]) -> None:
    data = ["--data-dir", str(tmp_path / "d")]
    code, _, err = run({**env, "LAKEHOUSE_ORDERS": "-5"}, *data, "generate")
    assert code == 2 and one_line(err) == "error: settings: orders: Input should be greater than 0 (got -5)"
    code, _, err = run({**env, "LAKEHOUSE_MODE": "cloud"}, *data, "tables")
    assert code == 2 and one_line(err) == (
        "error: settings: mode: Input should be 'embedded' or 'stack' (got cloud)"
    )
    toml = tmp_path / "bad.toml"
    toml.write_text("phase_nice = 40\n[tui]\nfetch_limit = 'many'\n")
    code, _, err = run({**env, "LAKEHOUSE_CONFIG_FILE": str(toml)}, *data, "tables")
    line = one_line(err)
    assert code == 2 and "validation error" not in line
    assert "phase_nice: Input should be less than or equal to 19 (got 40)" in line
    assert "tui.fetch_limit: Input should be a valid integer" in line
    code, _, err = run(env, *data, "generate", "--orders", "-5")
    assert code == 2 and one_line(err) == "error: --orders must be a positive number"


def test_an_unexpected_error_is_one_line_with_the_traceback_in_the_log(
    tmp_path: Path, env: dict[str, str]
) -> None:
    hook = tmp_path / "hook.py"
    hook.write_text(
        "def hook(point, **info):\n"
        "    if point == 'locked':\n"
        "        raise KeyError('surprise')\n"
    )
    hooked = {**env, "LAKEHOUSE_TEST_HOOK": str(hook)}
    code, _, err = run(hooked, "--data-dir", str(tmp_path / "d"), "phase", "3")
    log = Path(env["LAKEHOUSE_LOG_FILE"])
    assert code == 70
    assert one_line(err) == f"internal error: KeyError: 'surprise' (details in {log})"
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "KeyError: 'surprise'" in text


# ---------------------------------------------------------------- disk full
def _digests(data: Path) -> dict[str, str]:
    files = [*data.glob("runs/*.json"), *data.glob("current/**/*.parquet"), *data.glob("raw/*.csv")]
    files = [f for f in files if f.is_file()]  # bronze and silver are directories of part files
    return {str(f.relative_to(data)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def _fill(directory: Path) -> None:
    """Write until the file system is full."""
    # closing raises too when the last flush could not write the buffer: suppressed around the file
    with contextlib.suppress(OSError), open(directory / "filler", "wb") as fh:
        chunk = b"\0" * (1 << 16)
        while True:
            fh.write(chunk)
            fh.flush()
    with contextlib.suppress(OSError), open(directory / "filler2", "wb") as fh:  # the last bytes
        while True:
            fh.write(b"\0" * 512)
            fh.flush()


@pytest.mark.slow
def test_disk_full_is_one_line_and_loses_nothing_published(tmp_path: Path, env: dict[str, str]) -> None:
    fs = tmp_path / "small"
    with _mounted_tmpfs(fs, "size=8m"):
        data = fs / "data"
        code, _, err = run(env, "-q", "--data-dir", str(data), "phase", "1", "--orders", "300")
        assert code == 0, err
        before = _digests(data)
        assert {"runs/phase-1.json", "raw/orders.csv"} <= set(before)
        assert any(name.startswith("current/bronze/orders.parquet/part-") for name in before)
        published = (data / "current").resolve()
        _fill(fs)
        for argv in (["phase", "1", "--orders", "20000"], ["generate", "--orders", "20000", "--overwrite"]):
            code, _, err = run(env, "-q", "--data-dir", str(data), *argv)
            assert code == 74, err
            _no_traceback(err)
            line = one_line(err)
            assert line.startswith("error: ") and "no space left on device" in line.lower(), err
        (fs / "filler").unlink()  # room to read and check
        assert _digests(data) == before and (data / "current").resolve() == published
        assert not [p for p in data.rglob("*.tmp")]
        import pyarrow.parquet as pq

        for name in before:
            if name.endswith(".parquet"):
                pq.read_table(data / name)
        assert json.loads((data / "runs" / "phase-1.json").read_text())["ok"] is True


def test_run_files_are_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    from datetime import UTC, datetime

    from lakehouse_core.models import PhaseResult
    from lakehouse_core.runs import RunStore

    store = RunStore(tmp_path)
    old = PhaseResult(1, True, "old-run", datetime.now(UTC), 1.0)
    store.save(old)
    original = (tmp_path / "phase-1.json").read_bytes()

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        store.save(PhaseResult(1, False, "new-run", datetime.now(UTC), 2.0))
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "phase-1.json")
    assert (tmp_path / "phase-1.json").read_bytes() == original
    assert (tmp_path / "phase-1.json").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["phase-1.json"]
