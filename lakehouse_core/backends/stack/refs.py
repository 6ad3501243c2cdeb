"""NessieRefControl: ports.RefControl over the Nessie REST API v2 client (catalog-wide refs).

Every call goes through ``NessieClient`` (a timeout on each request, transport errors mapped in
``_http``). A ref that was deleted or moved by a merge is dropped from the catalog browser's cache of
per-ref Iceberg REST catalogs, so browsing it again reads Nessie afresh.
"""

from __future__ import annotations

import getpass
import logging
from typing import Literal

from lakehouse_core.backends.stack.catalog import NessieCatalogBrowser
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.errors import ConfigError
from lakehouse_core.models import CommitInfo, MergeResult, RefInfo

logger = logging.getLogger(__name__)


class NessieRefControl:
    """Create (from a ref or a commit), delete, merge and log Nessie branches and tags."""

    def __init__(
        self,
        client: NessieClient,
        catalog: NessieCatalogBrowser | None = None,
        *,
        author: str | None = None,
    ) -> None:
        self._client = client
        self._catalog = catalog
        self._author = author

    def list_refs(self) -> list[RefInfo]:
        return self._client.list_refs()

    def create_ref(
        self,
        name: str,
        kind: Literal["branch", "tag"],
        *,
        from_ref: str | None = None,
        at_hash: str | None = None,
    ) -> RefInfo:
        name = name.strip()
        if not name:
            raise ConfigError(f"a {kind} needs a name")
        if kind == "tag":
            return self._client.create_tag(name, from_ref, at_hash=at_hash)
        return self._client.create_branch(name, from_ref, at_hash=at_hash)

    def delete_ref(self, name: str) -> RefInfo:
        ref = self._client.get_ref(name)
        if ref.is_default:
            raise ConfigError(f"{name} is Nessie's default branch: it cannot be deleted")
        self._client.delete_ref(name, expected_hash=ref.hash)
        self._forget(name)
        return ref

    def merge(self, source: str, target: str | None = None, *, dry_run: bool = False) -> MergeResult:
        result = self._client.merge(source, target, dry_run=dry_run, author=self.author)
        if result.applied:
            self._forget(result.target)
        return result

    def commit_log(self, ref: str, limit: int = 50) -> list[CommitInfo]:
        return self._client.commit_log(ref, limit=limit)

    @property
    def author(self) -> str:
        """The author of the merge commits made here: the given one, else the local user."""
        if self._author is None:
            try:
                self._author = getpass.getuser()
            except (KeyError, OSError):  # no user name in the environment or the password database
                self._author = "lakehouse"
        return self._author

    def _forget(self, name: str) -> None:
        if self._catalog is not None:
            self._catalog.forget(name)
