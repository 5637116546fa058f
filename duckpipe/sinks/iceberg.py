"""Apache Iceberg sink over pyiceberg, with a SQL catalog (SQLite by default, or PostgreSQL).

Tables live at ``<root>/<name>``. A source position is committed in the same catalog
commit as the rows: as a table property (``duckpipe.position.<writer>``, survives
snapshot expiry) and in the snapshot summary (visible in history and time travel).
A commit requirement on the writer's sequence number fences two processes that
write as the same writer.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pyiceberg.exceptions import ValidationException
from pyiceberg.table.update import ValidatableTableRequirement

from duckpipe.core.errors import CommitConflict, SinkError, did_you_mean
from duckpipe.sinks.base import (
    DEFAULT_RETENTION_HOURS,
    DEFAULT_TARGET_FILE_SIZE,
    BaseSink,
    Capabilities,
    CommitResult,
    MaintenanceResult,
    Position,
    TableInfo,
    WriteRequest,
    with_retry,
)
from duckpipe.sinks.positions import PROPERTY_PREFIX, StoredPosition, stale_writer
from duckpipe.sinks.storage import StorageConfig, delete_tree, filesystem, is_remote

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table import Table, Transaction
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.snapshots import Snapshot


class PositionFenced(ValidationException):
    """Another process committed as the same writer since this write read the table."""


class AssertWriterSeq(ValidatableTableRequirement):
    """Commit requirement: the writer's stored sequence number is still ``expected``."""

    type: Literal["assert-duckpipe-writer-seq"] = "assert-duckpipe-writer-seq"
    key: str
    expected: int

    def validate(self, base_metadata: TableMetadata | None) -> None:  # type: ignore[override]
        raw = base_metadata.properties.get(self.key) if base_metadata else None
        seq = StoredPosition.from_json("", raw).seq if raw else 0
        if seq != self.expected:
            raise PositionFenced(f"{self.key}: expected seq {self.expected}, found {seq}")


class IcebergSink(BaseSink):
    """A lake of Iceberg tables registered in one SQL catalog namespace."""

    format = "iceberg"
    capabilities = Capabilities(
        supports_merge=True,
        supports_exactly_once=True,
        supports_time_travel=True,
        supports_partitioning=True,
        supports_partition_transforms=True,
        supports_sort_order=True,
        supports_compaction=True,
        supports_vacuum=True,
    )

    def __init__(
        self,
        root: str,
        *,
        storage_options: dict[str, str] | None = None,
        state_dir: Path | None = None,
        catalog_uri: str | None = None,
        namespace: str = "duckpipe",
    ) -> None:
        import os

        from duckpipe.sinks.iceberg_catalog import catalog_url

        self.root = root.rstrip("/") if is_remote(root) else os.path.abspath(root)
        self.storage = StorageConfig.from_options(storage_options, use_env=is_remote(root))
        self.namespace = namespace
        self.catalog_url = catalog_url(catalog_uri, state_dir)
        self.merge_strategy = "rewrite"
        self._catalog: SqlCatalog | None = None

    @property
    def catalog(self) -> SqlCatalog:
        from duckpipe.sinks.iceberg_catalog import open_catalog

        if self._catalog is None:
            props = self.storage.iceberg_properties() if is_remote(self.root) else {}
            self._catalog = open_catalog(self.root, self.catalog_url, props, self.namespace)
        return self._catalog

    def _before_commit(self) -> None:
        """Called between planning a write and committing it; tests use it to interleave a rival."""

    def uri(self, table: str) -> str:
        return f"{self.root}/{table}"

    def _ident(self, table: str) -> tuple[str, str]:
        if "." in table:
            raise SinkError(
                f"Iceberg table names cannot contain '.': '{table}'",
                where=table,
                hint="use letters, digits, '_' and '/'",
            )
        return (self.namespace, table)

    # -- catalog ---------------------------------------------------------------
    def exists(self, table: str) -> bool:
        return bool(self.catalog.table_exists(self._ident(table)))

    def tables(self) -> list[str]:
        return sorted(ident[-1] for ident in self.catalog.list_tables(self.namespace))

    def _load(self, table: str) -> Table:
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self.catalog.load_table(self._ident(table))
        except NoSuchTableError:
            raise SinkError(
                f"no Iceberg table '{table}' in {self.root}",
                where=table,
                hint=did_you_mean(table, self.tables()) or "write to it first",
            ) from None

    def create(
        self,
        table: str,
        schema: pa.Schema,
        *,
        partition_by: list[str] | None = None,
        sort_by: list[str] | None = None,
    ) -> None:
        from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError

        from duckpipe.sinks.iceberg_catalog import apply_layout
        from duckpipe.sinks.partitioning import check_columns, parse_partitions, parse_sorts
        from duckpipe.sinks.schema import lake_schema

        partitions, sorts = parse_partitions(partition_by), parse_sorts(sort_by)
        check_columns(partitions, schema.names, table)
        check_columns(sorts, schema.names, table)
        try:
            with self.catalog.create_table_transaction(
                self._ident(table),
                schema=lake_schema(schema),
                location=self.uri(table),
                properties={"format-version": "2"},
            ) as txn:
                apply_layout(txn, partitions, sorts)
        except (TableAlreadyExistsError, CommitFailedException):
            raise SinkError(f"table '{table}' already exists in {self.root}", where=table) from None

    def drop(self, table: str) -> None:
        self._load(table)
        self.catalog.drop_table(self._ident(table))
        delete_tree(self.uri(table), self.storage)

    # -- writes ----------------------------------------------------------------
    def _create_missing(self, request: WriteRequest) -> None:
        if self.exists(request.table):
            return
        try:
            self.create(
                request.table,
                request.data.schema,
                partition_by=request.partition_by,
                sort_by=request.sort_by,
            )
        except SinkError:
            if not self.exists(request.table):  # lost a race with another creator: fine
                raise

    def _commit(self, request: WriteRequest) -> CommitResult:
        from pyiceberg.expressions import AlwaysTrue

        from duckpipe.sinks.iceberg_catalog import sorted_rows
        from duckpipe.sinks.iceberg_scan import arrow_schema
        from duckpipe.sinks.prepare import check_rows_match, prepare

        self._create_missing(request)
        table, mode, predicate = request.table, request.mode, request.predicate
        position = request.position
        tbl = self._load(table)
        prepared = prepare(
            request.data,
            arrow_schema(tbl.schema()),
            table=table,
            schema_mode=request.schema_mode,
            partial=mode == "merge",
        )
        txn = tbl.transaction()
        _evolve(txn, prepared.data.schema if prepared.replace_schema else None, prepared.new_fields)
        summary = self._fence(txn, tbl, position)
        result = CommitResult(table, None, rows_written=prepared.data.num_rows)
        rows = sorted_rows(tbl, prepared.data)
        if mode == "append":
            txn.append(rows, snapshot_properties=summary)
            result.rows_inserted = rows.num_rows
        elif mode == "overwrite":
            if predicate:
                check_rows_match(rows, predicate, table=table)
            before = _total_records(tbl)
            txn.overwrite(
                rows, overwrite_filter=predicate or AlwaysTrue(), snapshot_properties=summary
            )
            result.rows_inserted = rows.num_rows
            result.rows_deleted = before - (_total_records_of(txn.table_metadata) - rows.num_rows)
        else:
            from duckpipe.sinks.iceberg_merge import merge_into

            merge = request.merge
            assert merge is not None
            strategy = merge.strategy if merge.strategy != "auto" else self.merge_strategy
            result = merge_into(tbl, txn, table, prepared, merge, summary, strategy=strategy)
        self._before_commit()
        with _commit_errors(table, position):
            txn.commit_transaction()
        result.version = self.version(table)
        return result

    def _fence(self, txn: Transaction, tbl: Table, position: Position | None) -> dict[str, str]:
        """Stage the position as a table property, guarded by the writer's sequence number."""
        if position is None:
            return {}
        key = PROPERTY_PREFIX + position.writer_id
        raw = tbl.properties.get(key)
        seq = StoredPosition.from_json(position.writer_id, raw).seq if raw else 0
        stored = StoredPosition(position.writer_id, seq + 1, dict(position.value))
        txn._stage((), (AssertWriterSeq(key=key, expected=seq),))  # type: ignore[arg-type]
        txn.set_properties({key: stored.to_json()})
        return {key: stored.to_json()}

    # -- reads -----------------------------------------------------------------
    def read_position(self, table: str, writer_id: str) -> Position | None:
        if not self.exists(table):
            return None
        raw = self._load(table).properties.get(PROPERTY_PREFIX + writer_id)
        return StoredPosition.from_json(writer_id, raw).position() if raw else None

    def _snapshot(
        self, tbl: Table, table: str, version: int | None, timestamp: str | datetime | None
    ) -> Snapshot | None:
        from duckpipe.sinks.timetravel import from_millis, no_version_at, parse_as_of, to_millis

        if version is None and timestamp is not None:
            moment = parse_as_of(timestamp)
            if isinstance(moment, int):
                version = moment
            else:
                snap = tbl.snapshot_as_of_timestamp(to_millis(moment))
                if snap is None:
                    first = min((s.timestamp_ms for s in tbl.snapshots()), default=None)
                    raise no_version_at(table, moment, from_millis(first) if first else None)
                return snap
        if version is None:
            return tbl.current_snapshot()
        for snap in tbl.snapshots():
            if snap.sequence_number == version:
                return snap
        if version == 0:
            return None
        kept = sorted(s.sequence_number or 0 for s in tbl.snapshots())
        raise SinkError(
            f"table '{table}' has no version {version}",
            where=table,
            hint=f"versions kept: {', '.join(map(str, kept[-10:]))}"
            if kept
            else "the table has no versions yet",
        )

    def dataset(
        self, table: str, *, version: int | None = None, timestamp: str | datetime | None = None
    ) -> ds.Dataset:
        from duckpipe.sinks.iceberg_scan import snapshot_dataset
        from duckpipe.sinks.reads import traced

        tbl = self._load(table)
        snap = self._snapshot(tbl, table, version, timestamp)
        fs, _ = filesystem(self.root, self.storage)
        return traced(snapshot_dataset(tbl, snap.snapshot_id if snap else None, fs))

    def schema(self, table: str) -> pa.Schema:
        from duckpipe.sinks.iceberg_scan import arrow_schema

        return arrow_schema(self._load(table).schema())

    def version(self, table: str) -> int | None:
        if not self.exists(table):
            return None
        snap = self._load(table).current_snapshot()
        return snap.sequence_number if snap else 0

    def history(self, table: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        from duckpipe.sinks.timetravel import from_millis

        tbl = self._load(table)
        out = []
        for snap in sorted(tbl.snapshots(), key=lambda s: -(s.sequence_number or 0))[:limit]:
            summary = snap.summary.additional_properties if snap.summary else {}
            positions = {
                k[len(PROPERTY_PREFIX) :]: StoredPosition.from_json(k, v).value
                for k, v in summary.items()
                if k.startswith(PROPERTY_PREFIX)
            }
            out.append(
                {
                    "version": snap.sequence_number,
                    "snapshot_id": snap.snapshot_id,
                    "timestamp": from_millis(snap.timestamp_ms),
                    "operation": str(snap.summary.operation.value).upper()
                    if snap.summary
                    else None,
                    "positions": positions,
                    "metrics": {
                        k: v for k, v in summary.items() if not k.startswith(PROPERTY_PREFIX)
                    },
                }
            )
        return out

    def describe(self, table: str) -> TableInfo:
        from duckpipe.sinks.iceberg_catalog import layout_strings
        from duckpipe.sinks.iceberg_scan import arrow_schema

        tbl = self._load(table)
        snap = tbl.current_snapshot()
        summary = snap.summary.additional_properties if snap and snap.summary else {}
        parts, sorts = layout_strings(tbl.schema(), tbl.spec(), tbl.sort_order())
        return TableInfo(
            name=table,
            format=self.format,
            location=tbl.location(),
            version=snap.sequence_number if snap else 0,
            schema=arrow_schema(tbl.schema()),
            partition_by=parts,
            sort_by=sorts,
            num_files=int(summary.get("total-data-files", 0)),
            num_rows=int(summary.get("total-records", 0)),
            size_bytes=int(summary.get("total-files-size", 0)),
            properties={
                k: v for k, v in tbl.properties.items() if not k.startswith(PROPERTY_PREFIX)
            },
        )

    # -- maintenance -----------------------------------------------------------
    def compact(
        self, table: str, *, target_size: int = DEFAULT_TARGET_FILE_SIZE
    ) -> MaintenanceResult:
        from duckpipe.sinks.iceberg_maintenance import compact
        from duckpipe.sinks.maintenance import check_target_size

        check_target_size(target_size, table=table)

        def attempt() -> MaintenanceResult:
            tbl = self._load(table)
            with _commit_errors(table, None):
                result = compact(tbl, table, target_size)
            result.version = self.version(table)
            return result

        return with_retry(attempt, table=table)

    def vacuum(
        self,
        table: str,
        *,
        retention_hours: float = DEFAULT_RETENTION_HOURS,
        dry_run: bool = False,
        enforce_retention: bool = True,
    ) -> MaintenanceResult:
        from duckpipe.sinks.iceberg_maintenance import vacuum
        from duckpipe.sinks.maintenance import check_retention

        check_retention(retention_hours, enforce_retention, table=table)
        fs, _ = filesystem(self.root, self.storage)
        with _commit_errors(table, None):
            result = vacuum(
                self._load(table), table, fs, retention_hours=retention_hours, dry_run=dry_run
            )
        result.version = self.version(table)
        return result


def _evolve(txn: Transaction, replace: pa.Schema | None, new_fields: list[pa.Field]) -> None:
    """Add new columns, or (whole-table overwrite) make the schema exactly ``replace``."""
    import pyarrow as pa

    from duckpipe.sinks.iceberg_scan import arrow_schema

    if replace is not None:
        current = arrow_schema(txn.table_metadata.schema())
        gone = [
            f.name
            for f in current
            if f.name not in replace.names or replace.field(f.name).type != f.type
        ]
        if gone:
            with txn.update_schema(allow_incompatible_changes=True) as update:
                for name in gone:
                    update.delete_column(name)
        new_fields = [f for f in replace if f.name in gone or f.name not in current.names]
    if new_fields:
        with txn.update_schema() as update:
            update.union_by_name(pa.schema([f.with_nullable(True) for f in new_fields]))


def _total_records(tbl: Table) -> int:
    return _total_records_of(tbl.metadata)


def _total_records_of(metadata: TableMetadata) -> int:
    snap = metadata.current_snapshot()
    if snap is None or snap.summary is None:
        return 0
    return int(snap.summary.additional_properties.get("total-records", 0))


class _commit_errors:
    """Map pyiceberg/catalog commit failures to CommitConflict (retryable or not)."""

    def __init__(self, table: str, position: Position | None) -> None:
        self.table = table
        self.position = position

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        from pyiceberg.exceptions import CommitFailedException

        if exc is None or isinstance(exc, SinkError):
            return None
        if isinstance(exc, PositionFenced) and self.position is not None:
            raise stale_writer(self.table, self.position.writer_id) from None
        locked = "database is locked" in str(exc)
        if isinstance(exc, CommitFailedException | ValidationException) or locked:
            raise CommitConflict(
                f"a concurrent commit to '{self.table}' conflicts with this one: {str(exc).splitlines()[0]}",
                where=self.table,
                hint="the write is retried from the new table state",
            ) from None
        return None
