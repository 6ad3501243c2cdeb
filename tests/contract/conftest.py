"""One contract suite, every implementation: the ``backend`` fixture runs each test on embedded and stack;
``sql_backend`` runs the SqlEngine tests on embedded, stack and stack with Spark SQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from lakehouse_core.ports import Backend

SPARK_CONNECT_URL = "sc://127.0.0.1:15002"
"""The Spark Connect server of scripts/services/spark.sh."""


@pytest.fixture(params=["embedded", pytest.param("stack", marks=pytest.mark.stack)])
def backend(request: pytest.FixtureRequest) -> Backend:
    """The embedded backend, and the stack backend against the real services (make test starts them)."""
    name = "embedded_lakehouse" if request.param == "embedded" else "stack_lakehouse"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def spark_sql_lakehouse(stack_lakehouse: Backend) -> Iterator[Backend]:
    """The stack backend with SparkSqlEngine (Spark Connect) as its SQL engine, same Nessie branch."""
    from lakehouse_core.backends.stack.spark_connect import SparkSqlEngine
    from tests.stack.conftest import ensure_stack_up

    ensure_stack_up("spark")
    settings = stack_lakehouse.phases.settings  # type: ignore[attr-defined]
    spark = settings.spark.model_copy(update={"connect_url": SPARK_CONNECT_URL})
    engine = SparkSqlEngine(settings.model_copy(update={"spark": spark, "sql_engine": "spark"}))
    yield dataclasses.replace(stack_lakehouse, sql=engine)
    engine.close()


@pytest.fixture(
    params=[
        "embedded",
        pytest.param("stack", marks=pytest.mark.stack),
        pytest.param("stack-spark", marks=pytest.mark.stack),
    ]
)
def sql_backend(request: pytest.FixtureRequest) -> Backend:
    """A backend per SqlEngine implementation: embedded DuckDB, the stack's, Spark over Spark Connect."""
    names = {"embedded": "embedded_lakehouse", "stack": "stack_lakehouse"}
    return request.getfixturevalue(names.get(request.param, "spark_sql_lakehouse"))  # type: ignore[no-any-return]
