"""The Jupyter container of the offline Compose stack executes every notebook under notebooks/
(`jupyter nbconvert --execute` inside the container, on its kernel), settings from the container's
environment (stack mode on the Compose network: Nessie, MinIO, PostgreSQL, Prometheus by service
name), on a Nessie branch of their own and a data dir inside the container: no cell fails, every
notebook runs in stack mode, and the pruning cell reads fewer files with the filter.

The notebooks read through lakehouse_core (pyiceberg, DuckDB); none of them uses Spark.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import nbformat
import pytest

from lakehouse_core.backends.stack.nessie import NessieClient
from tests.stack.compose_platform import (
    ComposeStack,
    compose_only,
    no_script_services,  # noqa: F401 - the fixture "stack": no script services
)
from tests.stack.test_compose_tui import compose_settings

pytestmark = compose_only
NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
IN_CONTAINER = "/opt/lakehouse/notebooks"


@pytest.mark.timeout(1500)
def test_the_jupyter_container_executes_every_notebook(compose_stack: ComposeStack, tmp_path: Path) -> None:
    assert NOTEBOOKS
    client = NessieClient(compose_settings(compose_stack))
    branch = f"test-notebooks-{uuid.uuid4().hex[:10]}"
    client.ensure_branch(branch, client.default_branch)
    out = f"/tmp/{branch}"
    names = " ".join(f"{IN_CONTAINER}/{path.name}" for path in NOTEBOOKS)
    try:
        run = compose_stack.compose(
            "exec", "-T",
            "-e", f"LAKEHOUSE_DATA_DIR={out}/data", "-e", "LAKEHOUSE_ORDERS=1500",
            "-e", f"LAKEHOUSE_NESSIE__REF={branch}", "-e", f"LAKEHOUSE_CONFIG_FILE={out}/none.toml",
            "jupyter", "jupyter", "nbconvert", "--execute", "--to", "notebook",
            "--ExecutePreprocessor.timeout=900", "--output-dir", f"{out}/executed", *names.split(),
            check=False, timeout=1400,
        )
        assert run.returncode == 0, run.stderr[-4000:]
        executed = str(tmp_path / "executed")
        copied = compose_stack.compose("cp", f"jupyter:{out}/executed", executed, check=False)
        assert copied.returncode == 0, copied.stderr
    finally:
        compose_stack.compose("exec", "-T", "jupyter", "rm", "-rf", out, check=False)
        client.delete_ref(branch)
    for path in NOTEBOOKS:
        nb = nbformat.read(tmp_path / "executed" / path.name, as_version=4)
        outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
        errors = [o for o in outputs if o.get("output_type") == "error"]
        assert not errors, (path.name, [(e.get("ename"), e.get("evalue")) for e in errors])
        assert any("mode stack" in o.get("text", "") for o in outputs), f"{path.name}: not in stack mode"
        if path.stem == "03_partition_pruning":
            [cell] = [c for c in nb.cells if c.source.startswith("# pruning")]
            text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
            pruning = json.loads(text.strip().splitlines()[-1])
            assert 0 < pruning["files_with_filter"] < pruning["files_without_filter"], pruning
