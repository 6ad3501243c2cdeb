"""Outages mid-session: a dead Nessie or MinIO raises ServiceUnavailableError with its cause, and after
a restart everything recovers with no branch or commit lost (Nessie's PostgreSQL version store)."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from lakehouse_core.backends.stack.catalog import NessieCatalogBrowser
from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
from lakehouse_core.backends.stack.status import StackServiceStatusProvider
from lakehouse_core.errors import ServiceUnavailableError
from lakehouse_core.models import ServiceState, TableRef
from tests.conftest import deliver_orders
from tests.stack.conftest import (
    REPO_ROOT,
    StackEndpoints,
    down_services,
    make_stack_settings,
    stop_service,
)

SCHEMA = pa.schema([pa.field("id", pa.int64())])


@contextlib.contextmanager
def outage(name: str, *, kill: bool = False) -> Iterator[None]:
    """``name`` down inside the block (SIGKILL when ``kill``), started again afterwards.

    Restarted with ``scripts/services/<name>.sh up`` directly rather than ``services.sh up``
    (conftest.start_service): a server launched under services.sh's lock inherits the lock's file
    descriptor and keeps the lock held while it runs, blocking every later ``services.sh up/down``.
    """
    stop_service(name, kill=kill)
    try:
        yield
    finally:
        proc = subprocess.run(
            ["bash", str(REPO_ROOT / "scripts" / "services" / f"{name}.sh"), "up"],
            capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
        )
        assert proc.returncode == 0 and not down_services(name), proc.stderr[-3000:]


@pytest.fixture()
def session(stack: StackEndpoints, tmp_path: Any) -> Iterator[dict[str, Any]]:
    suffix = uuid.uuid4().hex[:10]
    branch, ns = f"test-outage-{suffix}", f"outage_{suffix}"
    settings = make_stack_settings(stack, tmp_path / "data", http_timeout_s=3.0, nessie={
        "url": stack.nessie_url, "ref": branch})
    client = NessieClient(settings)
    client.create_branch(branch, "main")
    catalog = open_rest_catalog(settings, branch)
    catalog.create_namespace(ns)
    catalog.create_table(f"{ns}.t", schema=SCHEMA).append(pa.table({"id": [1, 2, 3]}, schema=SCHEMA))
    browser = NessieCatalogBrowser(settings, client)
    table = TableRef((ns,), "t")
    assert browser.preview(table).row_count == 3  # the browser's catalog is now open and cached
    yield {"settings": settings, "client": client, "branch": branch, "browser": browser, "table": table}
    client.delete_ref(branch)
    client.close()


def _rows(settings: Any) -> dict[str, Any]:
    """The service table, with Spark and Dremio configured (on ports nothing listens on) so that their
    blocking by a dead dependency shows."""
    closed = "http://127.0.0.1:9"  # discard: nothing listens
    settings = settings.model_copy(update={
        "spark": settings.spark.model_copy(update={"ui_url": closed}),
        "dremio": settings.dremio.model_copy(update={"url": closed}),
    })
    provider = StackServiceStatusProvider(settings)
    try:
        return {row.name: row for row in provider.statuses()}
    finally:
        provider.close()


def _assert_nessie_down(call: Any) -> None:
    with pytest.raises(ServiceUnavailableError) as info:
        call()
    assert info.value.service == "nessie"
    assert info.value.cause == "connection refused", info.value.cause


def test_nessie_killed_mid_session_then_recovers(session: dict[str, Any]) -> None:
    client: NessieClient = session["client"]
    browser: NessieCatalogBrowser = session["browser"]
    branch, table = session["branch"], session["table"]
    head = client.get_ref(branch).hash
    log = [c.hash for c in client.commit_log(branch, limit=10)]
    sql = RestDuckDbSqlEngine(session["settings"])

    with outage("nessie", kill=True):
        _assert_nessie_down(client.config)
        _assert_nessie_down(client.list_refs)
        _assert_nessie_down(lambda: client.get_ref(branch))
        _assert_nessie_down(lambda: browser.table_detail(table))  # cached catalog
        _assert_nessie_down(lambda: NessieCatalogBrowser(session["settings"], client).list_namespaces())
        _assert_nessie_down(lambda: open_rest_catalog(session["settings"], branch))
        _assert_nessie_down(lambda: sql.execute(f"SELECT COUNT(*) FROM {table.identifier}"))
        rows = _rows(session["settings"])  # the status screen's view of the outage
        assert rows["nessie"].state is ServiceState.DOWN and rows["nessie"].last_error == "connection refused"
        for dependant in ("spark", "dremio"):
            assert rows[dependant].state is ServiceState.BLOCKED and rows[dependant].blocked_by == "nessie"
        assert rows["minio"].state is ServiceState.UP and rows["postgres"].state is ServiceState.UP

    # restarted: nothing lost, every client recovers without being rebuilt
    assert client.get_ref(branch).hash == head
    assert [c.hash for c in client.commit_log(branch, limit=10)] == log
    assert branch in {r.name for r in client.list_refs()}
    assert browser.preview(table).row_count == 3
    assert [s.total_rows for s in browser.snapshots(table)] == [3]
    assert sql.execute(f"SELECT COUNT(*) FROM {table.identifier}").tuples() == ((3,),)
    assert _rows(session["settings"])["nessie"].state is ServiceState.UP
    sql.close()


def test_minio_stopped_mid_session_then_recovers(session: dict[str, Any]) -> None:
    browser: NessieCatalogBrowser = session["browser"]
    client: NessieClient = session["client"]
    table, branch = session["table"], session["branch"]
    head = client.get_ref(branch).hash
    sql = RestDuckDbSqlEngine(session["settings"])
    query = f"SELECT COUNT(*) FROM {table.identifier}"

    with outage("minio"):
        with pytest.raises(ServiceUnavailableError) as info:
            browser.preview(table)
        assert info.value.service == "minio", str(info.value)
        assert info.value.cause.startswith("connection refused"), info.value.cause
        with pytest.raises(ServiceUnavailableError) as via_sql:
            sql.execute(query)
        assert via_sql.value.service == "minio", str(via_sql.value)
        assert via_sql.value.cause.startswith("connection refused"), via_sql.value.cause
        assert client.get_ref(branch).hash == head  # Nessie itself still answers
        rows = _rows(session["settings"])
        assert rows["minio"].state is ServiceState.DOWN and "refused" in (rows["minio"].last_error or "")
        assert rows["nessie"].state is ServiceState.BLOCKED and rows["nessie"].blocked_by == "minio"

    assert browser.preview(table).row_count == 3
    assert sql.execute(query).tuples() == ((3,),)
    assert client.get_ref(branch).hash == head
    sql.close()


def test_minio_outage_reads_the_same_in_phase_2_and_phase_3(
    stack: StackEndpoints, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Phase 2's writes (pyarrow) and phase 3's reads (DuckDB) during a MinIO outage: one line, the
    same for both, and exit 3."""
    from lakehouse_core.cli import EXIT_UNAVAILABLE, main

    branch = f"test-outage-phases-{uuid.uuid4().hex[:10]}"
    settings = make_stack_settings(stack, tmp_path / "data", http_timeout_s=3.0,
                                   nessie={"url": stack.nessie_url, "ref": branch})
    client = NessieClient(settings)
    client.create_branch(branch, "main")
    env = {
        "LAKEHOUSE_MODE": "stack", "LAKEHOUSE_DATA_DIR": str(settings.data_path),
        "LAKEHOUSE_HTTP_TIMEOUT_S": "3", "LAKEHOUSE_NESSIE__URL": stack.nessie_url,
        "LAKEHOUSE_NESSIE__REF": branch, "LAKEHOUSE_MINIO__ENDPOINT": stack.minio_endpoint,
        "LAKEHOUSE_MINIO__ACCESS_KEY": stack.minio_access_key,
        "LAKEHOUSE_MINIO__SECRET_KEY": stack.minio_secret_key,
        "LAKEHOUSE_PROMETHEUS__URL": stack.prometheus_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        for phase in ("1", "2"):
            assert main(["-q", "phase", phase, "--orders", "300"]) == 0, capsys.readouterr().err
        # new raw orders, so phase 1 publishes an increment and phase 2 has something to write
        # (a rerun on unchanged data commits nothing and would never reach MinIO)
        deliver_orders(settings.data_path, count=5)
        assert main(["-q", "phase", "1"]) == 0, capsys.readouterr().err
        capsys.readouterr()
        with outage("minio"):
            lines = {}
            for phase in ("2", "3"):
                code = main(["-q", "phase", phase])
                err = capsys.readouterr().err
                assert code == EXIT_UNAVAILABLE, err
                assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
                lines[phase] = err.strip()
        expected = "error: phase {} failed: minio is unavailable: connection refused"
        assert lines == {"2": expected.format(2), "3": expected.format(3)}
    finally:
        client.delete_ref(branch)
        client.close()
