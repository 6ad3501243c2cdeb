"""The notebooks under notebooks/ run in stack mode too (issue 14 item 6): the same files, settings
from the environment, against the real Nessie + MinIO of the stack tests, on a Nessie branch of
their own; no cell fails and the pruning cell reads fewer files with the filter."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.backends.stack.nessie import NessieClient
from tests.notebooks.test_notebooks import NOTEBOOKS, _execute
from tests.stack.conftest import StackEndpoints, make_stack_settings

pytestmark = [pytest.mark.stack, pytest.mark.slow]
ORDERS = 1500


@pytest.fixture(scope="module")
def stack_env(stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data = tmp_path_factory.mktemp("notebooks-stack") / "data"
    branch = f"test-notebooks-{uuid.uuid4().hex[:10]}"
    settings = make_stack_settings(
        stack, data, orders=ORDERS, nessie={"url": stack.nessie_url, "ref": branch}, phase_isolation="thread"
    )
    backend = load_backend(settings)
    for phase in (1, 2):
        result = backend.phases.run(phase)
        assert result.ok, result.error
    env = {
        "LAKEHOUSE_MODE": "stack",
        "LAKEHOUSE_DATA_DIR": str(data),
        "LAKEHOUSE_ORDERS": str(ORDERS),
        "LAKEHOUSE_NESSIE__URL": stack.nessie_url,
        "LAKEHOUSE_NESSIE__REF": branch,
        "LAKEHOUSE_MINIO__ENDPOINT": stack.minio_endpoint,
        "LAKEHOUSE_MINIO__ACCESS_KEY": stack.minio_access_key,
        "LAKEHOUSE_MINIO__SECRET_KEY": stack.minio_secret_key,
        "LAKEHOUSE_MINIO__REGION": stack.minio_region,
        "LAKEHOUSE_POSTGRES__HOST": stack.postgres_host,
        "LAKEHOUSE_POSTGRES__PORT": str(stack.postgres_port),
        "LAKEHOUSE_POSTGRES__USER": stack.postgres_user,
        "LAKEHOUSE_POSTGRES__PASSWORD": stack.postgres_password,
        "LAKEHOUSE_PROMETHEUS__URL": stack.prometheus_url,
        "LAKEHOUSE_CONFIG_FILE": str(data.parent / "none.toml"),
    }
    yield env
    NessieClient(settings).delete_ref(branch)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_stack_mode(
    path: Path, stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _execute(path, stack_env, monkeypatch)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]  # type: ignore[attr-defined]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # every notebook's first cell prints the mode it runs in
    assert any("mode stack" in o.get("text", "") for o in outputs), "the notebook did not run in stack mode"
    if path.stem == "03_partition_pruning":
        [cell] = [c for c in nb.cells if c.source.startswith("# pruning")]  # type: ignore[attr-defined]
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
        pruning = json.loads(text.strip().splitlines()[-1])
        assert 0 < pruning["files_with_filter"] < pruning["files_without_filter"], pruning
