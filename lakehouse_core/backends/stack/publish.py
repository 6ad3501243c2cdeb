"""StackRunPublisher: phase 2 written on a Nessie run branch, published by one merge commit.

A run writes every table on the branch ``run-<run_id>`` created from the target branch
(``settings.nessie.ref``); readers of the target see nothing of it. Publishing merges the run branch
into the target in ONE Nessie commit (all tables at once), then deletes the run branch; discarding
deletes it. Every commit names the run: the writes on the run branch and the merge commit say
``phase 2 run <id> from <source>: ...`` with the run id, phase and source as commit properties.
(The branch prefix has no slash: ref names travel in URL paths of both Nessie's API and its Iceberg
REST prefix.)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.errors import ConflictError, NotFoundError
from lakehouse_core.faults import crash_point
from lakehouse_core.iceberg.staging import (
    published_fingerprint,
    published_rows,
    published_run,
    staged_entry,
)
from lakehouse_core.iceberg.tables import TABLES
from lakehouse_core.runmeta import RunCommit
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

RUN_BRANCH_PREFIX = "run-"


def run_branch(run_id: str) -> str:
    """The Nessie branch run ``run_id`` writes."""
    return f"{RUN_BRANCH_PREFIX}{run_id}"


class StackRunPublisher:
    """Stages on ``run-<id>``, publishes by merging it into ``settings.nessie.ref``."""

    def __init__(self, settings: LakehouseSettings, client: NessieClient) -> None:
        self.settings = settings
        self._client = client

    @property
    def target(self) -> str:
        return self.settings.nessie.ref

    def open_write_catalog(self, run_id: str) -> Any:
        self._client.ensure_branch(self.target, self._client.default_branch)
        branch = run_branch(run_id)
        self._client.create_branch(branch, self.target)
        return open_rest_catalog(self.settings, branch, commit=RunCommit(run_id, 2, self.settings.run_source))

    def staged(self, catalog: Any, run_id: str) -> dict[str, dict[str, Any]]:
        branch = self._client.get_ref(run_branch(run_id))
        return {
            d.identifier: {
                **staged_entry(catalog.load_table(d.identifier)),
                "commit": branch.hash,
                "branch": branch.name,
                "target": self.target,
            }
            for d in TABLES
        }

    def publish(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        run_id = str(manifest["run_id"])
        branch = run_branch(run_id)
        try:
            self._client.get_ref(branch)
        except NotFoundError:
            if self.published_run() == run_id:
                return {}  # merged and deleted before a kill stopped the manifest's update
            raise ConflictError(f"run {run_id}: its branch {branch} is gone; rerun phase 2") from None
        crash_point("stack.publish.before_merge")
        commit = RunCommit(run_id, 2, str(manifest.get("run_source") or self.settings.run_source))
        result = self._client.merge(
            branch,
            self.target,
            message=commit.message(f"publish {branch} into {self.target}"),
            properties={**commit.properties(), "lakehouse.published-by": self.settings.run_source},
        )
        if not result.successful:
            keys = ", ".join(c.key for c in result.conflicts) or "unknown keys"
            raise ConflictError(f"run {run_id} conflicts with {self.target} on {keys}: nothing published")
        crash_point("stack.publish.after_merge")
        self._client.delete_ref(branch)
        return {"merge_commit": result.resultant_hash, "target": self.target}

    def discard(self, manifest: Mapping[str, Any]) -> None:
        try:
            self._client.delete_ref(run_branch(str(manifest["run_id"])))
        except NotFoundError:
            pass

    def published_run(self) -> str | None:
        return published_run(open_rest_catalog(self.settings, self.target))

    def published_rows(self) -> dict[str, int]:
        return published_rows(open_rest_catalog(self.settings, self.target))

    def published_fingerprint(self) -> str | None:
        try:
            return published_fingerprint(open_rest_catalog(self.settings, self.target))
        except NotFoundError:  # the target branch does not exist yet
            return None
