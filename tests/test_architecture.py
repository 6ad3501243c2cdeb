"""Architecture rules as tests: import-linter contracts (pyproject.toml) and ruff stay green."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import lakehouse_core

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Every top-level module of lakehouse_core, by layer. A new module fails
# test_every_core_module_has_a_layer until it is placed here (and, for the interface, allowed to the
# UI in pyproject.toml), so the allow-list of the UI contract cannot rot.
LAYERS: dict[str, set[str]] = {
    # what the UI may import (the allow-list of contract "the UI imports only the core's interface")
    "interface": {"ports", "models", "errors", "settings", "sqlparse", "units", "report"},
    # the lakehouse itself, on pyiceberg/DuckDB/pyarrow: never imports a backend, the CLI or the UI
    "shared": {
        "pipeline", "iceberg", "engines", "phases", "observability", "paths", "queries", "runs", "schemas",
        "fileio", "redact",
        "audits", "faults", "publish", "runcontrol", "runlog", "runmeta", "budget", "monitoring", "compose",
    },
    # thin assemblies of shared parts and service clients, independent of each other
    "backends": {"backends"},
    # composition roots: the only callers of load_backend (with tui.cli)
    "entry points": {
        "cli", "cli_maintain", "cli_nessie", "cli_report", "cli_runs", "cli_stack", "cli_support"
    },
}


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


def test_the_tui_process_loads_no_heavy_module_it_does_not_need(tmp_path: Path) -> None:
    """The embedded backend and the SQL screen, as the TUI builds them, import neither pandas (40 MB,
    pulled in by ``pyiceberg.io.pyarrow`` and ``pyarrow.dataset``), nor a tree-sitter grammar (29 MB),
    nor SQLAlchemy (17 MB: only writers open pyiceberg's SqlCatalog): the TUI's memory after a large
    result was measured with these gone (bench/README)."""
    code = (
        "import sys; from lakehouse_core.settings import load_settings; "
        "from lakehouse_core.backends import load_backend; import tui.app, tui.screens.sql; "
        f"load_backend(load_settings(mode='embedded', data_dir={str(tmp_path)!r})); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'tree_sitter_sql', 'sqlalchemy'}), "
        "'pyarrow.dataset' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] False"


def test_ruff_is_clean() -> None:
    targets = ["lakehouse_core", "tui", "tests", "bench", "scripts"]
    proc = subprocess.run(
        [str(BIN / "ruff"), "check", *targets], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def _contract(name: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["name"] == name)


def test_every_core_module_has_a_layer() -> None:
    modules = {m.name for m in pkgutil.iter_modules(lakehouse_core.__path__)}
    classified = [name for layer in LAYERS.values() for name in layer]
    assert len(classified) == len(set(classified)), "a module is in two layers"
    assert sorted(modules - set(classified)) == [], "new lakehouse_core module: give it a layer in LAYERS"
    assert sorted(set(classified) - modules) == [], "LAYERS names a module that no longer exists"


def test_the_ui_allow_list_is_the_interface_layer() -> None:
    contract = _contract("the UI imports only the core's interface")
    assert "lakehouse_core.*" in contract["forbidden_modules"]
    allowed = {
        edge.split("->")[1].strip().removeprefix("lakehouse_core.")
        for edge in contract["ignore_imports"]
        if edge.split("->")[0].strip() == "tui.**"
    }
    assert allowed == LAYERS["interface"]
    only_cli = [e for e in contract["ignore_imports"] if e.split("->")[0].strip() != "tui.**"]
    assert only_cli == ["tui.cli -> lakehouse_core.backends"]
