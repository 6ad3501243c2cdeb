"""One way to name an outage: an object-store transport failure (the real pyarrow/pyiceberg OSError of
phase 2's writes, DuckDB httpfs' IOException of phase 3's reads) is ``minio is unavailable: connection
refused`` with exit 3 from every path, on an endpoint where nothing listens (no service is stopped)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from io import StringIO

import duckdb
import pytest
import requests

from lakehouse_core.backends.stack.iceberg_rest import rest_errors
from lakehouse_core.cli_support import EXIT_UNAVAILABLE, Guard, console
from lakehouse_core.engines import duckdb_session
from lakehouse_core.errors import PhaseFailed, QueryError, ServiceUnavailableError, unavailable_error
from lakehouse_core.phases.engine import Step, run_steps
from lakehouse_core.redact import Redactor

LINE = "minio is unavailable: connection refused"


@pytest.fixture(scope="module")
def dead_endpoint() -> str:
    """host:port of a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture(scope="module")
def pyarrow_error(dead_endpoint: str) -> OSError:
    """What phase 2's pyiceberg writes raise when MinIO is gone (pyarrow's S3 file system)."""
    from pyiceberg.io.pyarrow import PyArrowFileIO

    io = PyArrowFileIO(properties={
        "s3.endpoint": f"http://{dead_endpoint}", "s3.access-key-id": "k", "s3.secret-access-key": "s",
        "s3.region": "us-east-1", "s3.connect-timeout": "1", "s3.request-timeout": "1",
    })
    with pytest.raises(OSError) as info:
        io.new_output("s3://warehouse/bronze/orders/data/part-0.parquet").create(overwrite=True).write(b"x")
    assert "NETWORK_CONNECTION" in str(info.value) or "connect" in str(info.value).lower(), info.value
    return info.value


@pytest.fixture(scope="module")
def duckdb_error(dead_endpoint: str) -> duckdb.Error:
    """What phase 3's DuckDB reads raise when MinIO is gone (httpfs)."""
    con = duckdb.connect()
    secret = (f"CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's', ENDPOINT '{dead_endpoint}', "
              "URL_STYLE 'path', USE_SSL false, REGION 'us-east-1')")
    assert duckdb_session.load_extensions(con, ("httpfs",), (secret, "SET http_retries = 0"))
    with pytest.raises(duckdb.IOException) as info:
        con.execute("SELECT * FROM read_parquet('s3://warehouse/gold/daily_sales.parquet')").fetchall()
    return info.value


def _fails(phase: int, error: Callable[[], BaseException]) -> PhaseFailed:
    def step() -> None:
        raise error()

    with pytest.raises(PhaseFailed) as info:
        run_steps(phase, [Step("task", "a task", step)], run_id="R")
    return info.value


def _cli(body: Callable[[], int]) -> tuple[int, str]:
    """The CLI's guard around ``body``: exit code and stderr."""
    err = StringIO()
    code = Guard(console(lambda: err, Redactor()), Redactor(), None).run(body)
    return code, err.getvalue()


def _raise(exc: BaseException) -> Callable[[], int]:
    def body() -> int:
        raise exc

    return body


def _query_error(cause: duckdb.Error) -> QueryError:
    """The DuckDB engine's QueryError for ``cause`` (as DuckDbSqlEngine.execute raises it)."""
    try:
        raise QueryError(str(cause), "duckdb") from cause
    except QueryError as exc:
        return exc


def test_phase_2_and_phase_3_outages_read_the_same(
    pyarrow_error: OSError, duckdb_error: duckdb.Error
) -> None:
    phase2 = _fails(2, lambda: pyarrow_error)
    phase3 = _fails(3, lambda: _query_error(duckdb_error))
    for failed in (phase2, phase3):
        assert isinstance(failed.cause, ServiceUnavailableError)
        assert (failed.cause.service, failed.cause.cause) == ("minio", "connection refused")
        assert str(failed) == f"phase {failed.phase} failed: {LINE}"
    outcomes = [_cli(_raise(failed)) for failed in (phase2, phase3)]
    assert outcomes == [(EXIT_UNAVAILABLE, f"error: phase 2 failed: {LINE}\n"),
                        (EXIT_UNAVAILABLE, f"error: phase 3 failed: {LINE}\n")]


def test_every_path_maps_the_transport_error_the_same(
    pyarrow_error: OSError, duckdb_error: duckdb.Error
) -> None:
    # raw, wrapped by the REST catalog's mapping, as a QueryError, as a phase child's string cause
    with pytest.raises(ServiceUnavailableError) as via_rest:
        with rest_errors():
            raise pyarrow_error
    child = PhaseFailed(2, repr(pyarrow_error))  # an error that could not be pickled comes back as text
    for exc in (pyarrow_error, duckdb_error, _query_error(duckdb_error), via_rest.value):
        down = unavailable_error(exc)
        assert down is not None and str(down) == LINE, exc
        assert _cli(_raise(exc)) == (EXIT_UNAVAILABLE, f"error: {LINE}\n")
    assert _cli(_raise(child)) == (EXIT_UNAVAILABLE, f"error: phase 2 failed: {LINE}\n")


def test_other_errors_are_not_taken_for_an_outage() -> None:
    # an HTTP client's refusal is mapped by that client (it knows the service), never guessed as MinIO
    refused = requests.ConnectionError("Failed to establish a new connection: [Errno 111] Connection refused")
    assert unavailable_error(refused) is None
    assert unavailable_error(OSError("[Errno 2] No such file or directory")) is None
    assert unavailable_error(QueryError('Parser Error: syntax error at or near "SELEC"', "duckdb")) is None
    nessie = ServiceUnavailableError("nessie", "connection refused")
    assert unavailable_error(PhaseFailed(2, nessie)) is nessie
    assert _cli(_raise(PhaseFailed(2, nessie))) == (
        EXIT_UNAVAILABLE, "error: phase 2 failed: nessie is unavailable: connection refused\n")
