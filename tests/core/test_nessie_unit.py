"""Unit edge cases of NessieClient against respx-mocked Nessie API v2 responses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
import respx

from lakehouse_core.backends.stack.nessie import KeyChange, NessieClient
from lakehouse_core.errors import ConflictError, NotFoundError, ServiceUnavailableError
from lakehouse_core.settings import LakehouseSettings

BASE = "http://nessie.test:19120/api/v2"
CONFIG = {"defaultBranch": "main", "minSupportedApiVersion": 1, "maxSupportedApiVersion": 2}


@pytest.fixture
def client() -> NessieClient:
    settings = LakehouseSettings(nessie={"url": "http://nessie.test:19120/"}, http_timeout_s=2.0)
    return NessieClient(settings)


def _ref(name: str, hash_: str, type_: str = "BRANCH") -> dict[str, str]:
    return {"type": type_, "name": name, "hash": hash_}


@respx.mock
def test_list_refs_pages_and_marks_default(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").respond(json=CONFIG)
    route = respx.get(f"{BASE}/trees")
    route.side_effect = [
        httpx.Response(200, json={"hasMore": True, "token": "t1",
                                  "references": [_ref("v1", "aa", "TAG"), _ref("dev", "bb")]}),
        httpx.Response(200, json={"hasMore": False, "token": None, "references": [_ref("main", "cc")]}),
    ]
    refs = client.list_refs()
    assert [(r.name, r.kind, r.hash, r.is_default) for r in refs] == [
        ("main", "branch", "cc", True),
        ("dev", "branch", "bb", False),
        ("v1", "tag", "aa", False),
    ]
    assert route.calls[1].request.url.params["page-token"] == "t1"
    assert route.calls[0].request.url.params["fetch"] == "MINIMAL"


@respx.mock
def test_create_branch_posts_source_hash(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").respond(json=CONFIG)
    respx.get(f"{BASE}/trees/main").respond(json={"reference": _ref("main", "abc123")})
    post = respx.post(f"{BASE}/trees").respond(json={"reference": _ref("etl-1", "abc123")})
    ref = client.create_branch("etl-1", "main")
    assert (ref.name, ref.kind, ref.hash) == ("etl-1", "branch", "abc123")
    req = post.calls[0].request
    assert dict(req.url.params) == {"name": "etl-1", "type": "BRANCH"}
    assert json.loads(req.content) == {"type": "BRANCH", "name": "main", "hash": "abc123"}


@respx.mock
def test_create_existing_branch_is_conflict(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").respond(json=CONFIG)
    respx.get(f"{BASE}/trees/main").respond(json={"reference": _ref("main", "abc")})
    respx.post(f"{BASE}/trees").respond(
        409, json={"status": 409, "message": "Named reference 'dev' already exists."}
    )
    with pytest.raises(ConflictError, match="already exists"):
        client.create_branch("dev", "main")


@respx.mock
def test_missing_ref_is_not_found(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").respond(json=CONFIG)
    respx.get(f"{BASE}/trees/nope").respond(
        404, json={"status": 404, "message": "Named reference 'nope' not found"}
    )
    with pytest.raises(NotFoundError, match="'nope' not found"):
        client.get_ref("nope")


@respx.mock
def test_delete_sends_expected_hash_and_type(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").respond(json=CONFIG)
    respx.get(f"{BASE}/trees/v1").respond(json={"reference": _ref("v1", "h1", "TAG")})
    delete = respx.delete(f"{BASE}/trees/v1@h0").respond(409, json={"message": "hash mismatch"})
    with pytest.raises(ConflictError, match="hash mismatch"):
        client.delete_ref("v1", expected_hash="h0")
    assert delete.calls[0].request.url.params["type"] == "TAG"


@respx.mock
def test_diff_kinds(client: NessieClient) -> None:
    respx.get(f"{BASE}/trees/main/diff/etl").respond(json={"hasMore": False, "diffs": [
        {"key": {"elements": ["gold", "daily_sales"]}, "from": {"type": "ICEBERG_TABLE"}, "to": None},
        {"key": {"elements": ["bronze", "orders"]}, "from": None, "to": {"type": "ICEBERG_TABLE"}},
        {"key": {"elements": ["bronze"]}, "from": None, "to": {"type": "NAMESPACE"}},
        {"key": {"elements": ["silver", "x"]}, "from": {"type": "ICEBERG_TABLE"},
         "to": {"type": "ICEBERG_TABLE"}},
    ]})
    assert client.diff("main", "etl") == [
        KeyChange("bronze", "added", "NAMESPACE"),
        KeyChange("bronze.orders", "added", "ICEBERG_TABLE"),
        KeyChange("gold.daily_sales", "removed", "ICEBERG_TABLE"),
        KeyChange("silver.x", "modified", "ICEBERG_TABLE"),
    ]


@respx.mock
def test_entries_keep_tables_with_metadata_location(client: NessieClient) -> None:
    route = respx.get(f"{BASE}/trees/main/entries").respond(json={"hasMore": False, "entries": [
        {"name": {"elements": ["bronze"]}, "type": "NAMESPACE", "contentId": "n1"},
        {"name": {"elements": ["bronze", "orders"]}, "type": "ICEBERG_TABLE", "contentId": "c1",
         "content": {"type": "ICEBERG_TABLE", "id": "c1", "snapshotId": 7,
                     "metadataLocation": "s3://warehouse/bronze/orders/metadata/00001.metadata.json"}},
    ]})
    entries = client.entries("main")
    assert [(e.key, e.content_id, e.snapshot_id, e.metadata_location) for e in entries] == [
        ("bronze.orders", "c1", 7, "s3://warehouse/bronze/orders/metadata/00001.metadata.json")
    ]
    assert route.calls[0].request.url.params["content"] == "true"
    assert [e.key for e in client.entries("main", tables_only=False)] == ["bronze", "bronze.orders"]


@respx.mock
def test_commit_log_properties_and_limit(client: NessieClient) -> None:
    entry = {"commitMeta": {"hash": "h2", "message": "append", "author": "etl",
                            "commitTime": "2026-11-26T10:00:00.123Z",
                            "properties": {"run_id": "r1"}}, "parentCommitHash": "h1"}
    respx.get(f"{BASE}/trees/dev/history").respond(
        json={"hasMore": True, "token": "x", "logEntries": [entry, {**entry, "parentCommitHash": "h0"}]}
    )
    log = client.commit_log("dev", limit=1)
    assert len(log) == 1
    c = log[0]
    assert (c.hash, c.message, c.author, c.parent_hash, dict(c.properties)) == (
        "h2", "append", "etl", "h1", {"run_id": "r1"})
    assert c.committed_at == datetime(2026, 11, 26, 10, 0, 0, 123000, tzinfo=UTC)


@respx.mock
def test_merge_dry_run_reports_keys_and_conflicts(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").respond(json=CONFIG)
    respx.get(f"{BASE}/trees/main").respond(json={"reference": _ref("main", "m1")})
    respx.get(f"{BASE}/trees/etl").respond(json={"reference": _ref("etl", "e1")})
    merge = respx.post(f"{BASE}/trees/main@m1/history/merge").respond(json={
        "wasApplied": False, "wasSuccessful": False, "commonAncestor": "a0",
        "details": [
            {"key": {"elements": ["bronze", "orders"]}, "mergeBehavior": "NORMAL"},
            {"key": {"elements": ["gold", "x"]}, "mergeBehavior": "NORMAL",
             "conflict": {"conflictType": "VALUE_DIFFERS", "message": "values of existing and expected"
                          " content for key 'gold.x' are different", "key": {"elements": ["gold", "x"]}}},
        ],
    })
    result = client.merge("etl", "main", dry_run=True)
    body = json.loads(merge.calls[0].request.content)
    assert body["isDryRun"] is True and body["fromRefName"] == "etl" and body["fromHash"] == "e1"
    assert body["isReturnConflictAsResult"] is True
    assert result.changed_keys == ("bronze.orders", "gold.x")
    assert (result.applied, result.successful, result.dry_run) == (False, False, True)
    assert [(c.key, c.conflict_type) for c in result.conflicts] == [("gold.x", "VALUE_DIFFERS")]


@respx.mock
def test_merge_into_tag_is_refused(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").respond(json=CONFIG)
    respx.get(f"{BASE}/trees/v1").respond(json={"reference": _ref("v1", "t1", "TAG")})
    with pytest.raises(ConflictError, match="tag"):
        client.merge("dev", "v1")


@respx.mock
def test_connection_refused_maps_to_unavailable(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(ServiceUnavailableError) as info:
        client.config()
    assert info.value.service == "nessie"
    assert info.value.cause == "connection refused"


def test_every_request_has_the_settings_timeout(client: NessieClient) -> None:
    timeout = client._http._client.timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (2.0, 2.0, 2.0, 2.0)


@respx.mock
def test_merge_into_empty_target_fast_forwards(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").respond(json={**CONFIG, "noAncestorHash": "root"})
    respx.get(f"{BASE}/trees/main").respond(json={"reference": _ref("main", "root")})
    respx.get(f"{BASE}/trees/etl").respond(json={"reference": _ref("etl", "e9")})
    respx.get(f"{BASE}/trees/main/diff/%40e9").respond(json={"hasMore": False, "diffs": [
        {"key": {"elements": ["bronze", "orders"]}, "from": None, "to": {"type": "ICEBERG_TABLE"}},
    ]})
    assign = respx.put(f"{BASE}/trees/main@root").respond(json={"reference": _ref("main", "e9")})
    preview = client.merge("etl", dry_run=True)
    assert (preview.applied, preview.changed_keys, assign.called) == (False, ("bronze.orders",), False)
    result = client.merge("etl")
    assert (result.applied, result.successful, result.resultant_hash) == (True, True, "e9")
    assert json.loads(assign.calls[0].request.content) == {"type": "BRANCH", "name": "etl", "hash": "e9"}
    assert assign.calls[0].request.url.params["type"] == "BRANCH"


def test_add_schema_commits_get_last_column_id_for_nessie() -> None:
    from lakehouse_core.backends.stack.iceberg_rest import add_last_column_id

    body = {"identifier": {"namespace": ["bronze"], "name": "orders"}, "requirements": [], "updates": [
        {"action": "add-schema", "schema": {"type": "struct", "schema-id": 1, "fields": [
            {"id": 1, "name": "a", "type": "long", "required": False},
            {"id": 4, "name": "m", "required": False, "type": {
                "type": "map", "key-id": 5, "key": "string", "value-id": 6, "value": "long",
                "value-required": False}},
        ]}},
        {"action": "set-current-schema", "schema-id": -1},
    ]}
    patched = add_last_column_id(json.dumps(body).encode())
    assert patched is not None
    updates = json.loads(patched)["updates"]
    assert updates[0]["last-column-id"] == 6 and "last-column-id" not in updates[1]
    assert add_last_column_id(patched) is None  # already present: untouched
    assert add_last_column_id(b'{"updates": [{"action": "set-properties"}]}') is None


def test_rest_errors_map_transport_and_catalog_errors() -> None:
    import requests
    from pyiceberg.exceptions import CommitFailedException, NoSuchTableError

    from lakehouse_core.backends.stack.iceberg_rest import rest_errors

    with pytest.raises(ServiceUnavailableError) as info, rest_errors():
        raise requests.ConnectionError("HTTPConnectionPool: [Errno 111] Connection refused")
    assert (info.value.service, info.value.cause) == ("nessie", "connection refused")
    with pytest.raises(NotFoundError, match="bronze.x"), rest_errors():
        raise NoSuchTableError("Table does not exist: bronze.x")
    with pytest.raises(ConflictError, match="moved"), rest_errors():
        raise CommitFailedException("branch moved")
    with pytest.raises(ServiceUnavailableError) as s3, rest_errors():
        raise OSError("When reading information for key 'a': AWS Error NETWORK_CONNECTION "
                      "during HeadObject operation: curlCode: 7, Couldn't connect to server")
    assert s3.value.service == "minio" and s3.value.cause.startswith("connection refused")
    with pytest.raises(ValueError), rest_errors():
        raise ValueError("not a transport error")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_stack_runner_plans_and_dead_prometheus(tmp_path) -> None:
    from lakehouse_core.backends.stack.phases import StackPhaseRunner, prometheus_targets
    from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
    from lakehouse_core.errors import LakehouseError

    settings = LakehouseSettings(
        _env_file=None, data_dir=tmp_path / "data", http_timeout_s=2.0,
        nessie={"url": f"http://127.0.0.1:{_free_port()}", "ref": "etl"},
        prometheus={"url": f"http://127.0.0.1:{_free_port()}"},
    )
    client = NessieClient(settings)
    runner = StackPhaseRunner(settings, client, RestDuckDbSqlEngine(settings, client))  # no I/O
    plan = runner.plan(2)
    assert "nessie branch: etl" in plan.details
    assert f"catalog: Iceberg REST {settings.nessie.url}/iceberg/etl" in plan.details
    assert "warehouse: s3://warehouse (from settings; Nessie: nessie is unavailable: connection refused)" \
        f" on {settings.minio.endpoint}" in plan.details
    assert runner.plan(3).details == ("engine: duckdb (Nessie REST fallback)",)
    assert [t.name for t in runner.plan(4).tasks][-1] == "prometheus_targets"
    with pytest.raises(LakehouseError, match="no phase 5"):
        runner.plan(5)
    assert prometheus_targets(settings) == {"unavailable": "connection refused"}
    assert runner.last_results() == {}


@respx.mock
def test_commit_log_lists_the_tables_each_commit_touched(client: NessieClient) -> None:
    def op(kind: str, *key: str, content: str | None = None) -> dict[str, object]:
        body: dict[str, object] = {"type": kind, "key": {"elements": list(key)}}
        if content:
            body["content"] = {"type": content}
        return body

    entry = {"commitMeta": {"hash": "h3", "message": "merge etl", "authors": ["alice"]}, "operations": [
        op("PUT", "gold", "daily_sales", content="ICEBERG_TABLE"),
        op("PUT", "bronze", content="NAMESPACE"),
        op("DELETE", "bronze", "orders"),
        op("DELETE", "scratch"),  # a namespace: one element
        op("PUT", "bronze", "orders", content="ICEBERG_TABLE"),
    ]}
    route = respx.get(f"{BASE}/trees/main/history").respond(json={"hasMore": False, "logEntries": [entry]})
    [commit] = client.commit_log("main", limit=5)
    assert (commit.author, commit.message) == ("alice", "merge etl")
    assert commit.tables == ("bronze.orders", "gold.daily_sales")
    assert dict(route.calls[0].request.url.params) == {"fetch": "ALL", "max-records": "5"}


@respx.mock
def test_merge_names_its_author(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").respond(json=CONFIG)
    respx.get(f"{BASE}/trees/main").respond(json={"reference": _ref("main", "m1")})
    respx.get(f"{BASE}/trees/etl").respond(json={"reference": _ref("etl", "e1")})
    merge = respx.post(f"{BASE}/trees/main@m1/history/merge").respond(json={
        "wasApplied": True, "wasSuccessful": True, "resultantTargetHash": "m2",
        "details": [{"key": {"elements": ["bronze", "orders"]}}]})
    result = client.merge("etl", "main", author="alice")
    assert result.applied and result.changed_keys == ("bronze.orders",)
    body = json.loads(merge.calls[0].request.content)
    assert body["commitMeta"] == {"message": "merge etl into main", "authors": ["alice"]}


@respx.mock
def test_merge_commit_properties_and_the_log_reads_them_back(client: NessieClient) -> None:
    respx.get(f"{BASE}/config").respond(json=CONFIG)
    respx.get(f"{BASE}/trees/main").respond(json={"reference": _ref("main", "m1")})
    respx.get(f"{BASE}/trees/run-7").respond(json={"reference": _ref("run-7", "r1")})
    merge = respx.post(f"{BASE}/trees/main@m1/history/merge").respond(json={
        "wasApplied": True, "wasSuccessful": True, "resultantTargetHash": "m2"})
    client.merge(
        "run-7", "main", message="phase 2 run 7 from cli: publish", properties={"lakehouse.run-id": "7"}
    )
    body = json.loads(merge.calls[0].request.content)
    assert body["commitMeta"] == {
        "message": "phase 2 run 7 from cli: publish", "properties": {"lakehouse.run-id": "7"}}
    # API v2 returns properties as allProperties (name -> values)
    entry = {"commitMeta": {"hash": "m2", "message": "phase 2 run 7 from cli: publish",
                            "allProperties": {"lakehouse.run-id": ["7"], "lakehouse.phase": ["2"]}}}
    respx.get(f"{BASE}/trees/main/history").respond(json={"logEntries": [entry], "hasMore": False})
    assert dict(client.commit_log("main")[0].properties) == {"lakehouse.run-id": "7", "lakehouse.phase": "2"}
