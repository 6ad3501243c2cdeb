"""DremioSqlEngine against tests/core/fake_dremio.py.

Dremio cannot be obtained here (not on Maven Central, PyPI or apt), so these tests run against a
FAKE server that reproduces the documented shapes of Dremio's REST API (login, jobs, results paging
with limit <= 500, cancel, catalog) and executes the SQL on DuckDB so the rows are real.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from lakehouse_core.backends.stack.dremio import DremioSqlEngine, apply_as_of, dremio_reachable
from lakehouse_core.backends.stack.dremio_setup import DremioSetup
from lakehouse_core.backends.stack.registry import service_specs
from lakehouse_core.errors import CancelledError, NotFoundError, QueryError, ServiceUnavailableError
from lakehouse_core.models import AsOf
from lakehouse_core.ports import SqlEngine
from lakehouse_core.settings import LakehouseSettings, load_settings
from tests.core.fake_dremio import FakeDremio


def _settings(url: str, **extra: object) -> LakehouseSettings:
    return load_settings(dremio={"url": url, "user": "dremio", "password": "dremio123"},
                         http_timeout_s=5.0, **extra)


def _engine(settings: LakehouseSettings, **kw: Any) -> DremioSqlEngine:
    return DremioSqlEngine(settings.dremio, timeout_s=settings.http_timeout_s,
                           query_timeout_s=settings.query_timeout_s,
                           fetch_limit=settings.tui.fetch_limit, **kw)


def _setup(settings: LakehouseSettings) -> DremioSetup:
    return DremioSetup(settings.dremio, settings.minio, settings.nessie, timeout_s=settings.http_timeout_s)


@pytest.fixture
def fake() -> Iterator[FakeDremio]:
    with FakeDremio(orders=1_234) as server:
        yield server


@pytest.fixture
def engine(fake: FakeDremio) -> Iterator[DremioSqlEngine]:
    eng = _engine(_settings(fake.url), poll_initial_s=0.01, poll_max_s=0.05)
    yield eng
    eng.close()


def _expected_order(i: int) -> tuple[object, ...]:
    status = ("completed", "pending", "cancelled")[i % 3]
    amount = float(round(Decimal(10) + Decimal(i % 97) * Decimal("1.5"), 2))
    day = datetime(2024, 1, 1).toordinal() + i % 60
    return (i, i % 10 + 1, amount, status, datetime.fromordinal(day).date())


def _result_calls(fake: FakeDremio) -> list[tuple[int, int]]:
    return [(int(r.query["offset"]), int(r.query["limit"]))
            for r in fake.calls("GET", "/api/v3/job/") if r.path.endswith("/results")]


def test_engine_satisfies_protocol(engine: DremioSqlEngine) -> None:
    assert isinstance(engine, SqlEngine)
    assert engine.name == "dremio"
    assert engine.supports_cancel is True


def test_login_submit_poll_and_page_1234_rows(engine: DremioSqlEngine, fake: FakeDremio) -> None:
    result = engine.execute("SELECT * FROM bronze.orders ORDER BY order_id", limit=10_000)

    assert result.engine == "dremio"
    assert result.columns == ("order_id", "customer_id", "total_amount", "status", "order_date")
    assert result.types == ("BIGINT", "BIGINT", "DECIMAL", "VARCHAR", "DATE")
    assert result.row_count == 1_234
    assert result.total_rows == 1_234
    assert result.truncated is False
    assert list(result.tuples()) == [_expected_order(i) for i in range(1, 1_235)]
    # three pages of <= 500 rows, exactly covering the result
    assert _result_calls(fake) == [(0, 500), (500, 500), (1000, 234)]
    # login once, token sent in Dremio's self-contained form
    assert fake.logins == 1
    submit = fake.calls("POST", "/api/v3/sql")
    assert len(submit) == 1
    assert submit[0].authorization == f"_dremio{engine.token}"
    assert submit[0].body == {"sql": "SELECT * FROM bronze.orders ORDER BY order_id", "context": ["nessie"]}
    # polled until COMPLETED: RUNNING, RUNNING, COMPLETED
    polls = [r for r in fake.calls("GET", "/api/v3/job/") if not r.path.endswith("/results")]
    assert len(polls) == 3


def test_truncation_at_fetch_limit(engine: DremioSqlEngine, fake: FakeDremio) -> None:
    result = engine.execute("SELECT order_id FROM bronze.orders ORDER BY order_id", limit=600)

    assert result.row_count == 600
    assert result.truncated is True
    assert result.total_rows == 1_234
    assert [r[0] for r in result.tuples()] == list(range(1, 601))
    assert _result_calls(fake) == [(0, 500), (500, 100)]


def test_small_page_size_never_exceeds_cap(fake: FakeDremio) -> None:
    eng = _engine(_settings(fake.url), poll_initial_s=0.01, page_size=10_000)
    result = eng.execute("SELECT order_id FROM bronze.orders", limit=None)
    eng.close()
    assert result.row_count == 1_234
    assert max(limit for _, limit in _result_calls(fake)) == 500


def test_fake_enforces_documented_limits(engine: DremioSqlEngine, fake: FakeDremio) -> None:
    job_id = engine.submit("SELECT 1 AS x")
    headers = {"Authorization": f"_dremio{engine.token}"}
    early = httpx.get(f"{fake.url}/api/v3/job/{job_id}/results", headers=headers)
    assert early.status_code == 400  # not COMPLETED yet
    engine.wait(job_id)
    too_big = httpx.get(f"{fake.url}/api/v3/job/{job_id}/results?offset=0&limit=501", headers=headers)
    assert too_big.status_code == 400
    assert too_big.json()["errorMessage"] == "limit can not exceed 500 rows"
    assert httpx.get(f"{fake.url}/api/v3/catalog").status_code == 401  # no token


def test_failed_query_raises_engine_message(engine: DremioSqlEngine, fake: FakeDremio) -> None:
    with pytest.raises(QueryError) as info:
        engine.execute("SELECT * FROM bronze.nope")
    job = next(iter(fake.jobs.values()))
    assert job.state == "FAILED"
    assert job.error and "nope" in job.error
    assert str(info.value) == job.error
    assert info.value.engine == "dremio"


def test_rejected_submit_is_a_query_error(engine: DremioSqlEngine) -> None:
    with pytest.raises(QueryError) as info:
        engine.execute("   ")
    assert str(info.value) == "sql is required"


def test_cancel_running_job(fake: FakeDremio) -> None:
    fake.polls_until_done = None  # jobs stay RUNNING until cancelled
    eng = _engine(_settings(fake.url), poll_initial_s=0.01, poll_max_s=0.05)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            eng.execute("SELECT count(*) FROM bronze.orders")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    for _ in range(200):
        if fake.jobs:
            break
        time.sleep(0.01)
    assert fake.jobs, "the job was never submitted"
    eng.cancel()
    worker.join(timeout=10)
    assert not worker.is_alive()
    job = next(iter(fake.jobs.values()))
    assert job.state == "CANCELED"
    assert len(fake.calls("POST", f"/api/v3/job/{job.id}/cancel")) == 1
    assert len(errors) == 1 and isinstance(errors[0], CancelledError)
    assert "Query cancelled by user" in str(errors[0])
    eng.cancel()  # nothing running: no-op
    assert len(fake.calls("POST", "/api/v3/job/")) == 1
    eng.close()


def test_query_timeout_cancels_job(fake: FakeDremio) -> None:
    fake.polls_until_done = None
    eng = _engine(_settings(fake.url, query_timeout_s=0.3), poll_initial_s=0.01, poll_max_s=0.05)
    with pytest.raises(QueryError, match="did not finish within 0.3s"):
        eng.execute("SELECT 1")
    eng.close()
    assert next(iter(fake.jobs.values())).state == "CANCELED"


def test_relogin_on_401(engine: DremioSqlEngine, fake: FakeDremio) -> None:
    first = engine.execute("SELECT count(*) AS n FROM bronze.orders")
    old_token = engine.token
    fake.expire_tokens()
    second = engine.execute("SELECT count(*) AS n FROM bronze.customers")

    assert first.tuples() == ((1_234,),)
    assert second.tuples() == ((10,),)
    assert fake.logins == 2
    assert engine.token != old_token
    submits = fake.calls("POST", "/api/v3/sql")
    assert [s.authorization for s in submits] == [f"_dremio{old_token}", f"_dremio{old_token}",
                                                  f"_dremio{engine.token}"]


def test_wrong_password_is_a_clear_error(fake: FakeDremio) -> None:
    settings = load_settings(dremio={"url": fake.url, "password": "wrong"}, http_timeout_s=5.0)
    eng = _engine(settings)
    with pytest.raises(Exception, match="HTTP 401: Login failed"):
        eng.execute("SELECT 1")
    eng.close()


def test_as_of_mapping(engine: DremioSqlEngine, fake: FakeDremio) -> None:
    sql = "SELECT o.order_id FROM bronze.orders o JOIN bronze.customers c ON o.customer_id = c.customer_id"
    assert apply_as_of(sql, AsOf(snapshot_id=5393090506354317772)) == (
        "SELECT o.order_id FROM bronze.orders AT SNAPSHOT '5393090506354317772' o "
        "JOIN bronze.customers AT SNAPSHOT '5393090506354317772' c ON o.customer_id = c.customer_id"
    )
    ts = datetime(2022, 7, 1, 1, 30, tzinfo=UTC)
    assert apply_as_of("select * from gold.daily_sales", AsOf(timestamp=ts)) == (
        "select * from gold.daily_sales AT TIMESTAMP '2022-07-01 01:30:00.000'"
    )
    assert apply_as_of("SELECT * FROM TABLE(table_history('bronze.orders'))", AsOf(snapshot_id=1)) == (
        "SELECT * FROM TABLE(table_history('bronze.orders'))"
    )

    result = engine.execute("SELECT count(*) FROM bronze.orders", as_of=AsOf(snapshot_id=42))
    assert result.tuples() == ((1_234,),)
    assert result.as_of == AsOf(snapshot_id=42)
    engine.execute("SELECT count(*) FROM bronze.orders", as_of=AsOf(ref="dev"))
    bodies = [r.body for r in fake.calls("POST", "/api/v3/sql")]
    assert bodies[0]["sql"] == "SELECT count(*) FROM bronze.orders AT SNAPSHOT '42'"
    assert "references" not in bodies[0]
    assert bodies[1] == {"sql": "SELECT count(*) FROM bronze.orders", "context": ["nessie"],
                         "references": {"nessie": {"type": "BRANCH", "value": "dev"}}}


def test_ensure_sources_bootstraps_and_is_idempotent() -> None:
    with FakeDremio(users={}) as fake:
        settings = _settings(fake.url, nessie={"url": "http://127.0.0.1:19120"},
                             minio={"endpoint": "http://127.0.0.1:9000", "secret_key": "minioadmin123"})
        setup = _setup(settings)
        assert setup.missing() == ["user dremio", "source minio", "source nessie"]
        first = setup.setup()
        second = setup.setup()

        assert [(s.service, s.thing, s.created) for s in first] == [
            ("dremio", "user dremio", True), ("dremio", "source minio", True),
            ("dremio", "source nessie", True)]
        assert [s.created for s in second] == [False, False, False]
        assert setup.missing() == []
        assert fake.users == {"dremio": "dremio123"}
        assert len(fake.calls("POST", "/api/v3/catalog")) == 2
        nessie = fake.sources["nessie"]
        assert nessie["type"] == "NESSIE"
        assert nessie["config"]["nessieEndpoint"] == "http://127.0.0.1:19120/api/v2"
        assert nessie["config"]["nessieAuthType"] == "NONE"
        assert nessie["config"]["awsRootPath"] == "warehouse"
        assert nessie["config"]["awsAccessKey"] == "minioadmin"
        assert nessie["config"]["awsAccessSecret"] == "minioadmin123"
        minio = fake.sources["minio"]
        assert minio["type"] == "S3"
        assert minio["config"]["compatibilityMode"] is True
        props = {p["name"]: p["value"] for p in minio["config"]["propertyList"]}
        assert props["fs.s3a.path.style.access"] == "true"
        assert props["fs.s3a.endpoint"] == "127.0.0.1:9000"
        assert props == {p["name"]: p["value"] for p in nessie["config"]["propertyList"]}


def test_catalog_browse(engine: DremioSqlEngine, fake: FakeDremio) -> None:
    _setup(_settings(fake.url)).setup()
    top = engine.list_catalog()
    assert [(e.path, e.container_type) for e in top] == [
        (("@dremio",), "HOME"), (("minio",), "SOURCE"), (("nessie",), "SOURCE")]
    assert [e.path for e in engine.list_catalog(["nessie"])] == [("nessie", "bronze"), ("nessie", "gold")]
    tables = engine.list_catalog(["nessie", "bronze"])
    assert [(e.name, e.type) for e in tables] == [("customers", "DATASET"), ("orders", "DATASET")]
    with pytest.raises(NotFoundError, match="Could not find entity"):
        engine.list_catalog(["nessie", "platinum"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dead_dremio_is_unavailable(fake: FakeDremio) -> None:
    dead = _settings(f"http://127.0.0.1:{_closed_port()}")
    eng = _engine(dead)
    with pytest.raises(ServiceUnavailableError, match="connection refused"):
        eng.execute("SELECT 1")
    eng.close()
    assert dremio_reachable(dead.dremio, 2.0) is False
    assert dremio_reachable(_settings(fake.url).dremio, 2.0) is True


def test_stack_sql_engine_chooses_on_first_query_without_side_effects(fake: FakeDremio) -> None:
    from lakehouse_core.backends.stack import build_stack

    settings = _settings(fake.url, docker={"enabled": False})
    backend = build_stack(settings)
    assert fake.requests == []  # building the backend asked Dremio nothing
    assert isinstance(backend.sql, SqlEngine)
    assert backend.sql.name == "dremio or duckdb (Nessie REST fallback)"
    assert backend.setup is not None
    backend.setup.setup()
    assert backend.sql.execute("SELECT count(*) FROM bronze.orders").tuples() == ((1_234,),)
    assert backend.sql.name == "dremio"
    assert fake.sources.keys() == {"minio", "nessie"}  # made by the explicit set-up only

    dead = build_stack(_settings(f"http://127.0.0.1:{_closed_port()}", docker={"enabled": False}))
    disabled = build_stack(
        load_settings(dremio={"url": fake.url, "enabled": False}, docker={"enabled": False}))
    assert disabled.setup is None
    for backend in (dead, disabled):
        chosen = backend.sql.engine()  # type: ignore[attr-defined]
        assert type(chosen).__name__ == "RestDuckDbSqlEngine"
        assert backend.sql.name == "duckdb (Nessie REST fallback)"


def test_status_reports_dremio_up_but_not_set_up() -> None:
    from lakehouse_core.backends.stack.status import StackServiceStatusProvider
    from lakehouse_core.models import ServiceState

    with FakeDremio(users={}) as fake:
        settings = _settings(fake.url)
        setup = _setup(settings)
        provider = StackServiceStatusProvider(
            settings, setup_checks={"dremio": setup.missing},
            specs=[s for s in service_specs(settings) if s.name == "dremio"])
        [row] = provider.statuses()
        assert (row.state, row.needs_setup) == (ServiceState.DEGRADED, True)
        assert row.detail == (
            "up, not set up: run `lakehouse setup` (user dremio, source minio, source nessie missing)")
        setup.setup()
        [row] = provider.statuses()
        assert (row.state, row.needs_setup, row.detail) == (ServiceState.UP, False, "HTTP 200")
        provider.close()


def test_cli_setup_is_idempotent_with_one_line_per_thing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lakehouse_core.cli import EXIT_OK, EXIT_UNAVAILABLE, main

    monkeypatch.setenv("LAKEHOUSE_DOCKER__ENABLED", "false")
    with FakeDremio(users={}) as fake:
        monkeypatch.setenv("LAKEHOUSE_DREMIO__URL", fake.url)
        assert main(["--mode", "stack", "setup"]) == EXIT_OK
        assert capsys.readouterr().out.splitlines() == [
            "dremio: user dremio created", "dremio: source minio created", "dremio: source nessie created"]
        assert main(["--mode", "stack", "setup"]) == EXIT_OK
        assert capsys.readouterr().out.splitlines() == [
            "dremio: user dremio already there", "dremio: source minio already there",
            "dremio: source nessie already there"]
    monkeypatch.setenv("LAKEHOUSE_DREMIO__URL", f"http://127.0.0.1:{_closed_port()}")
    assert main(["--mode", "stack", "setup"]) == EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "dremio" in err and "connection refused" in err


def test_cli_setup_in_embedded_mode_has_nothing_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lakehouse_core.cli import EXIT_OK, main

    assert main(["--mode", "embedded", "--data-dir", str(tmp_path), "setup"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "nothing to set up in embedded mode"


def test_non_reads_are_refused_before_dremio_is_asked(engine: DremioSqlEngine, fake: FakeDremio) -> None:
    """Classified with sqlglot's Dremio dialect; nothing is submitted for a refused statement."""
    refused = [
        ("CREATE OR REPLACE VIEW gold.daily_sales AS SELECT 1 AS x", "CREATE"),
        ("DROP VIEW gold.daily_sales", "DROP"),
        ("COPY INTO bronze.orders FROM '@s3/raw/orders.csv'", "COPY"),
        ("INSERT INTO bronze.orders SELECT * FROM bronze.orders", "INSERT"),
        ("WITH o AS (SELECT 1) INSERT INTO bronze.orders SELECT * FROM o", "INSERT"),
        ("DELETE FROM bronze.orders", "DELETE"),
        ("ALTER TABLE bronze.orders ADD COLUMNS (c INT)", "ALTER"),
        ("OPTIMIZE TABLE bronze.orders", "OPTIMIZE"),
        ("ROLLBACK TABLE bronze.orders TO SNAPSHOT '1'", "ROLLBACK"),
        ("SELECT 1; DROP TABLE bronze.orders", "DROP"),
    ]
    for sql, kind in refused:
        with pytest.raises(QueryError) as info:
            engine.execute(sql)
        assert info.value.message == f"read-only: {kind} statements are not allowed", sql
        assert info.value.engine == "dremio"
    assert fake.jobs == {}
    assert engine.execute("SELECT COUNT(*) AS n FROM bronze.orders").tuples() == ((1_234,),)
    assert len(fake.jobs) == 1


def test_first_page_is_the_first_results_page(engine: DremioSqlEngine, fake: FakeDremio) -> None:
    pages: list = []
    sql = "SELECT * FROM bronze.orders ORDER BY order_id"
    result = engine.execute(sql, limit=10_000, on_first_page=pages.append)
    assert [p.row_count for p in pages] == [500] and pages[0].truncated
    assert pages[0].table.equals(result.table.slice(0, 500))
    assert result.row_count == 1_234 and len(fake.calls("POST", "/api/v3/sql")) == 1  # one job
    small: list = []
    engine.execute("SELECT count(*) FROM bronze.orders", on_first_page=small.append)
    assert small == []


def test_json_rows_become_arrow_of_the_reported_types() -> None:
    import datetime as dt
    from decimal import Decimal

    import pyarrow as pa

    from lakehouse_core.backends.stack.dremio_arrow import arrow_table

    schema = [
        {"name": "n", "type": {"name": "BIGINT"}},
        {"name": "amount", "type": {"name": "DECIMAL", "precision": 12, "scale": 2}},
        {"name": "day", "type": {"name": "DATE"}},
        {"name": "at", "type": {"name": "TIMESTAMP"}},
        {"name": "clock", "type": {"name": "TIME"}},
        {"name": "ok", "type": {"name": "BOOLEAN"}},
        {"name": "tags", "type": {"name": "LIST"}},
    ]
    rows = [
        {"n": 1, "amount": 12.5, "day": "2024-02-29", "at": "2024-02-29 13:45:07.123"}
        | {"clock": "13:45:07", "ok": True, "tags": ["a"]},
        {"n": None, "amount": None, "day": None, "at": None, "clock": None, "ok": None, "tags": None},
    ]
    table = arrow_table(schema, rows)
    assert table.schema.types[:6] == [
        pa.int64(), pa.decimal128(12, 2), pa.date32(), pa.timestamp("ms"), pa.time64("us"), pa.bool_()
    ]
    assert table.to_pylist()[0] == {
        "n": 1, "amount": Decimal("12.50"), "day": dt.date(2024, 2, 29),
        "at": dt.datetime(2024, 2, 29, 13, 45, 7, 123000), "clock": dt.time(13, 45, 7),
        "ok": True, "tags": ["a"],
    }
    assert all(v is None for v in table.to_pylist()[1].values())
