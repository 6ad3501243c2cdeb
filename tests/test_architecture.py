"""Architecture rules as tests: import-linter contracts (pyproject.toml) and ruff stay green."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_import_contracts_hold() -> None:
    proc = subprocess.run([str(BIN / "lint-imports")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_core_never_imports_textual_at_runtime() -> None:
    code = (
        "import sys, lakehouse_core.cli, lakehouse_core.backends.embedded; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_ruff_is_clean() -> None:
    targets = ["lakehouse_core", "tui", "tests", "bench", "scripts"]
    proc = subprocess.run(
        [str(BIN / "ruff"), "check", *targets], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
