"""pyiceberg RestCatalog on Nessie's Iceberg REST endpoint, with timeouts and one error-mapping place.

``{nessie.url}/iceberg`` serves the default branch, ``{nessie.url}/iceberg/<ref>`` another branch.
The client ``prefix`` is never set (it does not work for pyiceberg with Nessie). S3 credentials come
from ``settings.minio``; the server is expected to run with request signing disabled, so the client
talks to MinIO directly with path-style requests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import requests
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.exceptions import ServiceUnavailableError as IcebergUnavailable
from requests.adapters import HTTPAdapter

from lakehouse_core.errors import (
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
)
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

_S3_DOWN_MARKERS = ("couldn't connect", "connection refused", "curlcode: 7", "connect timeout",
                    "could not connect", "failed to establish", "network_connection")


class _TimeoutAdapter(HTTPAdapter):
    """Give every request of a requests.Session a default timeout."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def send(self, request: Any, **kwargs: Any) -> Any:  # noqa: D102
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout_s
        return super().send(request, **kwargs)


class NessieRestCatalog(RestCatalog):
    """RestCatalog whose HTTP session has a timeout on every request (settings.http_timeout_s)."""

    def __init__(self, name: str, *, timeout_s: float, **properties: str) -> None:
        self._timeout_s = timeout_s  # needed by _create_session, called from super().__init__
        super().__init__(name, **properties)

    def _create_session(self) -> requests.Session:
        session = super()._create_session()
        adapter = _TimeoutAdapter(self._timeout_s)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session


def rest_catalog_uri(settings: LakehouseSettings, ref: str | None = None) -> str:
    """Iceberg REST base URI for ``ref`` (default branch when None)."""
    base = settings.nessie.url.rstrip("/") + "/iceberg"
    return f"{base}/{quote(ref, safe='')}" if ref else base


def rest_catalog_properties(settings: LakehouseSettings, ref: str | None = None) -> dict[str, str]:
    """Client properties: REST URI plus MinIO credentials/endpoint and S3 timeouts."""
    timeout = str(settings.http_timeout_s)
    return {
        "uri": rest_catalog_uri(settings, ref),
        "s3.endpoint": settings.minio.endpoint,
        "s3.access-key-id": settings.minio.access_key,
        "s3.secret-access-key": settings.minio.secret_key.get_secret_value(),
        "s3.region": settings.minio.region,
        "s3.connect-timeout": timeout,
        "s3.request-timeout": timeout,
    }


def open_rest_catalog(settings: LakehouseSettings, ref: str | None = None) -> RestCatalog:
    """A pyiceberg RestCatalog on Nessie's Iceberg REST endpoint for branch ``ref``.

    Raises:
        ServiceUnavailableError: Nessie could not be reached.
        NotFoundError: the ref does not exist.
    """
    props = rest_catalog_properties(settings, ref)
    name = f"nessie-{ref}" if ref else "nessie"
    with rest_errors():
        catalog = NessieRestCatalog(name, timeout_s=settings.http_timeout_s, **props)
    logger.info("iceberg rest: opened %s (ref %s)", props["uri"], ref or "<default>")
    return catalog


def _s3_down(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(m in text for m in _S3_DOWN_MARKERS)


def describe_requests_error(exc: BaseException) -> str:
    """A short cause for a requests transport failure."""
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    if isinstance(exc, requests.Timeout):
        return f"timed out ({type(exc).__name__})"
    return text[:300] or type(exc).__name__


@contextmanager
def rest_errors(service: str = "nessie") -> Iterator[None]:
    """Map pyiceberg REST / requests / S3 errors to lakehouse errors (the one place for this client)."""
    try:
        yield
    except (NoSuchTableError, NoSuchNamespaceError) as exc:
        raise NotFoundError(f"{service}: {exc}") from exc
    except (TableAlreadyExistsError, NamespaceAlreadyExistsError, CommitFailedException) as exc:
        raise ConflictError(f"{service}: {exc}") from exc
    except IcebergUnavailable as exc:
        raise ServiceUnavailableError(service, f"HTTP 503: {exc}") from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise ServiceUnavailableError(service, describe_requests_error(exc)) from exc
    except FileNotFoundError as exc:
        raise NotFoundError(f"object store: {exc}") from exc
    except OSError as exc:
        if _s3_down(exc):
            raise ServiceUnavailableError("minio", f"connection refused ({exc})") from exc
        raise
