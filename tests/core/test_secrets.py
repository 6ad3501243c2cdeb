"""Known secret values (set through the environment) never appear in logs, error lines, --json
output or run files; a failure whose message carries one is redacted everywhere it goes."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from lakehouse_core.errors import LakehouseError
from lakehouse_core.redact import Redactor, secret_values
from tests.core.cli_helpers import cli_env, one_line, run

SECRETS = {
    "LAKEHOUSE_MINIO__SECRET_KEY": "minio-S3cr3t-4f1c\"quote",
    "LAKEHOUSE_POSTGRES__PASSWORD": "pg-S3cr3t-77aa",
    "LAKEHOUSE_DREMIO__PASSWORD": "dremio-S3cr3t-9b2e",
}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dead_services() -> dict[str, str]:
    port = _closed_port()
    url = f"http://127.0.0.1:{port}"
    return {
        "LAKEHOUSE_HTTP_TIMEOUT_S": "0.5",
        "LAKEHOUSE_NESSIE__URL": url,
        "LAKEHOUSE_MINIO__ENDPOINT": url,
        "LAKEHOUSE_DREMIO__URL": url,
        "LAKEHOUSE_PROMETHEUS__URL": url,
        "LAKEHOUSE_POSTGRES__PORT": str(port),
        "LAKEHOUSE_DOCKER__ENABLED": "false",
    }


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS.values():
        for part in (secret, secret.split('"')[0]):
            assert part not in text, f"{where} holds a secret"


def test_the_redactor_masks_every_form() -> None:
    from lakehouse_core.settings import LakehouseSettings

    settings = LakehouseSettings(
        _env_file=None,  # type: ignore[call-arg]
        minio={"secret_key": 'a"b/c d'},
        postgres={"password": "pw-1234"},
    )
    assert set(secret_values(settings)) == {'a"b/c d', "pw-1234"}  # defaults are public, not secrets
    redact = Redactor.for_settings(settings)
    assert redact('x a"b/c d y a\\"b/c d z a%22b%2Fc%20d pw-1234') == "x *** y *** z *** ***"


@pytest.mark.slow
def test_secrets_stay_out_of_the_cli_outputs_logs_and_run_files(tmp_path: Path) -> None:
    hook = tmp_path / "hook.py"  # a failure whose message carries every secret
    hook.write_text(
        "import os\n"
        "def hook(point, **info):\n"
        "    if point == 'step' and info.get('step') == 'validate_data_quality':\n"
        "        keys = ('LAKEHOUSE_MINIO__SECRET_KEY', 'LAKEHOUSE_POSTGRES__PASSWORD', "
        "'LAKEHOUSE_DREMIO__PASSWORD')\n"
        "        raise RuntimeError('cannot connect with ' + ' and '.join(os.environ[k] for k in keys))\n"
    )
    env = cli_env(tmp_path, **SECRETS, LAKEHOUSE_TEST_HOOK=str(hook))
    data = ["--data-dir", str(tmp_path / "data")]
    outputs: list[tuple[str, str]] = []

    code, out, err = run(env, "-v", *data, "phase", "1", "--orders", "200")
    assert code == 1
    assert "cannot connect with *** and *** and ***" in one_line(err.splitlines()[-1])
    outputs += [("phase 1 stdout", out), ("phase 1 stderr", err)]
    run_file = (tmp_path / "data" / "runs" / "phase-1.json").read_text()
    assert "cannot connect with *** and ***" in run_file
    for argv in (["--json", "status"], ["--json", "tables"], ["--json", "sql", "SELECT 1 AS x"]):
        code, out, err = run(env, "-v", *data, *argv)
        assert code == 0, err
        outputs += [(" ".join(argv), out), (" ".join(argv) + " stderr", err)]
    stack = {**env, **_dead_services()}
    for argv in (["--json", "status"], ["sql", "SELECT 1"], ["tables"]):
        code, out, err = run(stack, "-v", "--mode", "stack", *data, *argv, timeout=180)
        outputs += [("stack " + " ".join(argv), out), ("stack " + " ".join(argv) + " stderr", err)]
    for where, text in outputs:
        _assert_clean(text, where)
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".log"):
            _assert_clean(path.read_text(errors="replace"), str(path))
    log = Path(env["LAKEHOUSE_LOG_FILE"]).read_text()
    assert "cannot connect with ***" in log
    _assert_clean(log, "the log file")


def test_stack_backend_logs_and_errors_hold_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("httpx")
    from lakehouse_core.backends import load_backend
    from lakehouse_core.settings import load_settings

    for key, value in {**SECRETS, **_dead_services()}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(tmp_path / "absent.toml"))
    caplog.set_level(logging.DEBUG)
    settings = load_settings(mode="stack", data_dir=tmp_path / "data")
    backend = load_backend(settings)
    errors: list[str] = []
    statuses = backend.status.statuses()
    errors += [f"{s.detail} {s.last_error}" for s in statuses]
    for call in (
        lambda: backend.sql.execute("SELECT 1"),
        lambda: backend.catalog.list_namespaces(),
        lambda: backend.phases.run(2),
    ):
        try:
            call()
        except LakehouseError as exc:
            errors.append(str(exc))
    assert errors
    _assert_clean(caplog.text, "caplog")
    _assert_clean(" ".join(errors), "error messages")
    _assert_clean(repr(settings), "repr(settings)")
