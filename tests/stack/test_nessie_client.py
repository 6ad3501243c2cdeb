"""NessieClient against the real Nessie server (API v2, Postgres version store)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest

from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.errors import ConflictError, NotFoundError
from lakehouse_core.settings import LakehouseSettings

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("city", pa.string())])


@pytest.fixture()
def client(stack_settings: LakehouseSettings) -> Iterator[NessieClient]:
    c = NessieClient(stack_settings)
    yield c
    c.close()


@pytest.fixture()
def branch(client: NessieClient) -> Iterator[str]:
    name = f"test-client-{uuid.uuid4().hex[:10]}"
    client.create_branch(name, "main")
    yield name
    try:
        client.delete_ref(name)
    except NotFoundError:
        pass


def _write(settings: LakehouseSettings, branch: str, ns: str, rows: list[int]) -> None:
    catalog = open_rest_catalog(settings, branch)
    catalog.create_namespace_if_not_exists(ns)
    table = catalog.create_table_if_not_exists(f"{ns}.t", schema=SCHEMA)
    table.append(pa.table({"id": rows, "city": [f"c{i}" for i in rows]}, schema=SCHEMA))


def test_config_and_default_branch(client: NessieClient) -> None:
    config = client.config()
    assert config["defaultBranch"] == "main" and config["maxSupportedApiVersion"] == 2
    assert client.default_branch == "main"


def test_branch_and_tag_lifecycle(client: NessieClient, branch: str) -> None:
    main = client.get_ref("main")
    created = client.get_ref(branch)
    assert (created.kind, created.is_default) == ("branch", False)
    tag = client.create_tag(f"{branch}-v1", branch)
    assert (tag.kind, tag.hash) == ("tag", created.hash)
    refs = {r.name: r for r in client.list_refs()}
    assert refs["main"].is_default and refs["main"].kind == "branch"
    assert refs[branch].hash == created.hash and refs[f"{branch}-v1"].kind == "tag"
    assert client.list_refs()[0].name == "main"  # default branch first
    with pytest.raises(ConflictError, match="already exists"):
        client.create_branch(branch, "main")
    client.delete_ref(f"{branch}-v1")
    with pytest.raises(NotFoundError):
        client.get_ref(f"{branch}-v1")
    assert client.ensure_branch(branch) == (client.get_ref(branch), False)
    assert main.hash  # main exists and has a hash


def test_delete_with_stale_hash_is_a_conflict(
    client: NessieClient, branch: str, stack_settings: LakehouseSettings
) -> None:
    before = client.get_ref(branch).hash
    _write(stack_settings, branch, f"ns_{uuid.uuid4().hex[:8]}", [1])
    assert client.get_ref(branch).hash != before
    with pytest.raises(ConflictError):
        client.delete_ref(branch, expected_hash=before)
    assert client.get_ref(branch).kind == "branch"  # still there


def test_commit_log_entries_and_diff(
    client: NessieClient, branch: str, stack_settings: LakehouseSettings
) -> None:
    ns = f"ns_{uuid.uuid4().hex[:8]}"
    _write(stack_settings, branch, ns, [1, 2])
    log = client.commit_log(branch, limit=3)
    assert len(log) == 3
    assert [c.message for c in log] == [
        f"Update ICEBERG_TABLE {ns}.t", f"Create ICEBERG_TABLE {ns}.t", f"update namespace {ns}",
    ]
    assert log[0].parent_hash == log[1].hash and log[0].committed_at is not None
    assert log[0].committed_at >= log[1].committed_at
    entries = {e.key: e for e in client.entries(branch)}
    assert entries[f"{ns}.t"].content_type == "ICEBERG_TABLE"
    assert entries[f"{ns}.t"].metadata_location.startswith("s3://")
    assert f"{ns}.t" not in {e.key for e in client.entries("main")}
    assert ns in {e.key for e in client.entries(branch, tables_only=False)}
    diff = [(c.key, c.kind, c.content_type) for c in client.diff("main", branch)]
    assert (ns, "added", "NAMESPACE") in diff and (f"{ns}.t", "added", "ICEBERG_TABLE") in diff
    reverse = [(c.key, c.kind) for c in client.diff(branch, "main") if c.key.startswith(ns)]
    assert sorted(reverse) == [(ns, "removed"), (f"{ns}.t", "removed")]
    history = client.content_history(branch, f"{ns}.t")
    assert [v.commit_hash for v in history] == [log[0].hash, log[1].hash]
    assert history[0].snapshot_id is not None and history[1].snapshot_id is None


def test_merge_conflict_is_reported_not_applied(
    client: NessieClient, stack_settings: LakehouseSettings
) -> None:
    suffix = uuid.uuid4().hex[:10]
    base, left, right = f"test-mbase-{suffix}", f"test-mleft-{suffix}", f"test-mright-{suffix}"
    ns = f"ns_{suffix}"
    client.create_branch(base, "main")
    _write(stack_settings, base, ns, [1])
    client.create_branch(left, base)
    client.create_branch(right, base)
    _write(stack_settings, left, ns, [2])
    _write(stack_settings, right, ns, [3])
    first = client.merge(left, base)
    assert first.applied and first.changed_keys == (f"{ns}.t",)
    head = client.get_ref(base).hash
    second = client.merge(right, base)
    assert not second.applied and not second.successful
    assert [(c.key, c.conflict_type) for c in second.conflicts] == [(f"{ns}.t", "VALUE_DIFFERS")]
    assert client.get_ref(base).hash == head
    for name in (left, right, base):
        client.delete_ref(name)
