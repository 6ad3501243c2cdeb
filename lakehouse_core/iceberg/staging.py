"""Write Iceberg snapshots without publishing them, then publish every table at once (embedded).

``StagingSqlCatalog`` is a pyiceberg SqlCatalog whose commits write the new metadata file but leave
the catalog's pointer (the ``iceberg_tables`` row readers look up) where it was; it remembers each
table's published location (``base``) and its staged one. ``move_pointers`` then moves every table's
pointer in ONE SQLite transaction, each row only if it still holds its base (optimistic check): a
reader sees every table before or every table after, and a kill before the commit leaves all of them
as they were (SQLite rolls the unfinished transaction back).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.typedef import EMPTY_DICT, Identifier, Properties
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lakehouse_core.errors import ConflictError
from lakehouse_core.faults import crash_point
from lakehouse_core.iceberg.convert import live_rows
from lakehouse_core.iceberg.sqlite_reader import table_at

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedPointer:
    """A table's published metadata file (None: the table does not exist yet) and its staged one."""

    base: str | None
    staged: str


def _split(identifier: str | Identifier) -> tuple[str, str]:
    namespace = Catalog.namespace_to_string(Catalog.namespace_from(identifier))
    return namespace, Catalog.table_name_from(identifier)


class StagingSqlCatalog(SqlCatalog):
    """A SqlCatalog that stages commits (see the module docstring); readers of the same database
    keep seeing the published tables until ``move_pointers``."""

    def __init__(self, name: str, **properties: str) -> None:
        super().__init__(name, **properties)
        self.staged: dict[str, StagedPointer] = {}

    def _staged_table(self, key: str, location: str) -> Table:
        return table_at(self, tuple(key.split(".")), location)

    def load_table(self, identifier: str | Identifier) -> Table:
        key = ".".join(_split(identifier))
        if key in self.staged:
            return self._staged_table(key, self.staged[key].staged)
        return super().load_table(identifier)

    def table_exists(self, identifier: str | Identifier) -> bool:
        try:
            self.load_table(identifier)
        except NoSuchTableError:
            return False
        return True

    def create_table(
        self,
        identifier: str | Identifier,
        schema: Schema | Any,
        location: str | None = None,
        partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
        sort_order: SortOrder = UNSORTED_SORT_ORDER,
        properties: Properties = EMPTY_DICT,
    ) -> Table:
        """Stage a new table (its row is inserted by ``move_pointers``)."""
        if self.table_exists(identifier):
            raise TableAlreadyExistsError(f"Table {'.'.join(_split(identifier))} already exists")
        txn = self.create_table_transaction(
            identifier, schema, location, partition_spec, sort_order, properties
        )
        txn.commit_transaction()
        return self.load_table(identifier)

    def commit_table(
        self, table: Table, requirements: tuple[TableRequirement, ...], updates: tuple[TableUpdate, ...]
    ) -> CommitTableResponse:
        """Write the new metadata file; remember it instead of moving the catalog's pointer."""
        key = ".".join(_split(table.name()))
        try:
            current: Table | None = self.load_table(table.name())
        except NoSuchTableError:
            current = None
        new = self._update_and_stage_table(current, table.name(), requirements, updates)
        if current is not None and new.metadata == current.metadata:
            return CommitTableResponse(metadata=current.metadata, metadata_location=current.metadata_location)  # type: ignore[call-arg]
        self._write_metadata(metadata=new.metadata, io=new.io, metadata_path=new.metadata_location)
        base = (
            self.staged[key].base if key in self.staged else (current.metadata_location if current else None)
        )
        self.staged[key] = StagedPointer(base, new.metadata_location)
        return CommitTableResponse(metadata=new.metadata, metadata_location=new.metadata_location)  # type: ignore[call-arg]


def published_locations(catalog: SqlCatalog, identifiers: list[str]) -> dict[str, str | None]:
    """The metadata file readers see now for each table (None when it does not exist)."""
    out: dict[str, str | None] = {ident: None for ident in identifiers}
    with Session(catalog.engine) as session:
        rows = session.execute(
            select(
                IcebergTables.table_namespace, IcebergTables.table_name, IcebergTables.metadata_location
            ).where(IcebergTables.catalog_name == catalog.name)
        ).all()
    for namespace, name, location in rows:
        if f"{namespace}.{name}" in out:
            out[f"{namespace}.{name}"] = location
    return out


def move_pointers(catalog: SqlCatalog, moves: Mapping[str, StagedPointer]) -> None:
    """Move every table's pointer from its base to its staged metadata in one transaction.

    Raises ConflictError (and moves nothing) when a table no longer holds its base: another run was
    published since this one was staged.
    """
    with Session(catalog.engine) as session, session.begin():
        for key, move in sorted(moves.items()):
            namespace, name = key.rsplit(".", 1)
            if move.base is None:
                try:
                    with session.begin_nested():
                        session.execute(
                            insert(IcebergTables).values(
                                **catalog._create_table_row(namespace, name, move.staged)
                            )
                        )
                except IntegrityError as exc:
                    raise ConflictError(
                        f"{key} was created by another run since this run was staged"
                    ) from exc
                continue
            result = session.execute(
                update(IcebergTables)
                .where(
                    IcebergTables.catalog_name == catalog.name,
                    IcebergTables.table_namespace == namespace,
                    IcebergTables.table_name == name,
                    IcebergTables.metadata_location == move.base,
                )
                .values(metadata_location=move.staged, previous_metadata_location=move.base)
            )
            if getattr(result, "rowcount", 0) != 1:
                raise ConflictError(
                    f"{key} changed since this run was staged: publish refused, nothing moved"
                )
        crash_point("phase2.publish.in_transaction")
    logger.info("published %d tables in one catalog transaction", len(moves))


def staged_entry(table: Table) -> dict[str, Any]:
    """What a run's manifest and audits need of a table's current snapshot: rows, partition spec
    (``[source_id, transform, name]`` triples), run id, source phase-1 run, snapshot id."""
    from lakehouse_core.iceberg.promote import RUN_ID_PROPERTY, SOURCE_RUN_PROPERTY

    snap = table.current_snapshot()
    summary = snap.summary if snap is not None else None
    return {
        "rows": live_rows(summary.additional_properties) if summary is not None else 0,
        "spec": [[f.source_id, str(f.transform), f.name] for f in table.spec().fields],
        "run_id": summary.get(RUN_ID_PROPERTY) if summary is not None else None,
        "source_run": summary.get(SOURCE_RUN_PROPERTY) if summary is not None else None,
        "snapshot_id": snap.snapshot_id if snap is not None else None,
    }


def _lakehouse_tables(catalog: Catalog) -> dict[str, Table]:
    from lakehouse_core.iceberg.tables import TABLES

    out = {}
    for definition in TABLES:
        try:
            out[definition.identifier] = catalog.load_table(definition.identifier)
        except NoSuchTableError:
            continue
    return out


def published_run(catalog: Catalog) -> str | None:
    """The run id of what readers of ``catalog`` see (None when no lakehouse table exists)."""
    tables = _lakehouse_tables(catalog)
    if not tables:
        return None
    run_id = staged_entry(next(iter(tables.values())))["run_id"]
    return str(run_id) if run_id else None


def published_rows(catalog: Catalog) -> dict[str, int]:
    """Rows per lakehouse table readers of ``catalog`` see."""
    return {key: int(staged_entry(table)["rows"]) for key, table in _lakehouse_tables(catalog).items()}


def published_fingerprint(catalog: Catalog) -> str | None:
    """The source fingerprint (``runmeta.FINGERPRINT_PROPERTY``) that every lakehouse table readers of
    ``catalog`` see carries in its current snapshot; None when a table is missing, lacks one, or two
    tables differ."""
    from lakehouse_core.iceberg.tables import TABLES
    from lakehouse_core.runmeta import FINGERPRINT_PROPERTY

    tables = _lakehouse_tables(catalog)
    if len(tables) != len(TABLES):
        return None
    found = set()
    for table in tables.values():
        snap = table.current_snapshot()
        found.add(snap.summary.get(FINGERPRINT_PROPERTY) if snap is not None and snap.summary else None)
    value = found.pop() if len(found) == 1 else None
    return str(value) if value else None
