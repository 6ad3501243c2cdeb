"""The one place where HTTP transport errors become lakehouse errors (like pyiceberg's _handle_non_200)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from lakehouse_core.errors import (
    ConflictError,
    LakehouseError,
    NotFoundError,
    ServiceUnavailableError,
)

logger = logging.getLogger(__name__)


def describe_transport_error(exc: BaseException) -> str:
    """A one-line human cause for a transport failure (``connection refused``, ``timed out``...)."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc) or "connect error"
        if "refused" in text.lower():
            return "connection refused"
        return text
    return str(exc) or type(exc).__name__


def _error_text(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason_phrase
    if isinstance(body, Mapping):
        for key in ("message", "errorMessage", "error", "detail"):
            value = body.get(key)
            if value:
                if isinstance(value, Mapping):
                    return str(value.get("message") or value)
                return str(value)
    return str(body)[:300]


def raise_for_response(service: str, response: httpx.Response) -> None:
    """Map a non-2xx response to NotFoundError / ConflictError / LakehouseError."""
    if response.is_success:
        return
    text = _error_text(response)
    status = response.status_code
    if status == 404:
        raise NotFoundError(f"{service}: {text}")
    if status == 409:
        raise ConflictError(f"{service}: {text}")
    if status in (502, 503, 504):
        raise ServiceUnavailableError(service, f"HTTP {status}: {text}")
    raise LakehouseError(f"{service}: HTTP {status}: {text}", title=f"{service} error")


class HttpClient:
    """A thin httpx wrapper: base URL, timeout on every request, errors mapped in one place."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        timeout_s: float,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s),
            headers=dict(headers or {}),
            transport=transport,
            follow_redirects=True,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; transport failures raise ServiceUnavailableError, non-2xx mapped errors."""
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(self.service, describe_transport_error(exc)) from exc
        raise_for_response(self.service, response)
        return response

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post_json(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.request("POST", path, json=body, **kwargs)
        return response.json() if response.content else None

    def close(self) -> None:
        self._client.close()
