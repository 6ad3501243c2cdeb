"""StackSqlEngine: Dremio when it answers, else DuckDB over Nessie's Iceberg REST catalog.

The choice is made on the first query (one bounded probe of Dremio's REST port), never when the
backend is built, and kept for the life of the engine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from lakehouse_core.backends.stack.dremio import ENGINE as DREMIO
from lakehouse_core.backends.stack.dremio import DremioSqlEngine, dremio_reachable
from lakehouse_core.backends.stack.rest_duckdb import ENGINE_NAME as REST_DUCKDB
from lakehouse_core.backends.stack.rest_duckdb import RestDuckDbSqlEngine
from lakehouse_core.models import AsOf, QueryResult
from lakehouse_core.ports import FirstPageCallback, SqlEngine
from lakehouse_core.settings import DremioSettings

logger = logging.getLogger(__name__)

REACH_TIMEOUT_S = 2.0
"""Bound of the one probe that decides for Dremio."""


class StackSqlEngine:
    """ports.SqlEngine choosing its engine on the first query (``name`` says which, once chosen)."""

    supports_cancel = True

    def __init__(
        self,
        dremio: DremioSettings,
        *,
        timeout_s: float,
        make_dremio: Callable[[], DremioSqlEngine],
        make_fallback: Callable[[], RestDuckDbSqlEngine],
    ) -> None:
        self._dremio = dremio
        self._timeout_s = min(REACH_TIMEOUT_S, timeout_s)
        self._make_dremio = make_dremio
        self._make_fallback = make_fallback
        self._engine: DremioSqlEngine | RestDuckDbSqlEngine | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        engine = self._engine
        return engine.name if engine is not None else f"{DREMIO} or {REST_DUCKDB}"

    @property
    def chosen(self) -> SqlEngine | None:
        """The engine queries go to (None before the first query)."""
        return self._engine

    def engine(self) -> DremioSqlEngine | RestDuckDbSqlEngine:
        """The chosen engine; the first call probes Dremio (when enabled) and decides."""
        with self._lock:
            if self._engine is None:
                if self._dremio.active and dremio_reachable(self._dremio, self._timeout_s):
                    logger.info("SQL through Dremio at %s", self._dremio.url)
                    self._engine = self._make_dremio()
                else:
                    logger.info("dremio disabled or unreachable: SQL through DuckDB over Iceberg REST")
                    self._engine = self._make_fallback()
            return self._engine

    def execute(
        self,
        sql: str,
        *,
        limit: int | None = None,
        as_of: AsOf | None = None,
        on_first_page: FirstPageCallback | None = None,
    ) -> QueryResult:
        """Run one statement on the chosen engine (see DremioSqlEngine / RestDuckDbSqlEngine)."""
        return self.engine().execute(sql, limit=limit, as_of=as_of, on_first_page=on_first_page)

    def cancel(self) -> None:
        """Cancel the running query (no-op before the first query or when idle)."""
        engine = self._engine
        if engine is not None:
            engine.cancel()

    def close(self) -> None:
        """Close the chosen engine."""
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
