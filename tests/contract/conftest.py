"""One contract suite, every implementation: the ``backend`` fixture runs each test on embedded and stack."""

from __future__ import annotations

import pytest

from lakehouse_core.ports import Backend


@pytest.fixture(params=["embedded", pytest.param("stack", marks=pytest.mark.stack)])
def backend(request: pytest.FixtureRequest) -> Backend:
    """The embedded backend, and the stack backend against the real services (make test starts them)."""
    name = "embedded_lakehouse" if request.param == "embedded" else "stack_lakehouse"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]
