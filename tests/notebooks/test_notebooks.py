"""The notebooks under notebooks/ execute with nbclient in embedded mode with no cell error (on one
data dir with phases 1-2 done), and the partition-pruning cell reads fewer files with the filter."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lakehouse_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("notebooks") / "data"
    env = {"LAKEHOUSE_MODE": "embedded", "LAKEHOUSE_DATA_DIR": str(data), "LAKEHOUSE_ORDERS": "1500"}
    settings = load_settings(mode="embedded", data_dir=data, orders=1500)
    backend = load_backend(settings)
    for phase in (1, 2):
        result = backend.phases.run(phase)
        assert result.ok, result.error
    return env


def _execute(path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> object:
    import nbclient
    import nbformat

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    return nb


def test_there_are_the_five_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_exploration.ipynb",
        "02_time_travel.ipynb",
        "03_partition_pruning.ipynb",
        "04_daily_revenue.ipynb",
        "05_schema_evolution.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_error(
    path: Path, lakehouse_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _execute(path, lakehouse_env, monkeypatch)  # raises CellExecutionError on a failing cell
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]  # type: ignore[attr-defined]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if path.stem == "03_partition_pruning":
        [cell] = [c for c in nb.cells if c.source.startswith("# pruning")]  # type: ignore[attr-defined]
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
        pruning = json.loads(text.strip().splitlines()[-1])
        assert 0 < pruning["files_with_filter"] < pruning["files_without_filter"], pruning
    if path.stem == "04_daily_revenue":
        assert any("image/png" in o.get("data", {}) for o in outputs), "no revenue plot"
