"""Nessie REST API v2 client: refs, commit log, diff, merge and entries of catalog-wide branches/tags.

Every request goes through ``_http.HttpClient`` (timeout on every call, errors mapped in one place:
404 -> NotFoundError, 409 -> ConflictError, transport -> ServiceUnavailableError).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx

from lakehouse_core.backends.stack._http import HttpClient
from lakehouse_core.errors import ConflictError, LakehouseError, NotFoundError
from lakehouse_core.models import CommitInfo, MergeConflict, MergeResult, RefInfo
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

SERVICE = "nessie"
_MAX_PAGES = 1_000  # bound every paging loop
_PAGE_SIZE = 500

ChangeKind = Literal["added", "removed", "modified"]


# ---------------------------------------------------------------- result types
@dataclass(frozen=True)
class ContentVersion:
    """The state of one Iceberg table key in one commit of a ref's log."""

    commit_hash: str
    committed_at: datetime | None
    content_id: str
    metadata_location: str
    snapshot_id: int | None  # None: the table had no snapshot yet


@dataclass(frozen=True)
class KeyChange:
    """A content key that differs between two refs."""

    key: str  # dotted, e.g. "bronze.orders"
    kind: ChangeKind
    content_type: str = ""  # ICEBERG_TABLE, NAMESPACE, ...


@dataclass(frozen=True)
class EntryInfo:
    """A content (table, namespace...) on a ref."""

    key: str
    content_type: str
    content_id: str = ""
    metadata_location: str | None = None
    snapshot_id: int | None = None


# ---------------------------------------------------------------- helpers
def key_to_str(key: Mapping[str, Any] | None) -> str:
    """``{"elements": ["a", "b"]}`` -> ``"a.b"``."""
    if not key:
        return ""
    return ".".join(str(e) for e in key.get("elements", ()))


def _ref(name: str, hash_: str | None = None) -> str:
    """A path-safe ``name`` or ``name@hash``."""
    text = f"{name}@{hash_}" if hash_ else name
    return quote(text, safe="@")


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _properties(meta: Mapping[str, Any]) -> dict[str, str]:
    """Commit properties: API v2 sends ``allProperties`` (name -> list of values; the last wins)."""
    every = meta.get("allProperties") or {}
    if every:
        return {str(k): str(v[-1]) for k, v in every.items() if v}
    return {str(k): str(v) for k, v in (meta.get("properties") or {}).items()}


def _ref_info(raw: Mapping[str, Any], default_branch: str | None) -> RefInfo:
    kind: Literal["branch", "tag"] = "tag" if str(raw.get("type", "")).upper() == "TAG" else "branch"
    name = str(raw.get("name", ""))
    return RefInfo(
        name=name,
        kind=kind,
        hash=str(raw.get("hash") or ""),
        is_default=kind == "branch" and name == default_branch,
    )


def _touched_tables(operations: Any) -> tuple[str, ...]:
    """Dotted keys of the tables a commit's operations put or deleted (namespaces left out).

    A DELETE carries no content: a key of one element is a (top-level) namespace, longer keys are
    taken as tables.
    """
    keys: dict[str, None] = {}
    for op in operations:
        content_type = str((op.get("content") or {}).get("type") or "")
        elements = (op.get("key") or {}).get("elements") or ()
        if content_type in ("ICEBERG_TABLE", "ICEBERG_VIEW") or (
            not content_type and str(op.get("type", "")).upper() == "DELETE" and len(elements) > 1
        ):
            keys[key_to_str(op.get("key"))] = None
    return tuple(sorted(k for k in keys if k))


class NessieClient:
    """Nessie REST API v2 at ``settings.nessie.url + /api/v2``."""

    def __init__(
        self, settings: LakehouseSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.base_url = settings.nessie.url.rstrip("/") + "/api/v2"
        self._http = HttpClient(
            SERVICE, self.base_url, timeout_s=settings.http_timeout_s, transport=transport
        )
        self._default_branch: str | None = None

    # ------------------------------------------------------------ basics
    def close(self) -> None:
        self._http.close()

    def config(self) -> dict[str, Any]:
        """Server config (``defaultBranch``, ``specVersion``...); also a cheap liveness probe."""
        body = self._http.get_json("/config")
        if isinstance(body, dict) and body.get("defaultBranch"):
            self._default_branch = str(body["defaultBranch"])
        return dict(body) if isinstance(body, dict) else {}

    @property
    def default_branch(self) -> str:
        """Name of the default branch (fetched once from ``/config``)."""
        if self._default_branch is None:
            self.config()
        return self._default_branch or "main"

    def _pages(
        self, path: str, items_key: str, params: Mapping[str, Any], page_size: int = _PAGE_SIZE
    ) -> Iterator[Any]:
        token: str | None = None
        for _ in range(_MAX_PAGES):
            query = {**params, "max-records": page_size}
            if token:
                query["page-token"] = token
            body = self._http.get_json(path, params=query)
            yield from body.get(items_key) or ()
            token = body.get("token")
            if not body.get("hasMore") or not token:
                return
        logger.warning("nessie: stopped paging %s after %d pages", path, _MAX_PAGES)

    # ------------------------------------------------------------ refs
    def list_refs(self) -> list[RefInfo]:
        """Every branch and tag, default branch first, then by name."""
        default = self.default_branch
        refs = [_ref_info(r, default) for r in self._pages("/trees", "references", {"fetch": "MINIMAL"})]
        return sorted(refs, key=lambda r: (not r.is_default, r.kind, r.name))

    def get_ref(self, name: str) -> RefInfo:
        """One branch or tag (NotFoundError when missing)."""
        body = self._http.get_json(f"/trees/{_ref(name)}")
        return _ref_info(body["reference"], self.default_branch)

    def _create(self, name: str, kind: str, from_ref: str, hash_: str | None) -> RefInfo:
        source = self.get_ref(from_ref)
        payload = {"type": source.kind.upper(), "name": source.name, "hash": hash_ or source.hash}
        body = self._http.post_json("/trees", payload, params={"name": name, "type": kind})
        ref = _ref_info(body["reference"], self.default_branch)
        logger.info("nessie: created %s %s from %s@%s", kind.lower(), name, from_ref, ref.hash)
        return ref

    def create_branch(
        self, name: str, from_ref: str | None = None, at_hash: str | None = None
    ) -> RefInfo:
        """Create branch ``name`` at ``from_ref``'s HEAD (default branch when None) or at ``at_hash``."""
        return self._create(name, "BRANCH", from_ref or self.default_branch, at_hash)

    def create_tag(
        self, name: str, from_ref: str | None = None, at_hash: str | None = None
    ) -> RefInfo:
        """Create tag ``name`` at ``from_ref``'s HEAD (default branch when None) or at ``at_hash``."""
        return self._create(name, "TAG", from_ref or self.default_branch, at_hash)

    def ensure_branch(self, name: str, from_ref: str | None = None) -> tuple[RefInfo, bool]:
        """Return (branch, created): create ``name`` from ``from_ref`` when it does not exist yet."""
        try:
            ref = self.get_ref(name)
        except NotFoundError:
            try:
                return self.create_branch(name, from_ref), True
            except ConflictError:  # created concurrently
                return self.get_ref(name), False
        if ref.kind != "branch":
            raise ConflictError(f"nessie: {name!r} is a tag, not a branch")
        return ref, False

    def delete_ref(self, name: str, expected_hash: str | None = None) -> None:
        """Delete a branch/tag; ``expected_hash`` is its expected HEAD (ConflictError when it moved)."""
        current = self.get_ref(name)
        expected = expected_hash or current.hash
        self._http.request(
            "DELETE", f"/trees/{_ref(name, expected)}", params={"type": current.kind.upper()}
        )
        logger.info("nessie: deleted %s %s@%s", current.kind, name, expected)

    # ------------------------------------------------------------ history / contents
    def commit_log(self, ref: str, limit: int = 50) -> list[CommitInfo]:
        """Newest-first commits of ``ref`` (at most ``limit``): properties and the tables each touched.

        ``ref`` is a branch or tag name, ``name@hash``, or ``@hash`` (a commit of any ref).
        """
        out: list[CommitInfo] = []
        path = f"/trees/{_ref(ref)}/history"
        for entry in self._pages(path, "logEntries", {"fetch": "ALL"}, min(_PAGE_SIZE, max(1, limit))):
            meta = entry.get("commitMeta") or {}
            authors = meta.get("authors") or []
            out.append(
                CommitInfo(
                    hash=str(meta.get("hash") or ""),
                    message=str(meta.get("message") or ""),
                    author=str(meta.get("author") or (authors[0] if authors else "")),
                    committer=str(meta.get("committer") or ""),
                    committed_at=_parse_time(meta.get("commitTime")),
                    parent_hash=entry.get("parentCommitHash")
                    or ((meta.get("parentCommitHashes") or [None])[0]),
                    properties=_properties(meta),
                    tables=_touched_tables(entry.get("operations") or ()),
                )
            )
            if len(out) >= limit:
                break
        return out

    def content_history(self, ref: str, key: str, limit: int = 200) -> list[ContentVersion]:
        """Newest-first versions of table ``key`` (dotted) on ``ref``: one per commit that PUT it."""
        literal = key.replace("\\", "\\\\").replace("'", "\\'")
        params = {"fetch": "ALL", "filter": f"operations.exists(op, op.key == '{literal}')"}
        out: list[ContentVersion] = []
        for entry in self._pages(f"/trees/{_ref(ref)}/history", "logEntries", params):
            meta = entry.get("commitMeta") or {}
            for op in entry.get("operations") or ():
                content = op.get("content") or {}
                if key_to_str(op.get("key")) != key or content.get("type") != "ICEBERG_TABLE":
                    continue
                snap = content.get("snapshotId")
                out.append(
                    ContentVersion(
                        commit_hash=str(meta.get("hash") or ""),
                        committed_at=_parse_time(meta.get("commitTime")),
                        content_id=str(content.get("id") or ""),
                        metadata_location=str(content.get("metadataLocation") or ""),
                        snapshot_id=int(snap) if snap is not None and int(snap) >= 0 else None,
                    )
                )
            if len(out) >= limit:
                break
        return out[:limit]

    def diff(self, from_ref: str, to_ref: str) -> list[KeyChange]:
        """Keys that differ from ``from_ref`` to ``to_ref`` (added = only on ``to_ref``), sorted by key."""
        changes: list[KeyChange] = []
        for d in self._pages(f"/trees/{_ref(from_ref)}/diff/{_ref(to_ref)}", "diffs", {}):
            before, after = d.get("from"), d.get("to")
            kind: ChangeKind = "added" if before is None else "removed" if after is None else "modified"
            ctype = str((after or before or {}).get("type", ""))
            changes.append(KeyChange(key=key_to_str(d.get("key")), kind=kind, content_type=ctype))
        return sorted(changes, key=lambda c: c.key)

    def entries(self, ref: str, *, tables_only: bool = True) -> list[EntryInfo]:
        """Contents on ``ref`` (Iceberg tables only by default) with their metadata locations."""
        out: list[EntryInfo] = []
        for e in self._pages(f"/trees/{_ref(ref)}/entries", "entries", {"content": "true"}):
            content = e.get("content") or {}
            ctype = str(e.get("type") or content.get("type") or "")
            if tables_only and ctype != "ICEBERG_TABLE":
                continue
            snap = content.get("snapshotId")
            out.append(
                EntryInfo(
                    key=key_to_str(e.get("name")),
                    content_type=ctype,
                    content_id=str(e.get("contentId") or content.get("id") or ""),
                    metadata_location=content.get("metadataLocation"),
                    snapshot_id=int(snap) if snap is not None else None,
                )
            )
        return sorted(out, key=lambda x: x.key)

    # ------------------------------------------------------------ merge
    def merge(
        self,
        from_ref: str,
        into: str | None = None,
        *,
        dry_run: bool = False,
        message: str | None = None,
        author: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> MergeResult:
        """Merge ``from_ref`` into branch ``into`` (default branch when None).

        The merge commit says ``message``, carries ``properties`` and has ``author`` as its author.
        With ``dry_run`` nothing is written: the result previews the changed keys and conflicts.
        Conflicts come back in ``conflicts`` (``successful`` False) rather than as an exception;
        a target that moved concurrently raises ConflictError.
        """
        target_name = into or self.default_branch
        target = self.get_ref(target_name)
        if target.kind != "branch":
            raise ConflictError(f"nessie: cannot merge into tag {target_name!r}")
        source = self.get_ref(from_ref)
        if target.hash == self.config().get("noAncestorHash"):
            # Nessie finds no common ancestor with a target that has no commit yet: fast-forward it
            return self._fast_forward(source, target, dry_run)
        text = message or f"merge {source.name} into {target.name}"
        meta: dict[str, Any] = {"message": text}
        if properties:
            meta["properties"] = dict(properties)
        if author:
            meta["authors"] = [author]
        payload = {
            "fromRefName": source.name,
            "fromHash": source.hash,
            "message": text,
            "commitMeta": meta,
            # Nessie's Immutables JSON names are "isDryRun"/"isReturnConflictAsResult" (verified on
            # 0.99: a bare "dryRun" is silently ignored and the merge is applied); send both spellings.
            "isDryRun": dry_run,
            "dryRun": dry_run,
            "isReturnConflictAsResult": True,
            "returnConflictAsResult": True,
        }
        body = self._http.post_json(
            f"/trees/{_ref(target.name, target.hash)}/history/merge", payload
        )
        return self._merge_result(body or {}, source.name, target.name, dry_run)

    def _fast_forward(self, source: RefInfo, target: RefInfo, dry_run: bool) -> MergeResult:
        keys = tuple(c.key for c in self.diff(target.name, f"@{source.hash}" if source.hash else source.name))
        resultant: str | None = None
        if not dry_run:
            body = self._http.request(
                "PUT",
                f"/trees/{_ref(target.name, target.hash)}",
                params={"type": "BRANCH"},
                json={"type": source.kind.upper(), "name": source.name, "hash": source.hash},
            ).json()
            resultant = str(body["reference"]["hash"])
        logger.info("nessie: fast-forward %s -> %s%s (%d keys)", source.name, target.name,
                    " (dry run)" if dry_run else "", len(keys))
        return MergeResult(
            source=source.name,
            target=target.name,
            dry_run=dry_run,
            applied=not dry_run,
            successful=True,
            changed_keys=keys,
            resultant_hash=resultant,
            common_ancestor=target.hash,
        )

    def _merge_result(
        self, body: Mapping[str, Any], source: str, target: str, dry_run: bool
    ) -> MergeResult:
        keys: list[str] = []
        conflicts: list[MergeConflict] = []
        for detail in body.get("details") or ():
            key = key_to_str(detail.get("key"))
            conflict = detail.get("conflict")
            if conflict:
                conflicts.append(
                    MergeConflict(
                        key=key_to_str(conflict.get("key")) or key,
                        conflict_type=str(conflict.get("conflictType") or "UNKNOWN"),
                        message=str(conflict.get("message") or ""),
                    )
                )
            if key:
                keys.append(key)
        ancestor = body.get("commonAncestor")
        if not keys and ancestor and not conflicts:
            # older servers omit per-key details: derive them from the source's own changes
            try:
                keys = [c.key for c in self.diff(f"@{ancestor}", source)]
            except LakehouseError as exc:  # best effort only
                logger.debug("nessie: could not derive merged keys: %s", exc)
        successful = bool(body.get("wasSuccessful", not conflicts))
        result = MergeResult(
            source=source,
            target=target,
            dry_run=dry_run,
            applied=bool(body.get("wasApplied", False)),
            successful=successful and not conflicts,
            changed_keys=tuple(sorted(set(keys))),
            conflicts=tuple(conflicts),
            resultant_hash=body.get("resultantTargetHash"),
            common_ancestor=ancestor,
        )
        logger.info(
            "nessie: merge %s -> %s%s: applied=%s keys=%d conflicts=%d",
            source, target, " (dry run)" if dry_run else "", result.applied,
            len(result.changed_keys), len(result.conflicts),
        )
        return result
