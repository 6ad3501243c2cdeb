"""A fake of Nessie's catalog-wide refs (ports.RefControl) and a stack-mode fake backend with it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Literal

from lakehouse_core.errors import ConflictError, NotFoundError
from lakehouse_core.models import CommitInfo, MergeConflict, MergeResult, RefInfo
from tests.tui.fake_base import T0, Gate
from tests.tui.fakes import FakeBackend, FakeCatalog, make_fake_backend

C1 = CommitInfo("c1" * 32, "promote run r1", "etl-bot", committed_at=T0,
                tables=("bronze.orders", "gold.daily_sales"))
C2 = CommitInfo("c2" * 32, "fix orders", "alice", committed_at=T0 + timedelta(hours=1),
                parent_hash=C1.hash, tables=("bronze.orders",))
C3 = CommitInfo("c3" * 32, "edit daily sales", "bob", committed_at=T0 + timedelta(hours=2),
                parent_hash=C1.hash, tables=("gold.daily_sales",))


class FakeRefControl:
    """main at C1; branch dev (C2 on top) merges cleanly; branch hotfix (C3) conflicts with main."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.logs: dict[str, list[CommitInfo]] = {"main": [C1], "dev": [C2, C1], "hotfix": [C3, C1]}
        self.kinds: dict[str, Literal["branch", "tag"]] = dict.fromkeys(self.logs, "branch")
        self.merges: list[tuple[str, str, bool]] = []
        self.created: list[tuple[str, str, str | None, str | None]] = []

    def _info(self, name: str) -> RefInfo:
        return RefInfo(name, self.kinds[name], self.logs[name][0].hash, is_default=name == "main")

    def list_refs(self) -> list[RefInfo]:
        self.gate.check("list_nessie_refs")
        return sorted((self._info(n) for n in self.logs), key=lambda r: (not r.is_default, r.kind, r.name))

    def create_ref(
        self,
        name: str,
        kind: Literal["branch", "tag"],
        *,
        from_ref: str | None = None,
        at_hash: str | None = None,
    ) -> RefInfo:
        self.gate.check("create_nessie_ref")
        if name in self.logs:
            raise ConflictError(f"nessie: Named reference '{name}' already exists.")
        log = self.commit_log(from_ref or "main")
        if at_hash is not None:
            hashes = [c.hash for c in log]
            if at_hash not in hashes:
                raise NotFoundError(f"nessie: commit {at_hash} not found")
            log = log[hashes.index(at_hash):]
        self.logs[name], self.kinds[name] = list(log), kind
        self.created.append((name, kind, from_ref, at_hash))
        return self._info(name)

    def delete_ref(self, name: str) -> RefInfo:
        self.gate.check("delete_nessie_ref")
        info = self._info(name) if name in self.logs else None
        if info is None:
            raise NotFoundError(f"nessie: Named reference '{name}' not found")
        del self.logs[name], self.kinds[name]
        return info

    def merge(self, source: str, target: str | None = None, *, dry_run: bool = False) -> MergeResult:
        self.gate.check("merge")
        into = target or "main"
        self.merges.append((source, into, dry_run))
        ours = {c.hash for c in self.commit_log(into)}
        new = [c for c in self.commit_log(source) if c.hash not in ours]
        keys = tuple(sorted({t for c in new for t in c.tables}))
        conflicts = (
            (MergeConflict("gold.daily_sales", "VALUE_DIFFERS", "values of existing and expected differ"),)
            if source == "hotfix" else ()
        )
        applied = not dry_run and not conflicts
        if applied:
            merged = CommitInfo("m" * 64, f"merge {source} into {into}", "tester",
                                committed_at=T0 + timedelta(hours=3), tables=keys)
            self.logs[into] = [merged, *self.logs[into]]
        return MergeResult(source, into, dry_run, applied, not conflicts, keys, conflicts,
                           self.logs[into][0].hash if applied else None)

    def commit_log(self, ref: str, limit: int = 50) -> list[CommitInfo]:
        self.gate.check("commit_log")
        if ref not in self.logs:
            raise NotFoundError(f"nessie: Named reference '{ref}' not found")
        return self.logs[ref][:limit]


def make_fake_stack_backend() -> FakeBackend:
    """The fake backend in stack mode, with Nessie refs (the fake catalog's refs are catalog-wide)."""
    backend = make_fake_backend()
    catalog = backend.catalog
    assert isinstance(catalog, FakeCatalog)
    catalog.refs = [RefInfo("main", "branch", C1.hash, is_default=True)]
    return dataclasses.replace(backend, mode="stack", refs=FakeRefControl(backend.gate))
