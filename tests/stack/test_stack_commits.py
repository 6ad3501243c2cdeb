"""Nessie commits of a stack-mode phase-2 run name it (issue 16 item 3), against the real Nessie:
the writes on ``run-<id>`` and the publishing merge commit say run id, phase and source in their
message and properties; a rerun on the data already published adds no commit and says so."""

from __future__ import annotations

import uuid
from pathlib import Path

from lakehouse_core.backends.stack.nessie import CommitInfo, NessieClient
from lakehouse_core.backends.stack.phases import StackPhaseRunner
from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
from lakehouse_core.iceberg.tables import TABLES
from lakehouse_core.settings import LakehouseSettings
from tests.stack.conftest import StackEndpoints, make_stack_settings


def _runner(settings: LakehouseSettings) -> tuple[StackPhaseRunner, NessieClient]:
    client = NessieClient(settings)
    return StackPhaseRunner(settings, client, RestDuckDbSqlEngine(settings, client)), client


def _own_commits(client: NessieClient, ref: str, base: str) -> list[CommitInfo]:
    """Commits of ``ref`` newer than commit ``base``."""
    out = []
    for commit in client.commit_log(ref, limit=200):
        if commit.hash == base:
            return out
        out.append(commit)
    raise AssertionError(f"{base} is not in the log of {ref}")


def test_run_commits_name_run_phase_and_source_and_a_rerun_adds_none(
    stack: StackEndpoints, tmp_path: Path
) -> None:
    branch = f"test-commits-{uuid.uuid4().hex[:10]}"
    settings = make_stack_settings(
        stack, tmp_path / "data", orders=500, nessie={"url": stack.nessie_url, "ref": branch},
        auto_publish=False, run_source="cli",
    )
    runner, client = _runner(settings)
    try:
        phase1 = runner.run(1)
        assert runner.runs is not None and runner.runs.publish(phase1.run_id).published
        staged = runner.run(2)
        run_id = staged.run_id
        run_ref = f"run-{run_id}"
        target = client.get_ref(branch).hash
        writes = _own_commits(client, run_ref, target)
        expected_props = {"lakehouse.run-id": run_id, "lakehouse.phase": "2", "lakehouse.run-source": "cli"}
        prefix = f"phase 2 run {run_id} from cli: "
        assert writes and all(c.message.startswith(prefix) for c in writes), [c.message for c in writes]
        assert all(dict(c.properties) == expected_props for c in writes), [c.properties for c in writes]
        assert all(c.author == "lakehouse-cli" for c in writes)
        updated = {c.message.removeprefix(prefix) for c in writes}
        assert {f"update {t.identifier}" for t in TABLES} <= updated

        # published later from the TUI: the merge commit names the run, its source and the publisher
        tui_runner, tui_client = _runner(settings.model_copy(update={"run_source": "tui"}))
        assert tui_runner.runs is not None and tui_runner.runs.publish(run_id).published
        merge = client.commit_log(branch, limit=1)[0]
        assert merge.message == f"phase 2 run {run_id} from cli: publish {run_ref} into {branch}"
        assert dict(merge.properties) == {**expected_props, "lakehouse.published-by": "tui"}
        tui_client.close()

        # a rerun on the same phase-1 data: no run branch, no commit, and it says so
        head = client.get_ref(branch).hash
        auto, auto_client = _runner(settings.model_copy(update={"auto_publish": True}))
        rerun = auto.run(2)
        details = {t.name: t.detail for t in rerun.tasks}
        assert details["promote_to_iceberg"] == (
            f"nothing changed: the published tables already hold this data (run {run_id}); no commit"
        )
        assert rerun.ok and rerun.snapshots == ()
        assert client.get_ref(branch).hash == head
        assert f"run-{rerun.run_id}" not in {r.name for r in client.list_refs()}
        assert auto.runs is not None and auto.runs.run(rerun.run_id).state == "unchanged"
        auto_client.close()
    finally:
        for ref in client.list_refs():
            if ref.name == branch or (
                ref.name.startswith("run-") and (settings.data_path / "runs" / ref.name[4:]).is_dir()
            ):
                client.delete_ref(ref.name)
        client.close()
