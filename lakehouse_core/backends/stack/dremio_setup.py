"""DremioSetup: Dremio's first user and its ``minio`` and ``nessie`` sources, made on request.

A fresh Dremio has no user (its UI asks for the first one) and no source. ``lakehouse setup`` (or the
TUI Overview's set-up key) creates them through the REST API; building the backend never does.
First user ``PUT /apiv2/bootstrap/firstuser`` (no token, 400 once a user exists), sources
``POST /api/v3/catalog`` with a source entity.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from lakehouse_core.backends.stack._http import HttpClient
from lakehouse_core.backends.stack.dremio import ENGINE, NESSIE_SOURCE, DremioSqlEngine
from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import SetupStep
from lakehouse_core.settings import DremioSettings, MinioSettings, NessieSettings

logger = logging.getLogger(__name__)

MINIO_SOURCE = "minio"


def _s3_properties(minio: MinioSettings) -> list[dict[str, str]]:
    endpoint = minio.endpoint.split("://", 1)[-1].rstrip("/")
    secure = minio.endpoint.startswith("https://")
    return [
        {"name": "fs.s3a.path.style.access", "value": "true"},
        {"name": "fs.s3a.endpoint", "value": endpoint},
        {"name": "fs.s3a.connection.ssl.enabled", "value": str(secure).lower()},
        {"name": "dremio.s3.compat", "value": "true"},
    ]


def source_bodies(minio: MinioSettings, nessie: NessieSettings) -> dict[str, dict[str, Any]]:
    """The platform's two sources as POST /api/v3/catalog bodies: ``minio`` (S3) and ``nessie``."""
    secret = minio.secret_key.get_secret_value()
    secure = minio.endpoint.startswith("https://")
    return {
        MINIO_SOURCE: {
            "entityType": "source",
            "type": "S3",
            "name": MINIO_SOURCE,
            "config": {
                "credentialType": "ACCESS_KEY",
                "accessKey": minio.access_key,
                "accessSecret": secret,
                "secure": secure,
                "compatibilityMode": True,
                "rootPath": "/",
                "enableAsync": True,
                "defaultCtasFormat": "ICEBERG",
                "propertyList": _s3_properties(minio),
            },
        },
        NESSIE_SOURCE: {
            "entityType": "source",
            "type": "NESSIE",
            "name": NESSIE_SOURCE,
            "config": {
                "nessieEndpoint": nessie.url.rstrip("/") + "/api/v2",
                "nessieAuthType": "NONE",
                "storageType": "AWS",
                "awsRootPath": minio.warehouse_bucket,
                "credentialType": "ACCESS_KEY",
                "awsAccessKey": minio.access_key,
                "awsAccessSecret": secret,
                "secure": secure,
                "propertyList": _s3_properties(minio),
            },
        },
    }


def _login_refused(exc: LakehouseError) -> bool:
    return "HTTP 401" in exc.message or "HTTP 403" in exc.message


class DremioSetup:
    """ports.ServiceSetup for Dremio; idempotent (what exists is left alone)."""

    service = ENGINE

    def __init__(
        self, dremio: DremioSettings, minio: MinioSettings, nessie: NessieSettings, *, timeout_s: float
    ) -> None:
        self.dremio = dremio
        self.minio = minio
        self.nessie = nessie
        self.timeout_s = timeout_s

    def _engine(self) -> DremioSqlEngine:
        return DremioSqlEngine(
            self.dremio, timeout_s=self.timeout_s, query_timeout_s=self.timeout_s, fetch_limit=1
        )

    @staticmethod
    def _sources(engine: DremioSqlEngine) -> set[str]:
        return {e.path[0] for e in engine.list_catalog() if e.path and e.container_type == "SOURCE"}

    def missing(self) -> list[str]:
        """What is not set up yet, e.g. ``["user dremio", "source minio"]`` (empty when set up).

        Raises:
            ServiceUnavailableError: Dremio does not answer.
        """
        engine = self._engine()
        try:
            try:
                engine.login()
            except LakehouseError as exc:
                if not _login_refused(exc):
                    raise
                existing: set[str] = set()
                missing = [f"user {self.dremio.user}"]
            else:
                existing = self._sources(engine)
                missing = []
            sources = source_bodies(self.minio, self.nessie)
            return missing + [f"source {n}" for n in sources if n not in existing]
        finally:
            engine.close()

    def bootstrap_first_user(self) -> bool:
        """PUT /apiv2/bootstrap/firstuser; True when created, False when a user already exists."""
        body = {
            "userName": self.dremio.user,
            "firstName": "Lakehouse",
            "lastName": "Admin",
            "email": f"{self.dremio.user}@lakehouse.local",
            "createdAt": int(time.time() * 1000),
            "password": self.dremio.password.get_secret_value(),
        }
        http = HttpClient(ENGINE, self.dremio.base_url, timeout_s=self.timeout_s)
        try:
            http.request(
                "PUT", "/apiv2/bootstrap/firstuser", json=body, headers={"Authorization": "_dremionull"}
            )
        except LakehouseError as exc:
            if any(f"HTTP {code}" in exc.message for code in (400, 403, 409)):
                logger.info("dremio first user not created: %s", exc)
                return False
            raise
        finally:
            http.close()
        logger.info("dremio first user %s created", self.dremio.user)
        return True

    def setup(self) -> list[SetupStep]:
        """Create the first user (when nobody can log in) and the missing sources, in that order.

        Raises:
            ServiceUnavailableError: Dremio does not answer.
            LakehouseError: a user exists but the configured credentials are refused, or Dremio
                rejected a source.
        """
        engine = self._engine()
        user = f"user {self.dremio.user}"
        try:
            try:
                engine.login()
                steps = [SetupStep(ENGINE, user, created=False)]
            except LakehouseError as exc:
                if not _login_refused(exc):
                    raise
                created = self.bootstrap_first_user()
                engine.login()
                steps = [SetupStep(ENGINE, user, created=created)]
            existing = self._sources(engine)
            for name, body in source_bodies(self.minio, self.nessie).items():
                if name not in existing:
                    engine.create_source(body)
                    logger.info("dremio source %s created", name)
                steps.append(SetupStep(ENGINE, f"source {name}", created=name not in existing))
        finally:
            engine.close()
        return steps
